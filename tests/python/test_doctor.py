"""`rolebridge doctor` (issue 10): each failure it names, produced for real against the local STS +
S3, gives its cause and exit 1; a correct setup passes with exit 0."""

import json
import os
import shutil
import subprocess
import uuid

import pytest

from test_credential_process import rolebridge
from test_policy import admin_client, emr_classification, hadoop_xml, policy

EMRFS_SITE = "usr/share/aws/emr/emrfs/conf/emrfs-site.xml"
CORE_SITE = "etc/hadoop/conf/core-site.xml"
AUXLIB = "usr/share/aws/emr/emrfs/auxlib"
HADOOP_LIB = "usr/lib/hadoop/lib"


def doctor(clients, local_aws, *args, keys=None, flags=True, root="/nonexistent-emr-node"):
    """Runs doctor with the STS flags (unless flags=False: the settings then come from files)
    against the local STS + S3; its node files are read under `root` (none by default)."""
    env = dict(os.environ, ROLEBRIDGE_DOCTOR_ROOT=str(root))
    if keys:
        env.update(AWS_ACCESS_KEY_ID=keys["accessKeyId"], AWS_SECRET_ACCESS_KEY=keys["secretAccessKey"])
    sts = ["--region", "us-east-1", "--sts-endpoint", local_aws.endpoint] if flags else []
    out = subprocess.run(
        [rolebridge(clients), "doctor", *sts, "--s3-endpoint", local_aws.endpoint, "--json", *args],
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
    assert list(checks) == ["settings", "route to STS", "source identity", "assume role", "bucket region",
                            "route to S3", "bucket reachable", "bucket listable", "write"]
    assert "role.arn from rolebridge.role.arn [set by --role-arn]" in checks["settings"]["detail"]
    assert checks["bucket region"]["detail"] == "us-east-1 (GetBucketLocation dest-a): S3 requests are signed for us-east-1"
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
    assert "session.duration from rolebridge.user.alice.session.duration [set by -D rolebridge.user.alice.session.duration]" in detail, detail
    assert f"sts.timeout from rolebridge.group.analysts.bucket.{d['bucket']}.sts.timeout [set by -D" in detail, detail
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


def emr_node(tmp_path, kind, classification_props, jar=None, extra=None):
    """A fake EMR node's files under a root: an EMRFS node (EMR before 7.10: emrfs-site.xml, no
    fs.s3.impl) or an S3A node (EMR 7.10+: fs.s3.impl = S3AFileSystem in core-site.xml), its
    classification's properties where EMR writes them, and the release jar where that file system
    loads it from, if `jar`."""
    root = tmp_path / f"node-{kind}"
    props = dict(classification_props, **(extra or {}))
    if kind == "emrfs":
        hadoop_xml(root / CORE_SITE, {"fs.defaultFS": "hdfs://primary:8020"})
        site = hadoop_xml(root / EMRFS_SITE, props)
        jar_dir = root / AUXLIB
    else:
        site = hadoop_xml(root / CORE_SITE, dict(props, **{"fs.s3.impl": "org.apache.hadoop.fs.s3a.S3AFileSystem"}))
        jar_dir = root / HADOOP_LIB
    jar_dir.mkdir(parents=True, exist_ok=True)
    if jar:
        shutil.copy(jar, jar_dir / "rolebridge-0.1.0.jar")
    return root, site, jar_dir


@pytest.mark.parametrize("kind,release", [("emrfs", "emr-6.15.0"), ("s3a", "emr-7.10.0")])
def test_on_an_emr_node_doctor_reads_emrs_files_and_checks_the_file_system_and_the_jar(
        clients, local_aws, tmp_path, release_jar, kind, release):
    """Issue 18: with no --conf-dir/--conf, doctor reads the node's core-site.xml and
    emrfs-site.xml, names the file and key of each value (a user's and a group's too), says which
    file system serves s3:// and finds the provider class in a jar where that file system looks."""
    _, props = emr_classification(clients, local_aws, release, "destA")
    tenant = {"rolebridge.user.alice.bucket.dest-a.session.duration": "2h",
              "rolebridge.group.analysts.bucket.dest-a.sts.timeout": "20s"}
    root, site, jar_dir = emr_node(tmp_path, kind, props, jar=release_jar, extra=tenant)
    status, report, checks = doctor(clients, local_aws, "--bucket", "dest-a", "--user", "alice", "--groups",
                                    "analysts", flags=False, root=root)
    assert status == 0, report
    assert list(checks) == ["settings", "s3 file system", "provider setting", "provider jar", "route to STS",
                            "source identity", "assume role", "bucket region", "route to S3", "bucket reachable",
                            "bucket listable"]
    detail = checks["settings"]["detail"]
    files = [root / CORE_SITE] + ([root / EMRFS_SITE] if kind == "emrfs" else [])
    assert detail.startswith(f"read EMR's configuration {' and '.join(map(str, files))} (no --conf-dir or --conf given); "), detail
    assert f"role.arn from rolebridge.bucket.dest-a.role.arn [set in {site}]" in detail, detail
    assert f"session.duration from rolebridge.user.alice.bucket.dest-a.session.duration [set in {site}]" in detail, detail
    assert f"sts.timeout from rolebridge.group.analysts.bucket.dest-a.sts.timeout [set in {site}]" in detail, detail
    fs = checks["s3 file system"]["detail"]
    if kind == "emrfs":
        assert fs == f"s3:// is served by EMRFS (fs.s3.impl is not set and {root / EMRFS_SITE} exists: EMR's default before 7.10)"
        assert checks["provider setting"]["detail"] == \
            f"fs.s3.customAWSCredentialsProvider = dev.rolebridge.hadoop.RoleBridgeCredentialsProvider (in {site})"
        assert checks["provider jar"]["detail"] == (
            f"dev.rolebridge.hadoop.RoleBridgeCredentialsProvider is in {jar_dir}/rolebridge-0.1.0.jar "
            f"(EMRFS loads custom credentials providers from {root / AUXLIB})")
    else:
        assert fs == f"s3:// is served by S3A (fs.s3.impl = org.apache.hadoop.fs.s3a.S3AFileSystem (in {site}))"
        assert checks["provider setting"]["detail"] == (
            "fs.s3a.aws.credentials.provider = dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2 "
            f"(in {site})")
        assert checks["provider jar"]["detail"].startswith(
            f"dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2 is in {jar_dir}/rolebridge-0.1.0.jar (Hadoop's "
            f"class path holds on EMR (`hadoop classpath` did not run) {root / HADOOP_LIB}, {root / AUXLIB})")

    # The jar gone: that check fails with where it looked and the fix, the others still pass.
    (jar_dir / "rolebridge-0.1.0.jar").unlink()
    shutil.copy(site, jar_dir / "not-a-jar.jar")
    status, report, checks = doctor(clients, local_aws, "--bucket", "dest-a", "--user", "alice", "--groups",
                                    "analysts", flags=False, root=root)
    assert status == 1, report
    failed = [name for name, c in checks.items() if not c["ok"]]
    assert failed == ["provider jar"], report
    assert checks["provider jar"]["detail"].startswith(f"no jar in {jar_dir}"), checks["provider jar"]
    assert "bootstrap-rolebridge.sh" in checks["provider jar"]["detail"]


def test_on_an_emr_node_the_wrong_class_for_the_file_system_is_named(clients, local_aws, tmp_path, release_jar):
    """An EMR 6.x configuration carried over to a 7.10 node: S3A serves s3://, EMRFS's key is
    ignored there, and the bucket's S3A slot names no rolebridge class."""
    _, props = emr_classification(clients, local_aws, "emr-6.15.0", "destA")
    root, _, _ = emr_node(tmp_path, "s3a", props, jar=release_jar)
    status, report, checks = doctor(clients, local_aws, "--bucket", "dest-a", flags=False, root=root)
    assert status == 1
    assert checks["s3 file system"]["detail"].startswith("s3:// is served by S3A")
    assert not checks["provider setting"]["ok"]
    assert "fs.s3a.aws.credentials.provider is not set: S3A does not use rolebridge for bucket dest-a" in \
        checks["provider setting"]["detail"], checks["provider setting"]
    assert "fs.s3a.aws.credentials.provider=dev.rolebridge.hadoop.RoleBridgeCredentialsProviderV2" in \
        checks["provider setting"]["detail"]


def test_a_bucket_in_another_region_is_signed_for_its_region(clients, local_aws):
    """dest-eu is in eu-west-2, STS in us-east-1: doctor asks S3 where the bucket is and signs its
    S3 checks for eu-west-2 (or for --s3-region), as the recorded requests show."""
    d = local_aws.fixture["destEu"]
    assert d["region"] == "eu-west-2"
    local_aws.start_recording()
    try:
        status, report, checks = doctor(clients, local_aws, *dest(local_aws, "destEu"), "--write")
    finally:
        requests = local_aws.stop_recording()
    assert status == 0, report
    assert checks["bucket region"]["detail"] == \
        "eu-west-2 (GetBucketLocation dest-eu): S3 requests are signed for eu-west-2"
    s3 = [r for r in requests if r.service == "s3" and "dest-eu" in r.url]
    assert s3, requests
    location = [r for r in s3 if "location" in r.url]
    assert location and all(r._scope(2) == "us-east-1" for r in location), location
    checked = [r for r in s3 if "location" not in r.url]
    assert len(checked) >= 4, checked  # HeadBucket, ListObjectsV2, PutObject, DeleteObject
    assert {r._scope(2) for r in checked} == {"eu-west-2"}, [(r, r._scope(2)) for r in checked]
    assert all(r._scope(2) == "us-east-1" for r in requests if r.service == "sts")

    local_aws.start_recording()
    try:
        status, report, checks = doctor(clients, local_aws, *dest(local_aws, "destEu"), "--s3-region", "eu-west-2")
    finally:
        requests = local_aws.stop_recording()
    assert status == 0, report
    assert checks["bucket region"]["detail"] == "eu-west-2 (from --s3-region): S3 requests are signed for eu-west-2"
    s3 = [r for r in requests if r.service == "s3"]
    assert s3 and not [r for r in s3 if "location" in r.url], s3
    assert {r._scope(2) for r in s3} == {"eu-west-2"}
