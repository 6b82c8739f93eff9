"""Writes a binary-only Python wheel (PEP 427) that installs the `rolebridge` command into a venv's
bin/, from a binary scripts/package.sh has already built (so the binary is built once per run, in
the same cargo invocation as librolebridge.so). Tagged manylinux2014 / manylinux_2_17 (glibc 2.17),
which the binary meets (scripts/check-glibc.sh checks it in the wheel).

Usage: wheel.py BINARY VERSION ARCH OUT_DIR   (ARCH: x86_64 or aarch64); prints the wheel's path.
"""

import base64
import hashlib
import os
import sys
import zipfile

SUMMARY = "credential_process for the AWS CLI and boto3: cross-account STS AssumeRole sessions, cached on the node"


def record_line(name, data):
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    return f"{name},sha256={digest},{len(data)}"


def main():
    binary, version, arch, out_dir = sys.argv[1:5]
    if arch not in ("x86_64", "aarch64"):
        sys.exit(f"wheel.py: unknown architecture {arch}")
    tags = [f"py3-none-manylinux_2_17_{arch}", f"py3-none-manylinux2014_{arch}"]
    name = f"rolebridge-{version}-py3-none-manylinux_2_17_{arch}.manylinux2014_{arch}.whl"
    dist_info = f"rolebridge-{version}.dist-info"
    files = [
        (f"rolebridge-{version}.data/scripts/rolebridge", open(binary, "rb").read(), 0o755),
        (f"{dist_info}/METADATA", (
            "Metadata-Version: 2.1\n"
            "Name: rolebridge\n"
            f"Version: {version}\n"
            f"Summary: {SUMMARY}\n"
            "License: Apache-2.0\n"
            "Requires-Python: >=3.7\n"
        ).encode(), 0o644),
        (f"{dist_info}/WHEEL", (
            "Wheel-Version: 1.0\n"
            "Generator: rolebridge scripts/wheel.py\n"
            "Root-Is-Purelib: false\n"
            + "".join(f"Tag: {t}\n" for t in tags)
        ).encode(), 0o644),
    ]
    record = "\n".join([record_line(n, d) for n, d, _ in files] + [f"{dist_info}/RECORD,,", ""]).encode()
    files.append((f"{dist_info}/RECORD", record, 0o644))
    os.makedirs(out_dir, exist_ok=True)
    path = os.path.join(out_dir, name)
    tmp = path + ".tmp"
    with zipfile.ZipFile(tmp, "w", zipfile.ZIP_DEFLATED) as z:
        for n, data, mode in files:
            info = zipfile.ZipInfo(n, date_time=(2026, 1, 1, 0, 0, 0))
            info.external_attr = (0o100000 | mode) << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, data)
    os.replace(tmp, path)
    print(path)


if __name__ == "__main__":
    main()
