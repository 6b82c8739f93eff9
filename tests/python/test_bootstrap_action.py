"""deploy/emr/bootstrap-rolebridge.sh against the real release jar, with the AWS CLI replaced by
a stand-in that serves s3:// URIs from a local folder, and every installed path under a temporary
root. Every case runs under dash, busybox sh and bash: the script is plain POSIX sh, so that it
runs the same under Amazon Linux 2's bash 4.2 (not on our registries), Amazon Linux 2023's bash 5
and any sh. Its self-check runs the node's java on the jar: this machine's, an aarch64 JVM under
qemu-user for a Graviton node, or none (the dynamic linker then checks the library)."""

import hashlib
import os
import shutil
import subprocess
import zipfile
from pathlib import Path

import pytest

from elfpatch import require_glibc

SCRIPT = Path(__file__).resolve().parents[2] / "deploy" / "emr" / "bootstrap-rolebridge.sh"
AUXLIB = "usr/share/aws/emr/emrfs/auxlib"
SHELLS = {"dash": ["dash"], "busybox-sh": ["busybox", "sh"], "bash": ["bash"]}
# What the script (and the aws stand-in) runs, for a node whose PATH has these and no java.
TOOLS = ["uname", "mktemp", "rm", "sha256sum", "grep", "tr", "unzip", "sed", "ldd", "chmod", "id",
         "mkdir", "install", "mv", "cat", "env", "cp"]


