"""`rolebridge doctor` (issue 10): each failure it names, produced for real against the local STS +
S3, gives its cause and exit 1; a correct setup passes with exit 0."""

import json
import os
import subprocess
import uuid

from test_credential_process import rolebridge
from test_policy import admin_client, policy


def doctor(clients, local_aws, *args, keys=None):
    env = dict(os.environ)
    if keys:
        env.update(AWS_ACCESS_KEY_ID=keys["accessKeyId"], AWS_SECRET_ACCESS_KEY=keys["secretAccessKey"])
    out = subprocess.run(
        [rolebridge(clients), "doctor", "--region", "us-east-1", "--sts-endpoint", local_aws.endpoint,
         "--s3-endpoint", local_aws.endpoint, "--json", *args],
        env=env, capture_output=True, text=True, timeout=120,
    )
    report = json.loads(out.stdout)
    return out.returncode, report, {c["name"]: c for c in report["checks"]}


def dest(local_aws, name, external_id=None):
    d = local_aws.fixture[name]
    return ["--role-arn", d["roleArn"], "--external-id", external_id or d["externalId"], "--bucket", d["bucket"]]


def test_a_correct_setup_passes_every_check(clients, local_aws):
    status, report, checks = doctor(clients, local_aws, *dest(local_aws, "destA"), "--prefix", "doctor/", "--write")
    assert status == 0 and report["ok"], report
    assert list(checks) == ["settings", "source identity", "assume role", "bucket reachable", "bucket listable", "write"]
    assert "role.arn from rolebridge.role.arn" in checks["settings"]["detail"]
    assert "session.duration from default" in checks["settings"]["detail"]
    assert checks["source identity"]["detail"].startswith(local_aws.fixture["source"]["arn"])


def test_settings_name_the_user_and_group_keys_they_come_from(clients, local_aws):
    """The settings check names the key each value is read from by the provider's own precedence,
    the user's, a group's and their per-bucket keys included."""
    d = local_aws.fixture["destA"]
    status, report, checks = doctor(
        clients, local_aws, *dest(local_aws, "destA"), "--user", "alice", "--groups", "analysts",
        "-D", "rolebridge.user.alice.session.duration=2h",
        "-D", f"rolebridge.group.analysts.bucket.{d['bucket']}.sts.timeout=20s",
        "-D", "rolebridge.bucket.other-bucket.session.duration=3h",
    )
    detail = checks["settings"]["detail"]
    assert "session.duration from rolebridge.user.alice.session.duration" in detail, detail
    assert f"sts.timeout from rolebridge.group.analysts.bucket.{d['bucket']}.sts.timeout" in detail, detail
    assert status == 0, report


def test_a_wrong_external_id(clients, local_aws):
    status, report, checks = doctor(clients, local_aws, *dest(local_aws, "destA", "not-the-agreed-id"))
    assert status == 1 and not report["ok"]
    assert not checks["assume role"]["ok"]
    assert "AccessDenied" in checks["assume role"]["detail"]
    assert "the external ID sent (rolebridge.external.id) differs" in checks["assume role"]["detail"]
    assert "bucket reachable" not in checks, "nothing after a failed AssumeRole"


def test_an_untrusted_source(clients, local_aws):
    intruder = local_aws.fixture["intruder"]
    status, _, checks = doctor(clients, local_aws, *dest(local_aws, "destA"), keys=intruder)
    assert status == 1
    assert checks["source identity"]["detail"].startswith(intruder["arn"])
    assert f"the role's trust policy does not name {intruder['arn']}" in checks["assume role"]["detail"]


def test_a_missing_role(clients, local_aws):
    status, _, checks = doctor(clients, local_aws, "--role-arn", "arn:aws:iam::222222222222:role/no-such-role",
                               "--bucket", "dest-a")
    assert status == 1
    assert "the role does not exist" in checks["assume role"]["detail"]
    assert "the external ID is missing" in checks["assume role"]["detail"]


