#!/usr/bin/env bash
# Builds the release jar: the shim classes plus librolebridge.so (linux-x86_64) inside,
# and the loose .so beside it. Output: target/release/rolebridge-<version>.jar and
# target/release/librolebridge.so.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
[ -f "$JARS/hadoop/.done" ] && [ -f "$JARS/s3a/.done" ] && [ -f "$JARS/sdkv2/.done" ] \
  || die "the compile-time Hadoop/AWS SDK jars are missing: run scripts/deps.sh first"
log "cargo build --release (library and Java shim)"
ROLEBRIDGE_REQUIRE_SHIM=1 cargo build --release --lib
classes=$RELEASE_DIR/java-shim/classes
[ -f "$classes/dev/rolebridge/hadoop/RoleBridgeCredentialsProvider.class" ] || die "no shim classes in $classes"
[ -f "$SO" ] || die "no $SO"

stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
cp -r "$classes/." "$stage/"
mkdir -p "$stage/native/linux-x86_64"
cp "$SO" "$stage/native/linux-x86_64/librolebridge.so"
cat > "$stage.manifest" <<MF
Main-Class: dev.rolebridge.hadoop.Main
Implementation-Title: rolebridge
Implementation-Version: $VERSION
Implementation-Vendor: rolebridge
Automatic-Module-Name: dev.rolebridge.hadoop
Rolebridge-Native-Platforms: linux-x86_64
MF
rm -f "$JAR"
jar --create --file "$JAR" --manifest "$stage.manifest" -C "$stage" .
rm -f "$stage.manifest"
(cd "$RELEASE_DIR" && sha256sum "$(basename "$JAR")" > "$(basename "$JAR").sha256")
log "built $JAR (sha256 in $JAR.sha256) ($(du -k "$JAR" | cut -f1) KiB) and $SO ($(du -k "$SO" | cut -f1) KiB)"