@pytest.fixture(params=sorted(SHELLS))
def node(request, tmp_path):
    """A fake node: a bin dir with an `aws` stand-in, a fake S3, an install root, and the shell."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    s3 = tmp_path / "s3"
    s3.mkdir()
    (bin_dir / "aws").write_text(
        "#!/bin/sh\n"
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
    for name in ("JAVA_HOME", "ROLEBRIDGE_JAVA", "ROLEBRIDGE_EXTRA_DIRS", "JAVA_TOOL_OPTIONS"):
        env.pop(name, None)
    shell = SHELLS[request.param]
    return {"bin": bin_dir, "s3": s3, "root": root, "env": env, "shell": [shutil.which(shell[0])] + shell[1:]}


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
    return subprocess.run(node["shell"] + [str(SCRIPT), *args], env=node["env"], capture_output=True, text=True)


def installed(node, name="rolebridge-0.1.0.jar"):
    return node["root"] / AUXLIB / name


def on_arch(node, arch):
    """Makes `uname -m` say `arch` on this node."""
    (node["bin"] / "uname").write_text(f'#!/bin/sh\n[ "$1" = -m ] && echo {arch} || exec /bin/uname "$@"\n')
    (node["bin"] / "uname").chmod(0o755)


def without_java(node):
    """A PATH with only the tools the script needs: no java anywhere (nor under the root)."""
    tools = node["bin"]
    for tool in TOOLS:
        found = shutil.which(tool)
        assert found, tool
        (tools / tool).symlink_to(found)
    node["env"]["PATH"] = str(tools)


def repacked(release_jar, tmp_path, replace=None, drop=()):
    """A copy of the release jar with some entries replaced ({name: bytes}) or left out."""
    out = tmp_path / "repacked" / "rolebridge-0.1.0.jar"
    out.parent.mkdir(exist_ok=True)
    replace = replace or {}
    with zipfile.ZipFile(release_jar) as src, zipfile.ZipFile(out, "w") as dst:
        for item in src.infolist():
            if item.filename in drop:
                continue
            dst.writestr(item, replace.get(item.filename, src.read(item)))
    return out


def needing_glibc_2_99(release_jar, tmp_path):
    """The release jar, but its x86_64 library needs GLIBC_2.99: what a library built against a
    newer glibc than the node's looks like to the node (as 2.34 did to Amazon Linux 2's 2.26)."""
    so = tmp_path / "librolebridge.so"
    with zipfile.ZipFile(release_jar) as z:
        so.write_bytes(z.read("native/linux-x86_64/librolebridge.so"))
    require_glibc(so, tmp_path / "patched.so")
    return repacked(release_jar, tmp_path, {"native/linux-x86_64/librolebridge.so": (tmp_path / "patched.so").read_bytes()})


def test_installs_the_release_jar_into_auxlib_and_extra_dirs(node, release_jar):
    uri = publish(node, release_jar)
    node["env"]["ROLEBRIDGE_EXTRA_DIRS"] = "/usr/lib/spark/jars:/opt/hadoop/share/hadoop/common/lib"
    r = run(node, uri)
    assert r.returncode == 0, r.stderr
    for d in (AUXLIB, "usr/lib/spark/jars", "opt/hadoop/share/hadoop/common/lib"):
        f = node["root"] / d / "rolebridge-0.1.0.jar"
        assert f.read_bytes() == Path(release_jar).read_bytes(), d
        assert oct(f.stat().st_mode & 0o777) == "0o644"
        assert not (node["root"] / d / ".rolebridge-0.1.0.jar.tmp").exists()
    assert "installed rolebridge-0.1.0.jar" in r.stdout
    assert "self-check with" in r.stdout and "platform linux-x86_64" in r.stdout, r.stdout
    assert "native library" in r.stdout and "loaded from jar:/native/linux-x86_64/librolebridge.so" in r.stdout


def test_the_documented_call_without_extra_dirs(node, release_jar):
    """The documented call leaves ROLEBRIDGE_EXTRA_DIRS unset: an empty list must not trip `set -u`
    (the array expansion that bash before 4.4, Amazon Linux 2's, rejects)."""
    r = run(node, publish(node, release_jar))
    assert r.returncode == 0, r.stderr
    assert installed(node).is_file()
    assert sorted(p.name for p in node["root"].rglob("*.jar")) == ["rolebridge-0.1.0.jar"]


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


def test_a_malformed_checksum_is_named(node, release_jar):
    r = run(node, publish(node, release_jar, sidecar=False), "not-hex")
    assert r.returncode != 0
    assert "is not a SHA-256" in r.stderr and "not-hex" in r.stderr
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
    stripped = repacked(release_jar, tmp_path, drop=("native/linux-x86_64/librolebridge.so",))
    r = run(node, publish(node, stripped))
    assert r.returncode != 0
    assert "native/linux-x86_64/librolebridge.so" in r.stderr
    assert not installed(node).exists()


def test_a_graviton_node_runs_the_self_check_with_its_aarch64_java(node, release_jar):
    """An aarch64 node: `uname -m` says aarch64 and the node's java is an aarch64 JVM (under
    qemu-user here), which loads native/linux-aarch64 from the jar."""
    on_arch(node, "aarch64")
    node["env"]["ROLEBRIDGE_JAVA"] = os.environ["ROLEBRIDGE_TEST_AARCH64_JAVA"]
    r = run(node, publish(node, release_jar))
    assert r.returncode == 0, r.stderr
    assert "platform linux-aarch64" in r.stdout, r.stdout
    assert "loaded from jar:/native/linux-aarch64/librolebridge.so" in r.stdout, r.stdout
    assert installed(node).is_file()


def test_a_graviton_node_refuses_a_jar_without_the_aarch64_library(node, release_jar, tmp_path):
    on_arch(node, "aarch64")
    jar = repacked(release_jar, tmp_path, drop=("native/linux-aarch64/librolebridge.so",))
    r = run(node, publish(node, jar))
    assert r.returncode != 0
    assert "native/linux-aarch64/librolebridge.so" in r.stderr
    assert not installed(node).exists()


def test_a_node_of_another_architecture_is_refused(node, release_jar):
    on_arch(node, "s390x")
    r = run(node, publish(node, release_jar))
    assert r.returncode != 0
    assert "s390x" in r.stderr and "linux-x86_64 and" in r.stderr and "linux-aarch64" in r.stderr
    assert not installed(node).exists()


def test_a_library_the_node_cannot_load_stops_the_bootstrap(node, release_jar, tmp_path):
    """A library that needs a newer glibc than the node has: the self-check's message, with the
    missing version, stops the bootstrap, and nothing is installed."""
    r = run(node, publish(node, needing_glibc_2_99(release_jar, tmp_path)))
    assert r.returncode != 0
    assert "self-check" in r.stderr and "failed on this node" in r.stderr
    assert "GLIBC_2.99" in r.stderr and "not found" in r.stderr, r.stderr
    assert "glibc 2.17 or later" in r.stderr, "the shim names the cause: " + r.stderr
    assert not installed(node).exists()


def test_a_noexec_temporary_directory_stops_the_bootstrap(node, release_jar, tmp_path):
    """Hardened images mount /tmp noexec; the JVM's temporary directory is where the library is
    extracted to, so the node cannot run the provider there."""
    if os.geteuid() != 0:
        pytest.skip("mounting a noexec tmpfs needs root")
    noexec = tmp_path / "noexec"
    noexec.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "noexec,size=32m", "tmpfs", str(noexec)], check=True)
    try:
        node["env"]["JAVA_TOOL_OPTIONS"] = f"-Djava.io.tmpdir={noexec}"
        r = run(node, publish(node, release_jar))
        assert r.returncode != 0
        assert "noexec" in r.stderr and str(noexec) in r.stderr, r.stderr
        assert not installed(node).exists()
    finally:
        subprocess.run(["umount", str(noexec)], check=True)


