"""`rolebridge policy` (issue 10): the documents it prints, applied to the local IAM and S3 by each
account's administrator as a person setting up the accounts would, make the cross-account write
work for the source they name and only for it, and only under the prefix."""

import json
import os
import subprocess
import uuid

import boto3
import botocore.exceptions
import pytest

from test_credential_process import rolebridge


def admin_client(local_aws, account, service):
    admin = local_aws.fixture["admins"][account]
    return boto3.client(service, endpoint_url=local_aws.endpoint, region_name="us-east-1",
                        aws_access_key_id=admin["accessKeyId"], aws_secret_access_key=admin["secretAccessKey"])


def policy(clients, *args):
    out = subprocess.run([rolebridge(clients), "policy", *args], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    return out.stdout


def credentials(clients, local_aws, role_arn, external_id, keys, tmp_path, *extra):
    env = dict(os.environ, AWS_ACCESS_KEY_ID=keys["AccessKeyId"], AWS_SECRET_ACCESS_KEY=keys["SecretAccessKey"])
    env.pop("AWS_SESSION_TOKEN", None)
    return subprocess.run(
        [rolebridge(clients), "credential-process", "--role-arn", role_arn, "--external-id", external_id,
         "--region", "us-east-1", "--sts-endpoint", local_aws.endpoint, "--cache-dir", str(tmp_path / "cache"),
         *extra],
        env=env, capture_output=True, text=True, timeout=60,
    )


def test_generated_policies_make_the_write_work_for_the_named_source_only(tmp_path, clients, local_aws):
    run = uuid.uuid4().hex[:8]
    source_account, dest_account = "111111111111", "222222222222"
    role_name, user_name, bucket = f"gen-writer-{run}", f"gen-source-{run}", f"dest-gen-{run}"
    role_arn = f"arn:aws:iam::{dest_account}:role/{role_name}"
    source_arn = f"arn:aws:iam::{source_account}:user/{user_name}"
    common = ["--role-arn", role_arn, "--external-id", f"ext-{run}", "--region", "us-east-1",
              "--source-principal", source_arn, "--bucket", bucket, "--prefix", "jobs", "--access", "readwrite"]

    trust = json.loads(policy(clients, *common, "--format", "trust"))
    permissions = json.loads(policy(clients, *common, "--format", "permissions"))
    source = json.loads(policy(clients, *common, "--format", "source"))
    assert trust["Statement"][0]["Condition"] == {"StringEquals": {"sts:ExternalId": f"ext-{run}"}}
    assert source["Statement"] == [{"Sid": "RolebridgeAssumeRole", "Effect": "Allow", "Action": "sts:AssumeRole",
                                    "Resource": role_arn}]

    # the destination account's administrator: the bucket, the role with its two policies
    admin_client(local_aws, dest_account, "s3").create_bucket(Bucket=bucket)
    iam = admin_client(local_aws, dest_account, "iam")
    iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(trust))
    iam.put_role_policy(RoleName=role_name, PolicyName="rolebridge", PolicyDocument=json.dumps(permissions))
    # the source account's administrator: a principal with the source policy alone
    src_iam = admin_client(local_aws, source_account, "iam")
    src_iam.create_user(UserName=user_name)
    src_iam.put_user_policy(UserName=user_name, PolicyName="rolebridge", PolicyDocument=json.dumps(source))
    keys = src_iam.create_access_key(UserName=user_name)["AccessKey"]

    got = credentials(clients, local_aws, role_arn, f"ext-{run}", keys, tmp_path)
    assert got.returncode == 0, got.stderr
    c = json.loads(got.stdout)
    s3 = boto3.client("s3", endpoint_url=local_aws.endpoint, region_name="us-east-1",
                      aws_access_key_id=c["AccessKeyId"], aws_secret_access_key=c["SecretAccessKey"],
                      aws_session_token=c["SessionToken"])
    s3.put_object(Bucket=bucket, Key="jobs/part-0000.parquet", Body=b"written under the prefix")
    assert s3.get_object(Bucket=bucket, Key="jobs/part-0000.parquet")["Body"].read() == b"written under the prefix"
    with pytest.raises(botocore.exceptions.ClientError) as outside:
        s3.put_object(Bucket=bucket, Key="elsewhere/part-0000.parquet", Body=b"outside the prefix")
    assert outside.value.response["Error"]["Code"] == "AccessDenied"
    s3.delete_object(Bucket=bucket, Key="jobs/part-0000.parquet")

    # another source (the fixture's intruder, allowed sts:AssumeRole on any role by its own
    # policy) is refused by the generated trust policy
    intruder = local_aws.fixture["intruder"]
    refused = credentials(clients, local_aws, role_arn, f"ext-{run}",
                          {"AccessKeyId": intruder["accessKeyId"], "SecretAccessKey": intruder["secretAccessKey"]},
                          tmp_path / "intruder")
    assert refused.returncode == 1 and "AccessDenied" in refused.stderr, refused.stderr


