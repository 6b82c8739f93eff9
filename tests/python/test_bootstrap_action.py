"""deploy/emr/bootstrap-rolebridge.sh against the real release jar, with the AWS CLI replaced by
a stand-in that serves s3:// URIs from a local folder, and every installed path under a temporary
root."""

import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "emr" / "bootstrap-rolebridge.sh"
AUXLIB = "usr/share/aws/emr/emrfs/auxlib"


@pytest.fixture
def node(tmp_path):
    """A fake node: a bin dir with an `aws` stand-in, a fake S3, and an install root."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    s3 = tmp_path / "s3"
    s3.mkdir()
    (bin_dir / "aws").write_text(
        "#!/usr/bin/env bash\n"
        "# stand-in for: aws s3 cp [--only-show-errors] s3://BUCKET/KEY DEST\n"
        '[ "$1 $2" = "s3 cp" ] || { echo "unexpected aws call: $*" >&2; exit 2; }\n'
        'shift 2; [ "$1" = --only-show-errors ] && shift\n'
        f'src="{s3}/${{1#s3://}}"\n'
        '[ -f "$src" ] || { echo "fatal error: An error occurred (404) when calling the HeadObject operation: Key not found" >&2; exit 1; }\n'
        'cp "$src" "$2"\n'
    )
    (bin_dir / "aws").chmod(0o755)
    root = tmp_path / "root"
    root.mkdir()
    env = dict(os.environ, PATH=f"{bin_dir}:{os.environ['PATH']}", ROLEBRIDGE_INSTALL_ROOT=str(root))
    return {"bin": bin_dir, "s3": s3, "root": root, "env": env}


def publish(node, jar, name="rolebridge-0.1.0.jar", sidecar=True):
    """Uploads a jar (and its .sha256, as scripts/package.sh writes it) to the fake S3."""
    dest = node["s3"] / "artifacts" / "rolebridge" / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(jar, dest)
    if sidecar:
        digest = hashlib.sha256(dest.read_bytes()).hexdigest()
        (dest.parent / (name + ".sha256")).write_text(f"{digest}  {name}\n")
    return f"s3://artifacts/rolebridge/{name}"


def run(node, *args):
    return subprocess.run(["bash", str(SCRIPT), *args], env=node["env"], capture_output=True, text=True)


def installed(node, name="rolebridge-0.1.0.jar"):
    return node["root"] / AUXLIB / name


def test_installs_the_release_jar_into_auxlib_and_extra_dirs(node, release_jar):
    uri = publish(node, release_jar)
    node["env"]["ROLEBRIDGE_EXTRA_DIRS"] = "/usr/lib/spark/jars:/opt/hadoop/share/hadoop/common/lib"
    r = run(node, uri)
    assert r.returncode == 0, r.stderr
    for d in (AUXLIB, "usr/lib/spark/jars", "opt/hadoop/share/hadoop/common/lib"):
        f = node["root"] / d / "rolebridge-0.1.0.jar"
        assert f.read_bytes() == Path(release_jar).read_bytes(), d
        assert oct(f.stat().st_mode & 0o777) == "0o644"
    assert "installed rolebridge-0.1.0.jar" in r.stdout


def test_an_explicit_checksum_needs_no_sidecar(node, release_jar):
    uri = publish(node, release_jar, sidecar=False)
    digest = hashlib.sha256(Path(release_jar).read_bytes()).hexdigest()
    r = run(node, uri, digest.upper())
    assert r.returncode == 0, r.stderr
    assert installed(node).is_file()


def test_a_checksum_mismatch_fails_and_installs_nothing(node, release_jar):
    uri = publish(node, release_jar, sidecar=False)
    r = run(node, uri, "0" * 64)
    assert r.returncode != 0
    assert "checksum mismatch" in r.stderr and uri in r.stderr
    assert not installed(node).exists()


def test_a_missing_jar_fails_loudly(node):
    r = run(node, "s3://artifacts/rolebridge/rolebridge-9.9.9.jar", "a" * 64)
    assert r.returncode != 0
    assert "could not download s3://artifacts/rolebridge/rolebridge-9.9.9.jar" in r.stderr


def test_a_missing_sidecar_checksum_fails_loudly(node, release_jar):
    uri = publish(node, release_jar, sidecar=False)
    r = run(node, uri)
    assert r.returncode != 0
    assert ".sha256" in r.stderr and "second argument" in r.stderr
    assert not installed(node).exists()


def test_a_jar_without_the_native_library_is_refused(node, release_jar, tmp_path):
    stripped = tmp_path / "rolebridge-0.1.0.jar"
    with zipfile.ZipFile(release_jar) as src, zipfile.ZipFile(stripped, "w") as dst:
        for item in src.infolist():
            if not item.filename.startswith("native/"):
                dst.writestr(item, src.read(item))
    uri = publish(node, stripped)
    r = run(node, uri)
    assert r.returncode != 0
    assert "native/linux-x86_64/librolebridge.so" in r.stderr
    assert not installed(node).exists()


def test_a_node_of_another_architecture_is_refused(node, release_jar):
    (node["bin"] / "uname").write_text('#!/bin/sh\n[ "$1" = -m ] && echo aarch64 || exec /bin/uname "$@"\n')
    (node["bin"] / "uname").chmod(0o755)
    uri = publish(node, release_jar)
    r = run(node, uri)
    assert r.returncode != 0
    assert "aarch64" in r.stderr and "rolebridge.native.path" in r.stderr
    assert not installed(node).exists()


@pytest.mark.parametrize("args", [[], ["not-an-s3-uri.jar"], ["s3://bucket/file.zip"]])
def test_bad_arguments_print_usage_and_fail(node, args):
    r = run(node, *args)
    assert r.returncode != 0
    assert "FAILED" in r.stderr and ("usage" in r.stderr or "s3://" in r.stderr)