def test_without_java_the_dynamic_linker_checks_the_library(node, release_jar):
    without_java(node)
    r = run(node, publish(node, release_jar))
    assert r.returncode == 0, r.stderr
    assert "no java on this node yet" in r.stdout and "ldd" in r.stdout, r.stdout
    assert installed(node).is_file()


def test_without_java_a_library_the_node_cannot_load_stops_the_bootstrap(node, release_jar, tmp_path):
    without_java(node)
    r = run(node, publish(node, needing_glibc_2_99(release_jar, tmp_path)))
    assert r.returncode != 0
    assert "cannot be loaded on this node" in r.stderr and "GLIBC_2.99" in r.stderr, r.stderr
    assert not installed(node).exists()


@pytest.mark.parametrize("args", [[], ["not-an-s3-uri.jar"], ["s3://bucket/file.zip"]])
def test_bad_arguments_print_usage_and_fail(node, args):
    r = run(node, *args)
    assert r.returncode != 0
    assert "FAILED" in r.stderr and ("usage" in r.stderr or "s3://" in r.stderr)


def publish_wheel(node, wheel, name=None, sidecar=True):
    """Uploads the command's wheel (and a .sha256 beside it) to the fake S3."""
    name = name or Path(wheel).name
    dest = node["s3"] / "artifacts" / "rolebridge" / name
    dest.parent.mkdir(parents=True, exist_ok=True)
    shutil.copy(wheel, dest)
    if sidecar:
        (dest.parent / (name + ".sha256")).write_text(f"{hashlib.sha256(dest.read_bytes()).hexdigest()}  {name}\n")
    return f"s3://artifacts/rolebridge/{name}"


@pytest.fixture(scope="session")
def command_wheel():
    return os.environ["ROLEBRIDGE_TEST_WHEEL"]


def test_installs_the_command_of_the_nodes_architecture_with_options_as_arguments(node, release_jar, command_wheel):
    """Issue 18: EMR passes a bootstrap action arguments, not an environment. Given both
    architectures' wheels, the node's one is checked, run once and installed; the jar goes to
    auxlib and the --extra-dir directories."""
    jar = publish(node, release_jar)
    x86 = publish_wheel(node, command_wheel)
    arm = publish_wheel(node, command_wheel, Path(command_wheel).name.replace("x86_64", "aarch64"))
    r = run(node, jar, "--command-wheel", arm, "--command-wheel", x86, "--extra-dir", "/usr/lib/hadoop/lib",
            "--extra-dir", "/opt/spark/jars", "--bin-dir", "/opt/rolebridge/bin")
    assert r.returncode == 0, r.stderr
    for d in (AUXLIB, "usr/lib/hadoop/lib", "opt/spark/jars"):
        assert (node["root"] / d / "rolebridge-0.1.0.jar").read_bytes() == Path(release_jar).read_bytes(), d
    installed_command = node["root"] / "opt/rolebridge/bin/rolebridge"
    assert oct(installed_command.stat().st_mode & 0o777) == "0o755"
    assert not (node["root"] / "opt/rolebridge/bin/.rolebridge.tmp").exists()
    version = subprocess.run([str(installed_command), "--version"], capture_output=True, text=True)
    assert version.returncode == 0 and version.stdout.strip() == "rolebridge 0.1.0", version
    assert "command check passed: rolebridge 0.1.0" in r.stdout, r.stdout
    assert f"installed the rolebridge command (rolebridge 0.1.0) into {node['root']}/opt/rolebridge/bin" in r.stdout


