#!/usr/bin/env bash
# The README's first command: installs what it needs, builds the jar, starts the local
# access-controlled STS + S3, and runs a cross-account write through RoleBridgeCredentialsProvider
# on real Hadoop 3.3.1 S3A, printing who signed each request.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
bash "$ROOT/scripts/deps.sh"
bash "$ROOT/scripts/package.sh"
start_local_aws
trap stop_local_aws EXIT
compile_java_tests
log "cross-account write: source account $(fixture_get sourceAccount) -> bucket $(fixture_get destA bucket) of account $(fixture_get destA account)"
$(source_env) java -Drolebridge.test.fixture="$FIXTURE" -Dlog4j.configuration=log4j-demo.properties \
  -cp "$(runtime_cp):$ROOT/target/java-tests" dev.rolebridge.demo.CrossAccountDemo
