"""The `rolebridge` command as clients we did not write run it: the AWS CLI and boto3, installed with
the rolebridge wheel into a fresh venv, with a profile whose credential_process is
`rolebridge credential-process ...`, against the local STS + S3 (issue 10)."""

import datetime
import json
import os
import subprocess
import sys

import pytest

from conftest import _env


def rolebridge(clients):
    return str(clients / "bin" / "rolebridge")


def write_profile(tmp_path, clients, local_aws, dest="destA", extra=()):
    """An AWS config file with profile `lake`, whose credential_process is the installed command,
    its sessions kept in a cache directory of this test's own."""
    cache = tmp_path / "cache"
    args = [
        rolebridge(clients), "credential-process",
        "--role-arn", local_aws.fixture[dest]["roleArn"],
        "--external-id", local_aws.fixture[dest]["externalId"],
        "--region", "us-east-1",
        "--sts-endpoint", local_aws.endpoint,
        "--cache-dir", str(cache),
        *extra,
    ]
    config = tmp_path / "config"
    config.write_text("[profile lake]\ncredential_process = " + " ".join(args) + "\nregion = us-east-1\n")
    return config


def client_env(config):
    """The environment of the AWS CLI and boto3: the profile file, and the source user's keys in
    the environment, which rolebridge (not the client: the profile is named explicitly) uses."""
    env = dict(os.environ)
    env["AWS_CONFIG_FILE"] = str(config)
    env.pop("AWS_PROFILE", None)
    return env


def aws(clients, config, *args):
    return subprocess.run(
        [str(clients / "bin" / "aws"), "--profile", "lake", *args],
        env=client_env(config), capture_output=True, text=True, timeout=120,
    )


def test_the_aws_cli_signs_with_the_assumed_role_and_ten_calls_make_one_assume_role(
        tmp_path, clients, local_aws):
    config = write_profile(tmp_path, clients, local_aws)
    local_aws.start_recording()
    who = aws(clients, config, "sts", "get-caller-identity", "--endpoint-url", local_aws.endpoint)
    assert who.returncode == 0, who.stderr
    arn = json.loads(who.stdout)["Arn"]
    assert arn.startswith("arn:aws:sts::222222222222:assumed-role/cross-account-writer/"), arn

    body = tmp_path / "hello.txt"
    body.write_text("written by the AWS CLI through rolebridge\n")
    cp = aws(clients, config, "s3", "cp", str(body), "s3://dest-a/cli/hello.txt", "--endpoint-url", local_aws.endpoint)
    assert cp.returncode == 0, cp.stderr
    for _ in range(8):
        again = aws(clients, config, "sts", "get-caller-identity", "--endpoint-url", local_aws.endpoint)
        assert again.returncode == 0, again.stderr
    recorded = local_aws.stop_recording()

    assume = [r for r in recorded if r.is_assume_role]
    assert len(assume) == 1, f"ten CLI invocations, one AssumeRole: {assume}"
    assert assume[0].signed_by == local_aws.fixture["source"]["accessKeyId"]
    s3 = [r for r in recorded if r.service == "s3"]
    assert s3, recorded
    for r in s3 + [r for r in recorded if r.form.get("Action") == "GetCallerIdentity"]:
        assert local_aws.session_arn_of_key(r.signed_by) == arn, r


def test_boto3_writes_the_destination_bucket(tmp_path, clients, local_aws):
    config = write_profile(tmp_path, clients, local_aws)
    script = (
        "import boto3, sys\n"
        "s3 = boto3.Session(profile_name='lake').client('s3', endpoint_url=sys.argv[1])\n"
        "s3.put_object(Bucket='dest-a', Key='boto3/hello.txt', Body=b'written by boto3 through rolebridge')\n"
        "print(s3.get_object(Bucket='dest-a', Key='boto3/hello.txt')['Body'].read().decode())\n"
    )
    local_aws.start_recording()
    run = subprocess.run([str(clients / "bin" / "python"), "-c", script, local_aws.endpoint],
                         env=client_env(config), capture_output=True, text=True, timeout=120)
    recorded = local_aws.stop_recording()
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "written by boto3 through rolebridge"
    assume = [r for r in recorded if r.is_assume_role]
    assert len(assume) == 1, assume
    s3 = [r for r in recorded if r.service == "s3"]
    assert len(s3) == 2, s3
    for r in s3:
        arn = local_aws.session_arn_of_key(r.signed_by)
        assert arn and arn.startswith("arn:aws:sts::222222222222:assumed-role/cross-account-writer/"), r


