#!/usr/bin/env bash
# Prints the resident memory a JVM grows by over 10,000 provider create/close cycles and
# 10 million getCredentials() calls (dev.rolebridge.bench.LeakCheck), against the local STS.
# Arguments (optional): cycles calls. Expects scripts/deps.sh and scripts/package.sh to have run.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[ -f "$JAR" ] || die "no $JAR: run scripts/package.sh"
start_local_aws
trap stop_local_aws EXIT
[ -d "$ROOT/target/java-tests/dev/rolebridge/bench" ] || compile_java_tests
$(source_env) java -Xms256m -Xmx256m -XX:+AlwaysPreTouch -Drolebridge.test.fixture="$FIXTURE" -Dlog4j.configuration=log4j-demo.properties \
  -cp "$(runtime_cp):$ROOT/target/java-tests" dev.rolebridge.bench.LeakCheck "$@"
