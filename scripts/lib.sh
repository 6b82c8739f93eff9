# Shared paths for the scripts in this folder. Sourced, not run.
# Large downloads live outside the repository, in ROLEBRIDGE_CACHE.
set -euo pipefail
ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
CACHE=${ROLEBRIDGE_CACHE:-$HOME/.cache/rolebridge}
JARS=$CACHE/jars
VENV=$CACHE/venv
VERSION=$(sed -n 's/^version = "\(.*\)"/\1/p' "$ROOT/Cargo.toml" | head -1)
RELEASE_DIR=$ROOT/target/release
JAR=$RELEASE_DIR/rolebridge-$VERSION.jar
SO=$RELEASE_DIR/librolebridge.so
export ROLEBRIDGE_CACHE=$CACHE

log() { printf '==> %s\n' "$*" >&2; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Class paths of the real Hadoop and AWS SDK jars (see scripts/deps.sh).
cp_of() { local d=$1; ls "$JARS/$d"/*.jar | tr '\n' ':' | sed 's/:$//'; }

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

# Compiles tests/java into target/java-tests against the jar and the real Hadoop/SDK jars.
compile_java_tests() {
  local out=$ROOT/target/java-tests
  rm -rf "$out" && mkdir -p "$out"
  find "$ROOT/tests/java" -name '*.java' > "$out/sources.txt"
  javac -encoding UTF-8 -d "$out" -cp "$(runtime_cp):/usr/share/java/junit-platform-console-standalone.jar" @"$out/sources.txt"
  cp "$ROOT/tests/java/"log4j*.properties "$out/"
}
