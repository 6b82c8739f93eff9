"""scripts/check-glibc.sh, the glibc floor check the test command runs on the release jar: it
passes the jar as built, and fails, naming each offending symbol, on a library that needs more."""

import subprocess
import zipfile
from pathlib import Path

from elfpatch import require_glibc

CHECK = Path(__file__).resolve().parents[2] / "scripts" / "check-glibc.sh"


def check(*files):
    return subprocess.run(["bash", str(CHECK), *map(str, files)], capture_output=True, text=True)


def test_the_release_jar_is_at_the_floor(release_jar):
    r = check(release_jar)
    assert r.returncode == 0, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert len(lines) == 2, lines
    assert any("native/linux-x86_64/librolebridge.so (Advanced Micro Devices X86-64)" in l for l in lines), lines
    assert any("native/linux-aarch64/librolebridge.so (AArch64)" in l for l in lines), lines
    assert all(": ok " in l and l.endswith("newest symbol version GLIBC_2.17") for l in lines), lines


def test_a_library_above_the_floor_fails_with_its_symbols(release_jar, tmp_path):
    so = tmp_path / "librolebridge.so"
    with zipfile.ZipFile(release_jar) as z:
        so.write_bytes(z.read("native/linux-x86_64/librolebridge.so"))
    replaced = require_glibc(so, tmp_path / "needs-2.99.so")
    r = check(tmp_path / "needs-2.99.so")
    assert r.returncode == 1, r.stdout
    assert "FAIL" in r.stdout and "newest symbol version GLIBC_2.99" in r.stdout, r.stdout
    offending = [l.strip() for l in r.stdout.splitlines()[1:]]
    assert offending and all("GLIBC_2.99" in l for l in offending), offending
    assert any("@GLIBC_2.99" in l for l in offending), "names the symbols that need it: " + r.stdout
    assert replaced.startswith("GLIBC_2.")


def test_a_jar_holding_such_a_library_fails_and_names_it(release_jar, tmp_path):
    so = tmp_path / "librolebridge.so"
    with zipfile.ZipFile(release_jar) as z:
        so.write_bytes(z.read("native/linux-aarch64/librolebridge.so"))
    require_glibc(so, tmp_path / "patched.so")
    jar = tmp_path / "rolebridge.jar"
    with zipfile.ZipFile(release_jar) as src, zipfile.ZipFile(jar, "w") as dst:
        for item in src.infolist():
            data = src.read(item)
            if item.filename == "native/linux-aarch64/librolebridge.so":
                data = (tmp_path / "patched.so").read_bytes()
            dst.writestr(item, data)
    r = check(jar)
    assert r.returncode == 1
    assert "ok   rolebridge.jar!/native/linux-x86_64/librolebridge.so" in r.stdout, r.stdout
    assert "FAIL rolebridge.jar!/native/linux-aarch64/librolebridge.so (AArch64)" in r.stdout, r.stdout


def test_not_an_elf_file_is_a_usage_error(tmp_path):
    f = tmp_path / "notes.txt"
    f.write_text("hello")
    r = check(f)
    assert r.returncode == 2 and "not an ELF file" in r.stderr