def test_the_trust_policy_allows_what_source_identity_and_tags_need(tmp_path, clients, local_aws):
    """Issue 11: with rolebridge.source.identity and rolebridge.session.tags, the trust and source
    documents add sts:SetSourceIdentity and sts:TagSession; the local STS, like IAM, refuses the
    tagged call under the plain trust policy and accepts it under the generated one."""
    run = uuid.uuid4().hex[:8]
    role_name, user_name = f"tag-writer-{run}", f"tag-source-{run}"
    role_arn = f"arn:aws:iam::222222222222:role/{role_name}"
    common = ["--role-arn", role_arn, "--external-id", f"ext-{run}", "--region", "us-east-1", "--bucket", f"b-{run}",
              "--source-principal", f"arn:aws:iam::111111111111:user/{user_name}"]
    tagging = ["--user", "alice", "-D", "rolebridge.source.identity={user}",
               "-D", "rolebridge.session.tags=user={user},team=data"]
    plain = json.loads(policy(clients, *common, "--format", "trust"))
    assert plain["Statement"][0]["Action"] == "sts:AssumeRole"
    trust = json.loads(policy(clients, *common, *tagging, "--format", "trust"))
    source = json.loads(policy(clients, *common, *tagging, "--format", "source"))
    needed = ["sts:AssumeRole", "sts:SetSourceIdentity", "sts:TagSession"]
    assert trust["Statement"][0]["Action"] == needed and source["Statement"][0]["Action"] == needed

    iam = admin_client(local_aws, "222222222222", "iam")
    iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=json.dumps(plain))
    src_iam = admin_client(local_aws, "111111111111", "iam")
    src_iam.create_user(UserName=user_name)
    src_iam.put_user_policy(UserName=user_name, PolicyName="rolebridge", PolicyDocument=json.dumps(source))
    keys = src_iam.create_access_key(UserName=user_name)["AccessKey"]

    refused = credentials(clients, local_aws, role_arn, f"ext-{run}", keys, tmp_path / "plain", *tagging)
    assert refused.returncode == 1, refused.stderr
    assert "AccessDenied" in refused.stderr and "sts:TagSession" in refused.stderr, refused.stderr
    iam.update_assume_role_policy(RoleName=role_name, PolicyDocument=json.dumps(trust))
    got = credentials(clients, local_aws, role_arn, f"ext-{run}", keys, tmp_path / "generated", *tagging)
    assert got.returncode == 0, got.stderr
    assert json.loads(got.stdout)["AccessKeyId"].startswith("ASIA")


