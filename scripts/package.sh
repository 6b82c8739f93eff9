#!/usr/bin/env bash
# Builds the release jar: the shim classes plus librolebridge.so for linux-x86_64 and
# linux-aarch64, both built with cargo-zigbuild against glibc 2.17 (they load on Amazon Linux 2,
# CentOS 7 and anything newer). Output: target/release/rolebridge-<version>.jar (and its .sha256),
# and the loose libraries in target/release/native/linux-<arch>/librolebridge.so. Then the
# `rolebridge` command for both architectures, and from those binaries one wheel per architecture
# in target/wheels/ (scripts/wheel.py), each with its .sha256.
#
# Needs the build toolchain only (build_tools in lib.sh: Rust, a JDK, python3, curl; it fetches zig
# and cargo-zigbuild from PyPI and the shim's compile-time jars from Maven Central), not the test
# one (scripts/deps.sh): `bash scripts/package.sh` on a machine with just those makes the release.
source "$(dirname "$0")/lib.sh"
cd "$ROOT"
build_tools

# The shim's classes are compiled once, in the x86_64 build (build.rs).
export ROLEBRIDGE_REQUIRE_SHIM=1 ROLEBRIDGE_SHIM_TARGET=$X86_64
if [ -f "$CACHE/aarch64-toolchain" ]; then
  log "cargo zigbuild --release (glibc $GLIBC_FLOOR): $X86_64, then $AARCH64 with Debian's Rust"
  zigcargo zigbuild "$X86_64" --release -p rolebridge --lib
  zigcargo zigbuild "$AARCH64" --release -p rolebridge --lib
  zigcargo zigbuild "$X86_64" --release -p rolebridge-cli --bins
  zigcargo zigbuild "$AARCH64" --release -p rolebridge-cli --bins
else
  # The library in a cargo run of its own: cargo unifies the features of shared dependencies
  # across the packages of one run, and the command's S3 client must add none to the library.
  log "cargo zigbuild --release (glibc $GLIBC_FLOOR): the library for $X86_64 and $AARCH64, then the command"
  zigcargo zigbuild "$X86_64" --target "$AARCH64.$GLIBC_FLOOR" --release -p rolebridge --lib
  zigcargo zigbuild "$X86_64" --target "$AARCH64.$GLIBC_FLOOR" --release -p rolebridge-cli --bins
fi
classes=$ROOT/target/$X86_64/release/java-shim/classes
[ -f "$classes/dev/rolebridge/hadoop/RoleBridgeCredentialsProvider.class" ] || die "no shim classes in $classes"

stage=$(mktemp -d); trap 'rm -rf "$stage"' EXIT
platforms=""
for pair in "linux-x86_64 $X86_64" "linux-aarch64 $AARCH64"; do
  set -- $pair
  built=$ROOT/target/$2/release/librolebridge.so
  [ -f "$built" ] || die "no $built"
  mkdir -p "$stage/native/$1" "$NATIVE_DIR/$1"
  cp "$built" "$stage/native/$1/librolebridge.so"
  cp "$built" "$NATIVE_DIR/$1/librolebridge.so"
  platforms="$platforms $1"
done
cat > "$stage.manifest" <<MF
Main-Class: dev.rolebridge.hadoop.Main
Implementation-Title: rolebridge
Implementation-Version: $VERSION
Implementation-Vendor: rolebridge
Automatic-Module-Name: dev.rolebridge.hadoop
Rolebridge-Native-Platforms:$platforms
MF
rm -f "$JAR"
# The classes compressed; the libraries stored as they are: a provider's cold start extracts its
# library from the jar, and inflating 7 MB took about 35 ms of the provider's 70 (BENCHMARKS.md).
jar --create --file "$JAR" --manifest "$stage.manifest" -C "$classes" .
jar --update --file "$JAR" --no-compress -C "$stage" native
rm -f "$stage.manifest"
(cd "$RELEASE_DIR" && sha256sum "$(basename "$JAR")" > "$(basename "$JAR").sha256")
log "built $JAR ($(du -k "$JAR" | cut -f1) KiB; sha256 in $JAR.sha256) with$platforms:" \
  "$SO ($(du -k "$SO" | cut -f1) KiB), $SO_AARCH64 ($(du -k "$SO_AARCH64" | cut -f1) KiB)"

rm -f "$WHEELS"/rolebridge-*.whl "$WHEELS"/rolebridge-*.whl.sha256
for pair in "x86_64 $X86_64" "aarch64 $AARCH64"; do
  set -- $pair
  built=$ROOT/target/$2/release/rolebridge
  [ -x "$built" ] || die "no $built"
  wheel=$(python3 "$ROOT/scripts/wheel.py" "$built" "$VERSION" "$1" "$WHEELS")
  # The bootstrap action's --command-wheel checks WHEEL.sha256, uploaded beside the wheel.
  (cd "$WHEELS" && sha256sum "$(basename "$wheel")" > "$(basename "$wheel").sha256")
  log "built $wheel and its .sha256 ($(du -k "$wheel" | cut -f1) KiB; the command $(du -k "$built" | cut -f1) KiB)"
done