def test_a_role_chain_passes_and_a_broken_hop_is_named(clients, local_aws):
    """Issue 11: doctor goes through rolebridge.role.chain as the provider does."""
    hub, broken = local_aws.fixture["chainHop"], local_aws.fixture["brokenHop"]
    chain = ["-D", f"rolebridge.role.chain={hub['roleArn']}", "-D", f"rolebridge.role.chain.1.external.id={hub['externalId']}"]
    status, report, checks = doctor(clients, local_aws, *dest(local_aws, "chainDest"), *chain, "--write")
    assert status == 0 and report["ok"], report
    broken_chain = ["-D", f"rolebridge.role.chain={hub['roleArn']},{broken['roleArn']}",
                    "-D", f"rolebridge.role.chain.1.external.id={hub['externalId']}"]
    status, _, checks = doctor(clients, local_aws, *dest(local_aws, "chainDest"), *broken_chain)
    assert status == 1
    detail = checks["assume role"]["detail"]
    assert f"{broken['roleArn']} (role 2 of 3: hop 2 of rolebridge.role.chain)" in detail, detail
    assert f"(the session of the role before it, {hub['roleArn']})" in detail, detail
    assert ":assumed-role/chain-hop/" in detail, detail


def test_tags_a_trust_policy_does_not_allow(clients, local_aws):
    """Issue 11: a SourceIdentity and tags the role's trust policy does not allow are named."""
    status, _, checks = doctor(clients, local_aws, *dest(local_aws, "tenantUntagged"), "--user", "alice",
                               "-D", "rolebridge.source.identity={user}", "-D", "rolebridge.session.tags=user={user}")
    assert status == 1
    detail = checks["assume role"]["detail"]
    assert "lacks sts:SetSourceIdentity or sts:TagSession" in detail, detail


def test_a_bucket_the_role_may_not_list(clients, local_aws):
    d = local_aws.fixture["destA"]
    status, _, checks = doctor(clients, local_aws, "--role-arn", d["roleArn"], "--external-id", d["externalId"],
                               "--bucket", "dest-b")
    assert status == 1
    assert checks["assume role"]["ok"]
    assert not checks["bucket reachable"]["ok"] and "403" in checks["bucket reachable"]["detail"]
    assert not checks["bucket listable"]["ok"] and "AccessDenied" in checks["bucket listable"]["detail"]


def test_a_prefix_the_role_may_not_write(clients, local_aws):
    run = uuid.uuid4().hex[:8]
    role_name, bucket = f"doctor-writer-{run}", f"dest-doctor-{run}"
    role_arn = f"arn:aws:iam::222222222222:role/{role_name}"
    common = ["--role-arn", role_arn, "--external-id", f"ext-{run}", "--source-principal",
              local_aws.fixture["source"]["arn"], "--bucket", bucket, "--prefix", "jobs"]
    admin_client(local_aws, "222222222222", "s3").create_bucket(Bucket=bucket)
    iam = admin_client(local_aws, "222222222222", "iam")
    iam.create_role(RoleName=role_name, AssumeRolePolicyDocument=policy(clients, *common, "--format", "trust"))
    iam.put_role_policy(RoleName=role_name, PolicyName="rolebridge",
                        PolicyDocument=policy(clients, *common, "--format", "permissions"))
    ok, _, checks = doctor(clients, local_aws, "--role-arn", role_arn, "--external-id", f"ext-{run}",
                           "--bucket", bucket, "--prefix", "jobs/", "--write")
    assert ok == 0, checks
    status, _, checks = doctor(clients, local_aws, "--role-arn", role_arn, "--external-id", f"ext-{run}",
                               "--bucket", bucket, "--prefix", "elsewhere/", "--write")
    assert status == 1
    assert not checks["write"]["ok"] and "PutObject" in checks["write"]["detail"], checks["write"]
    assert "AccessDenied" in checks["write"]["detail"]


def test_bad_settings_are_a_failed_check(clients, local_aws):
    status, report, checks = doctor(clients, local_aws, "--role-arn", "not-an-arn", "--bucket", "dest-a")
    assert status == 1 and list(checks) == ["settings"]
    assert "rolebridge.role.arn" in checks["settings"]["detail"] and "[set by --role-arn]" in checks["settings"]["detail"]