def test_the_json_is_process_credentials_with_more_than_15_minutes_left(tmp_path, clients, local_aws):
    d = local_aws.fixture["destA"]
    out = subprocess.run(
        [rolebridge(clients), "credential-process", "--role-arn", d["roleArn"], "--external-id", d["externalId"],
         "--region", "us-east-1", "--sts-endpoint", local_aws.endpoint, "--cache-dir", str(tmp_path / "c")],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 0, out.stderr
    assert out.stderr == ""
    creds = json.loads(out.stdout)
    assert set(creds) == {"Version", "AccessKeyId", "SecretAccessKey", "SessionToken", "Expiration"}
    assert creds["Version"] == 1 and isinstance(creds["Version"], int)
    assert creds["Expiration"].endswith("Z"), creds["Expiration"]
    expiration = datetime.datetime.fromisoformat(creds["Expiration"].replace("Z", "+00:00"))
    left = expiration - datetime.datetime.now(datetime.timezone.utc)
    assert left > datetime.timedelta(minutes=15), left
    assert oct(os.stat(tmp_path / "c").st_mode & 0o777) == "0o700"


BAD_INPUT = [
    (["--no-such-flag"], 2, "unexpected argument '--no-such-flag'"),
    (["--duration", "15m"], 2, "at least 30m"),
    (["--role-arn", "arn:aws:iam::12:role/x"], 2, "rolebridge.role.arn"),
    (["-D", "rolebridge.external.id"], 2, "not KEY=VALUE"),
    (["-D", "rolebridge.extrenal.id=abc"], 2, "Did you mean rolebridge.external.id?"),
    (["--conf", "/nonexistent/core-site.xml"], 2, "cannot read it"),
    (["--sts-endpoint", "http://10.1.2.3:8080"], 2, "accepted only for loopback addresses"),
    (["--sts-timeout", "1h"], 2, "[set by --sts-timeout]"),
]


@pytest.mark.parametrize("args,status,message", BAD_INPUT, ids=[" ".join(a) for a, _, _ in BAD_INPUT])
def test_bad_input_is_one_clear_message_and_no_request(tmp_path, clients, local_aws, args, status, message):
    d = local_aws.fixture["destA"]
    defaults = {"--role-arn": d["roleArn"], "--region": "us-east-1", "--sts-endpoint": local_aws.endpoint,
                "--cache-dir": str(tmp_path / "c")}
    base = [x for flag, value in defaults.items() if flag not in args for x in (flag, value)]
    local_aws.start_recording()
    out = subprocess.run([rolebridge(clients), "credential-process", *base, *args],
                         capture_output=True, text=True, timeout=60)
    recorded = local_aws.stop_recording()
    assert out.returncode == status, (out.returncode, out.stderr)
    assert message in out.stderr, out.stderr
    assert out.stdout == ""
    assert recorded == [], f"no network call: {recorded}"


def test_a_refusal_names_the_cause_exits_1_and_shows_no_secret(tmp_path, clients, local_aws):
    d = local_aws.fixture["destA"]
    out = subprocess.run(
        [rolebridge(clients), "credential-process", "--role-arn", d["roleArn"], "--external-id", "wrong-id",
         "--region", "us-east-1", "--sts-endpoint", local_aws.endpoint, "--cache-dir", str(tmp_path / "c")],
        capture_output=True, text=True, timeout=60,
    )
    assert out.returncode == 1, out.stderr
    assert "AccessDenied" in out.stderr and "external ID" in out.stderr, out.stderr
    assert out.stdout == ""
    assert local_aws.fixture["source"]["secretAccessKey"] not in out.stderr


@pytest.mark.parametrize("fake_id", [False, True], ids=["id-does-not-know-the-user", "id-prints-nothing"])
def test_group_settings_and_groups_that_cannot_be_looked_up_exit_2_naming_user_and_error(
        tmp_path, clients, local_aws, fake_id):
    """Issue 15: with a rolebridge.group.* key set, the command looks the user's groups up with
    `id`. When `id` fails (a user the node does not know) or prints nothing, the user's groups are
    unknown: the command used to go on without them and hand out the global role's credentials to
    a member of a group with a read-only role. It refuses now (exit 2), naming the user and why."""
    d = local_aws.fixture["destA"]
    env = dict(os.environ)
    user = "rolebridge-no-such-user"
    if fake_id:
        # An `id` that succeeds and prints nothing, first on PATH.
        bin_dir = tmp_path / "bin"
        bin_dir.mkdir()
        (bin_dir / "id").write_text("#!/bin/sh\nexit 0\n")
        (bin_dir / "id").chmod(0o755)
        env["PATH"] = f"{bin_dir}:{env['PATH']}"
        user = "intern"
    local_aws.start_recording()
    out = subprocess.run(
        [rolebridge(clients), "credential-process", "--role-arn", d["roleArn"], "--external-id", d["externalId"],
         "--region", "us-east-1", "--sts-endpoint", local_aws.endpoint, "--cache-dir", str(tmp_path / "c"),
         "--user", user, "-D", "rolebridge.group.interns.role.arn=arn:aws:iam::222222222222:role/interns-reader"],
        env=env, capture_output=True, text=True, timeout=60,
    )
    recorded = local_aws.stop_recording()
    assert out.returncode == 2, (out.returncode, out.stdout, out.stderr)
    assert out.stdout == ""
    assert f"user {user}" in out.stderr, out.stderr
    assert ("printed no groups" if fake_id else "no such user") in out.stderr, out.stderr
    assert "--groups" in out.stderr, "the fix is named: " + out.stderr
    assert recorded == [], f"no network call: {recorded}"


def test_help_and_version(clients):
    help_ = subprocess.run([rolebridge(clients), "credential-process", "--help"], capture_output=True, text=True)
    assert help_.returncode == 0
    for flag in ("--role-arn", "--external-id", "--session-name", "--duration", "--session-policy",
                 "--session-policy-arns", "--region", "--sts-endpoint", "--sts-timeout", "--cache-dir",
                 "--conf-dir", "--conf", "-D", "--bucket"):
        assert flag in help_.stdout, flag
    version = subprocess.run([rolebridge(clients), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip() == "rolebridge 0.1.0", version.stdout


def test_a_source_profile_that_runs_rolebridge_again_ends_at_once(tmp_path, clients, local_aws):
    """AWS_PROFILE names the profile whose credential_process is rolebridge, and no other source
    is there: rolebridge's own default chain would run that profile, and so rolebridge, again and
    again. The second one refuses, and the whole chain ends with an error at once."""
    config = write_profile(tmp_path, clients, local_aws)
    env = client_env(config)
    for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN"):
        env.pop(k, None)
    env["AWS_PROFILE"] = "lake"
    local_aws.start_recording()
    run = subprocess.run([str(clients / "bin" / "aws"), "sts", "get-caller-identity", "--endpoint-url",
                          local_aws.endpoint], env=env, capture_output=True, text=True, timeout=60)
    recorded = local_aws.stop_recording()
    assert run.returncode != 0, run.stdout
    assert [r for r in recorded if r.is_assume_role] == [], recorded
    direct = subprocess.run([rolebridge(clients), "credential-process", "--role-arn",
                             local_aws.fixture["destA"]["roleArn"]],
                            env={**env, "ROLEBRIDGE_CREDENTIAL_PROCESS": "1"}, capture_output=True, text=True)
    assert direct.returncode == 1 and "started by its own source credentials" in direct.stderr, direct.stderr
    # It names where the profile is chosen instead: the AWS CLI's own option and boto3's argument.
    assert "aws s3 ls --profile lake" in direct.stderr and 'profile_name="lake"' in direct.stderr, direct.stderr


def test_runs_with_one_web_identity_share_a_session_and_another_principal_does_not(tmp_path, clients, local_aws):
    """Issue 15, item 13: the command under a web identity source (EMR on EKS, IRSA). Each run
    exchanges the token for source credentials of its own (another access key ID every time), so
    the node cache, which compared access key IDs, never hit and every run made an AssumeRole and
    rewrote the file. Runs of one principal (the pod role with one session name) now share the
    session, at two STS calls per run (the exchange, GetCallerIdentity); another session name of
    the role is another principal and fetches its own."""
    d = local_aws.fixture["destSources"]
    token = tmp_path / "token"
    token.write_text(local_aws.fixture["webIdentity"]["token"])
    empty = tmp_path / "empty"
    empty.write_text("")

    def run(session_name):
        env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
        env.update(
            AWS_WEB_IDENTITY_TOKEN_FILE=str(token),
            AWS_ROLE_ARN=local_aws.fixture["webIdentity"]["roleArn"],
            AWS_ROLE_SESSION_NAME=session_name,
            AWS_REGION="us-east-1",
            AWS_ENDPOINT_URL_STS=local_aws.endpoint,
            AWS_CONFIG_FILE=str(empty),
            AWS_SHARED_CREDENTIALS_FILE=str(empty),
            AWS_EC2_METADATA_DISABLED="true",
        )
        local_aws.start_recording()
        out = subprocess.run(
            [rolebridge(clients), "credential-process", "--role-arn", d["roleArn"], "--external-id", d["externalId"],
             "--region", "us-east-1", "--sts-endpoint", local_aws.endpoint, "--cache-dir", str(tmp_path / "cache")],
            env=env, capture_output=True, text=True, timeout=60,
        )
        recorded = local_aws.stop_recording()
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout), sorted(r.form["Action"] for r in recorded if r.form.get("Action"))

    first, first_calls = run("it-cli-pod")
    later = [run("it-cli-pod") for _ in range(3)]
    assert [calls.count("AssumeRole") for _, calls in later] == [0, 0, 0], f"the later runs fetched: {[calls for _, calls in later]}"
    assert all(creds["AccessKeyId"] == first["AccessKeyId"] for creds, _ in later)
    # What a run costs: its exchange and GetCallerIdentity; the first run's AssumeRole besides.
    assert first_calls == ["AssumeRole", "AssumeRoleWithWebIdentity", "GetCallerIdentity"], first_calls
    for _, calls in later:
        assert calls == ["AssumeRoleWithWebIdentity", "GetCallerIdentity"], calls
    other, calls = run("it-cli-other-session")
    assert "AssumeRole" in calls, calls
    assert other["AccessKeyId"] != first["AccessKeyId"]
    arn = local_aws.session_arn_of_key(other["AccessKeyId"])
    assert arn and arn.startswith("arn:aws:sts::222222222222:assumed-role/sources-writer/"), arn


def test_the_aarch64_wheel_runs_under_qemu(tmp_path, local_aws):
    """The aarch64 wheel's command (Graviton nodes, Glue on arm) runs under qemu-user and prints
    credentials fetched from the local STS."""
    import zipfile

    wheel = _env("ROLEBRIDGE_TEST_WHEEL").replace("x86_64", "aarch64")
    with zipfile.ZipFile(wheel) as z:
        name = next(n for n in z.namelist() if n.endswith("/scripts/rolebridge"))
        binary = tmp_path / "rolebridge-aarch64"
        binary.write_bytes(z.read(name))
    binary.chmod(0o755)
    d = local_aws.fixture["destA"]
    out = subprocess.run(
        [_env("ROLEBRIDGE_TEST_QEMU_AARCH64"), str(binary), "credential-process", "--role-arn", d["roleArn"],
         "--external-id", d["externalId"], "--region", "us-east-1", "--sts-endpoint", local_aws.endpoint,
         "--cache-dir", str(tmp_path / "c")],
        capture_output=True, text=True, timeout=120,
    )
    assert out.returncode == 0, out.stderr
    creds = json.loads(out.stdout)
    assert creds["Version"] == 1 and creds["AccessKeyId"].startswith("ASIA"), out.stdout
    header = binary.read_bytes()[:20]
    assert header[:4] == b"\x7fELF" and int.from_bytes(header[18:20], "little") == 183, "an aarch64 ELF (EM_AARCH64)"


def test_another_buckets_cache_dir_does_not_turn_the_default_node_cache_off(tmp_path, clients, local_aws):
    """Issue 15 item 11: only the cache.dir key that applies to these settings decides where sessions
    are kept; another bucket's or another user's key leaves the default (auto) on, so a second run
    makes no STS call."""
    d = local_aws.fixture["destA"]
    name = "item11-" + os.urandom(4).hex()  # a session of this test's own in the shared auto directory
    args = [rolebridge(clients), "credential-process", "--role-arn", d["roleArn"], "--external-id", d["externalId"],
            "--region", "us-east-1", "--sts-endpoint", local_aws.endpoint, "--session-name", name,
            "-D", f"rolebridge.bucket.another-bucket.cache.dir={tmp_path / 'other-bucket'}",
            "-D", f"rolebridge.user.someone-else.cache.dir={tmp_path / 'other-user'}"]
    local_aws.start_recording()
    runs = [subprocess.run(args, capture_output=True, text=True, timeout=60) for _ in range(3)]
    recorded = local_aws.stop_recording()
    for run in runs:
        assert run.returncode == 0, run.stderr
    keys = {json.loads(run.stdout)["AccessKeyId"] for run in runs}
    assert len(keys) == 1, keys
    assume = [r for r in recorded if r.is_assume_role]
    assert len(assume) == 1, f"three runs, one AssumeRole: {assume}"
    assert not (tmp_path / "other-bucket").exists() and not (tmp_path / "other-user").exists()