def test_the_command_goes_to_usr_local_bin_by_default_with_an_explicit_checksum(node, release_jar, command_wheel):
    digest = hashlib.sha256(Path(command_wheel).read_bytes()).hexdigest()
    r = run(node, publish(node, release_jar), "--command-wheel", publish_wheel(node, command_wheel, sidecar=False),
            "--command-sha256", digest.upper())
    assert r.returncode == 0, r.stderr
    assert (node["root"] / "usr/local/bin/rolebridge").is_file()
    assert installed(node).is_file()


@pytest.mark.parametrize("case", ["mismatch", "no-sidecar", "other-arch", "not-a-wheel"])
def test_a_command_wheel_that_cannot_be_installed_stops_the_bootstrap_before_anything_is_installed(
        node, release_jar, command_wheel, tmp_path, case):
    jar = publish(node, release_jar)
    if case == "mismatch":
        args, message = ["--command-wheel", publish_wheel(node, command_wheel), "--command-sha256", "0" * 64], \
            "checksum mismatch for s3://artifacts/rolebridge/rolebridge-0.1.0-py3-none"
    elif case == "no-sidecar":
        args, message = ["--command-wheel", publish_wheel(node, command_wheel, sidecar=False)], \
            "could not download s3://artifacts/rolebridge/rolebridge-0.1.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl.sha256"
    elif case == "other-arch":
        arm = publish_wheel(node, command_wheel, Path(command_wheel).name.replace("x86_64", "aarch64"))
        args, message = ["--command-wheel", arm], "no --command-wheel for this node's architecture (x86_64)"
    else:
        fake = tmp_path / "rolebridge-0.1.0-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"
        with zipfile.ZipFile(fake, "w") as z:
            z.writestr("something/else", b"")
        args, message = ["--command-wheel", publish_wheel(node, fake)], "does not hold one rolebridge-*.data/scripts/rolebridge"
    r = run(node, jar, *args)
    assert r.returncode != 0
    assert message in r.stderr, r.stderr
    assert not installed(node).exists()
    assert not (node["root"] / "usr/local/bin/rolebridge").exists()


@pytest.mark.parametrize("args,message", [
    (["--bin-dir"], "--bin-dir needs a value"),
    (["--bin-dir", "relative/bin"], "--bin-dir must be an absolute path"),
    (["--command-wheel", "https://example.com/rolebridge.whl"], "--command-wheel must be the wheel's s3:// URI"),
    (["--command-sha256", "a" * 64], "--command-sha256 is given without --command-wheel"),
    (["--command-wheel", "s3://a/x_x86_64.whl", "--command-wheel", "s3://a/x_aarch64.whl", "--command-sha256", "a" * 64],
     "--command-sha256 is one wheel's checksum, but 2 --command-wheel are given"),
    (["--extra-dir", "opt/spark/jars"], "--extra-dir must be an absolute path"),
    (["--colour"], "unknown argument: --colour"),
    (["a" * 64, "extra"], "unknown argument: extra"),
])
def test_bad_options_are_named(node, release_jar, args, message):
    r = run(node, publish(node, release_jar), *args)
    assert r.returncode != 0
    assert message in r.stderr and "FAILED" in r.stderr, r.stderr
    assert not installed(node).exists()
