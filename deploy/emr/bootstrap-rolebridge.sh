#!/usr/bin/env bash
# EMR bootstrap action: installs the rolebridge jar on this node.
#
#   bootstrap-rolebridge.sh s3://BUCKET/PATH/rolebridge-VERSION.jar [SHA256]
#
# Downloads the jar with the AWS CLI, checks its SHA-256 (the second argument, or else the
# rolebridge-VERSION.jar.sha256 file that scripts/package.sh writes, uploaded beside the jar),
# checks that it holds the provider classes and a native library for this node's architecture,
# and installs it into /usr/share/aws/emr/emrfs/auxlib/, which EMRFS loads custom credentials
# providers from and which is on EMR's Hadoop and Spark class paths (S3A). Set
# ROLEBRIDGE_EXTRA_DIRS (colon-separated) to install into more directories, e.g. the jars
# directory of a Spark outside EMR. Any failure stops the bootstrap action with a message:
# a cluster must not start with a provider that is missing or not the one you published.
set -euo pipefail

ROOT=${ROLEBRIDGE_INSTALL_ROOT:-}           # a prefix for every installed path (tests)
AWS=${ROLEBRIDGE_AWS_CLI:-aws}
AUXLIB=$ROOT/usr/share/aws/emr/emrfs/auxlib

fail() { echo "rolebridge bootstrap: FAILED: $*" >&2; exit 1; }
say() { echo "rolebridge bootstrap: $*"; }

[ $# -ge 1 ] && [ $# -le 2 ] || fail "usage: $0 s3://BUCKET/PATH/rolebridge-VERSION.jar [SHA256]"
src=$1
expected=${2:-}
case "$src" in s3://*/*.jar) ;; *) fail "the first argument must be the jar's s3:// URI ending in .jar, got: $src" ;; esac
name=$(basename "$src")
command -v "$AWS" >/dev/null || fail "the AWS CLI ($AWS) is not on PATH"

arch=$(uname -m)
case "$arch" in
  x86_64|amd64) platform=linux-x86_64 ;;
  *) fail "this node is $arch, and the rolebridge jar carries a native library for linux-x86_64 only;" \
       "use x86_64 instance types, or build librolebridge.so for $arch from source and set -Drolebridge.native.path" ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$AWS" s3 cp --only-show-errors "$src" "$work/$name" >&2 || fail "could not download $src"
if [ -z "$expected" ]; then
  "$AWS" s3 cp --only-show-errors "$src.sha256" "$work/$name.sha256" >&2 \
    || fail "no checksum given and could not download $src.sha256 (upload it beside the jar, or pass the SHA-256 as the second argument)"
  expected=$(awk '{print $1; exit}' "$work/$name.sha256")
fi
[[ "$expected" =~ ^[0-9a-fA-F]{64}$ ]] || fail "the expected checksum is not a SHA-256 (64 hex digits): '$expected'"
actual=$(sha256sum "$work/$name" | awk '{print $1}')
[ "${actual,,}" = "${expected,,}" ] || fail "checksum mismatch for $src: expected $expected, got $actual"

listing=$(unzip -Z1 "$work/$name" 2>/dev/null || python3 -m zipfile -l "$work/$name" 2>/dev/null) \
  || fail "$src is not a readable jar"
for entry in dev/rolebridge/hadoop/RoleBridgeCredentialsProvider.class \
             dev/rolebridge/hadoop/RoleBridgeCredentialsProviderV2.class \
             "native/$platform/librolebridge.so"; do
  grep -q "$entry" <<<"$listing" || fail "$src does not contain $entry: is it the rolebridge release jar?"
done

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
IFS=: read -r -a extra <<<"${ROLEBRIDGE_EXTRA_DIRS:-}"
for dir in "$AUXLIB" "${extra[@]/#/$ROOT}"; do
  [ "$dir" = "$ROOT" ] && continue
  $sudo mkdir -p "$dir" || fail "cannot create $dir"
  $sudo install -m 0644 "$work/$name" "$dir/$name" || fail "cannot install into $dir"
  say "installed $name (sha256 $actual) into $dir"
done