def test_every_document_is_printed_labelled(clients):
    out = policy(clients, "--role-arn", "arn:aws:iam::222222222222:role/etl-writer", "--external-id", "x-1",
                 "--region", "eu-west-1", "--source-principal", "arn:aws:iam::111111111111:role/EMR_EC2_DefaultRole",
                 "--bucket", "lake", "--kms-key", "arn:aws:kms:eu-west-1:222222222222:key/1234abcd", "--access", "read")
    labels = [line for line in out.splitlines() if line.startswith("# ")]
    assert len(labels) == 6, labels
    assert labels[-1].startswith("# EMR configuration classifications: add --emr-release <label>"), labels
    with_release = policy(clients, "--role-arn", "arn:aws:iam::222222222222:role/etl-writer",
                          "--source-principal", "arn:aws:iam::111111111111:root", "--bucket", "lake",
                          "--emr-release", "emr-7.10.0")
    labels = [line for line in with_release.splitlines() if line.startswith("# ")]
    assert labels[-1] == ("# EMR configuration classifications for emr-7.10.0 (S3A serves s3://: core-site, "
                          "the SDK v2 class)"), labels
    read_only = json.loads(policy(clients, "--role-arn", "arn:aws:iam::222222222222:role/etl-writer",
                                  "--source-principal", "arn:aws:iam::111111111111:root", "--bucket", "lake",
                                  "--access", "read", "--kms-key", "arn:aws:kms:eu-west-1:222222222222:key/1",
                                  "--format", "permissions"))
    actions = [a for st in read_only["Statement"] for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"])]
    assert "s3:PutObject" not in actions and "kms:GenerateDataKey" not in actions, actions
    assert "s3:GetObject" in actions and "kms:Decrypt" in actions, actions


@pytest.mark.parametrize("args,message", [
    (["--source-principal", "EMR_EC2_DefaultRole", "--bucket", "b"], "not an IAM role, user or account root ARN"),
    (["--source-principal", "arn:aws:iam::111111111111:root"], "--bucket is required"),
    (["--source-principal", "arn:aws:iam::111111111111:root", "--bucket", "b", "--prefix", "a/*"], "without wildcards"),
    (["--source-principal", "arn:aws:iam::111111111111:root", "--bucket", "b", "--format", "kms"], "needs --kms-key"),
    (["--source-principal", "arn:aws:iam::111111111111:root", "--bucket", "b", "--access", "all"], "invalid value 'all'"),
    (["--source-principal", "arn:aws:iam::111111111111:root", "--bucket", "b", "--format", "emr"],
     "--format emr needs --emr-release: EMR before 7.10 serves s3:// with EMRFS"),
    (["--source-principal", "arn:aws:iam::111111111111:root", "--bucket", "b", "--format", "emr", "--emr-release", "7.10"],
     '--emr-release "7.10": not an EMR release label'),
    (["--source-principal", "arn:aws:iam::111111111111:root", "--bucket", "b", "--emr-release", "emr-4.9.6"],
     "releases before EMR 5.0.0 are not supported"),
])
def test_bad_policy_input_exits_2(clients, args, message):
    out = subprocess.run([rolebridge(clients), "policy", "--role-arn", "arn:aws:iam::222222222222:role/w", *args],
                         capture_output=True, text=True, timeout=30)
    assert out.returncode == 2, out.stderr
    assert message in out.stderr, out.stderr
    assert out.stdout == ""


def hadoop_xml(path, properties):
    """Writes properties as a Hadoop configuration file, as EMR writes a classification."""
    from xml.sax.saxutils import escape
    body = "".join(f"  <property><name>{escape(k)}</name><value>{escape(v)}</value></property>\n"
                   for k, v in properties.items())
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(f'<?xml version="1.0"?>\n<configuration>\n{body}</configuration>\n')
    return path


def emr_classification(clients, local_aws, release, dest, *extra):
    """`rolebridge policy --format emr` for one destination of the fixture: its one classification."""
    d = local_aws.fixture[dest]
    out = json.loads(policy(clients, "--role-arn", d["roleArn"], "--external-id", d["externalId"],
                            "--region", "us-east-1", "--sts-endpoint", local_aws.endpoint,
                            "--source-principal", local_aws.fixture["source"]["arn"], "--bucket", d["bucket"],
                            "--format", "emr", "--emr-release", release, *extra))
    assert len(out) == 1, out
    return out[0]["Classification"], out[0]["Properties"]


@pytest.mark.parametrize("release,classification,file_name", [
    ("emr-6.15.0", "emrfs-site", "emrfs-site.xml"),
    ("7.9.0", "emrfs-site", "emrfs-site.xml"),
    ("emr-7.10.0", "core-site", "core-site.xml"),
])
def test_emr_classifications_per_release_validate_and_give_each_bucket_its_role(
        clients, local_aws, tmp_path, release, classification, file_name):
    """Issue 18: each release's output, written where EMR writes it and read back by doctor, names
    destA's role for dest-a and destB's for dest-b; any other bucket is the source's."""
    from test_doctor import doctor
    merged = {}
    for dest in ("destA", "destB"):
        got, props = emr_classification(clients, local_aws, release, dest, "--session-name", "emr-{user}",
                                        "--duration", "45m")
        assert got == classification
        bucket = local_aws.fixture[dest]["bucket"]
        if classification == "emrfs-site":
            assert props["fs.s3.customAWSCredentialsProvider"] == "dev.rolebridge.hadoop.RoleBridgeCredentialsProvider"
            assert not [k for k in props if k.startswith("fs.s3a.")], props
        else:
            assert props["fs.s3a.aws.credentials.provider"] == \
                "dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2"
            assert not [k for k in props if k.startswith("fs.s3.")], props
            assert "dev.rolebridge.hadoop.RoleBridgeCredentialsProvider" not in props.values()
        assert props["rolebridge.unmapped.buckets"] == "source"
        assert props[f"rolebridge.bucket.{bucket}.session.name"] == "emr-{user}"
        assert props[f"rolebridge.bucket.{bucket}.session.duration"] == "45m"
        assert "rolebridge.role.arn" not in props and "rolebridge.external.id" not in props
        assert props["rolebridge.sts.endpoint"] == local_aws.endpoint
        merged.update(props)
    conf = hadoop_xml(tmp_path / file_name, merged)
    for dest in ("destA", "destB"):
        d = local_aws.fixture[dest]
        status, report, checks = doctor(clients, local_aws, "--conf", str(conf), "--bucket", d["bucket"],
                                        "--user", "etl", flags=False)
        assert status == 0, report
        detail = checks["settings"]["detail"]
        assert f"valid; {d['roleArn']} signs bucket {d['bucket']}" in detail, detail
        assert f"role.arn from rolebridge.bucket.{d['bucket']}.role.arn [set in {conf}]" in detail, detail
        assert f"unmapped.buckets from rolebridge.unmapped.buckets [set in {conf}]" in detail, detail
        assert checks["assume role"]["detail"].startswith(f"{d['roleArn']} as session emr-etl "), checks["assume role"]
    # A bucket no role applies to is signed by the source itself (here it may not list it).
    status, report, checks = doctor(clients, local_aws, "--conf", str(conf), "--bucket", "dest-sources", flags=False)
    assert status == 1 and "assume role" not in checks, report
    assert "no role applies to bucket dest-sources" in checks["settings"]["detail"], checks["settings"]
    assert checks["source credentials"]["ok"], report
    assert local_aws.fixture["source"]["accessKeyId"] in checks["source credentials"]["detail"]
    assert not checks["bucket listable"]["ok"] and "AccessDenied" in checks["bucket listable"]["detail"]
