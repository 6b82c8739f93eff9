#!/bin/sh
# EMR bootstrap action: installs the rolebridge jar on this node.
#
#   bootstrap-rolebridge.sh s3://BUCKET/PATH/rolebridge-VERSION.jar [SHA256]
#
# Downloads the jar with the AWS CLI, checks its SHA-256 (the second argument, or else the
# rolebridge-VERSION.jar.sha256 file that scripts/package.sh writes, uploaded beside the jar),
# checks that it holds the provider classes and a native library for this node's architecture
# (x86_64 or aarch64/Graviton), and then that the library really loads on this node: it runs the
# jar's self-check (java -jar) with the node's java, or, where no java is installed yet at
# bootstrap time, asks the dynamic linker (ldd) about the library. Only then does it install the
# jar into /usr/share/aws/emr/emrfs/auxlib/, which EMRFS loads custom credentials providers from
# and which is on EMR's Hadoop and Spark class paths (S3A). Set ROLEBRIDGE_EXTRA_DIRS
# (colon-separated) to install into more directories, e.g. the jars directory of a Spark outside
# EMR, and ROLEBRIDGE_JAVA to the java to check with.
#
# Any failure stops the bootstrap action, and so the cluster, with a message: a node that cannot
# run the provider must fail here, not in every job later.
#
# Plain POSIX sh: it runs the same under Amazon Linux 2's bash 4.2, Amazon Linux 2023's bash 5,
# dash and busybox sh.
set -eu

ROOT=${ROLEBRIDGE_INSTALL_ROOT:-}           # a prefix for every installed path (tests)
AWS=${ROLEBRIDGE_AWS_CLI:-aws}
AUXLIB=$ROOT/usr/share/aws/emr/emrfs/auxlib

fail() { echo "rolebridge bootstrap: FAILED: $*" >&2; exit 1; }
say() { echo "rolebridge bootstrap: $*"; }

[ $# -ge 1 ] && [ $# -le 2 ] || fail "usage: $0 s3://BUCKET/PATH/rolebridge-VERSION.jar [SHA256]"
src=$1
expected=${2:-}
case "$src" in s3://*/*.jar) ;; *) fail "the first argument must be the jar's s3:// URI ending in .jar, got: $src" ;; esac
name=${src##*/}
command -v "$AWS" >/dev/null 2>&1 || fail "the AWS CLI ($AWS) is not on PATH"

arch=$(uname -m)
case "$arch" in
  x86_64|amd64) platform=linux-x86_64 ;;
  aarch64|arm64) platform=linux-aarch64 ;;
  *) fail "this node is $arch; the rolebridge jar carries native libraries for linux-x86_64 and" \
       "linux-aarch64 only: use x86_64 or Graviton (aarch64) instance types" ;;
esac

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jar=$work/$name
"$AWS" s3 cp --only-show-errors "$src" "$jar" >&2 || fail "could not download $src"
if [ -z "$expected" ]; then
  "$AWS" s3 cp --only-show-errors "$src.sha256" "$jar.sha256" >&2 \
    || fail "no checksum given and could not download $src.sha256 (upload it beside the jar, or pass the SHA-256 as the second argument)"
  read -r expected _ < "$jar.sha256" || true
fi
printf '%s\n' "$expected" | grep -Eq '^[0-9a-fA-F]{64}$' \
  || fail "the expected checksum is not a SHA-256 (64 hex digits): '$expected'"
actual=$(sha256sum "$jar")
actual=${actual%% *}
lower() { printf '%s' "$1" | tr 'A-F' 'a-f'; }
[ "$(lower "$actual")" = "$(lower "$expected")" ] || fail "checksum mismatch for $src: expected $expected, got $actual"

listing=$(unzip -Z1 "$jar" 2>/dev/null || python3 -m zipfile -l "$jar" 2>/dev/null) \
  || fail "$src is not a readable jar"
library=native/$platform/librolebridge.so
for entry in dev/rolebridge/hadoop/RoleBridgeCredentialsProvider.class \
             dev/rolebridge/hadoop/RoleBridgeCredentialsProviderV2.class "$library"; do
  printf '%s\n' "$listing" | grep -q "$entry" || fail "$src does not contain $entry: is it the rolebridge release jar?"
done

# Does the library load on this node? The self-check loads it exactly as a provider does:
# extracted to java.io.tmpdir (so a noexec /tmp shows), linked against this node's glibc.
java=${ROLEBRIDGE_JAVA:-}
if [ -z "$java" ]; then
  if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
    java=$JAVA_HOME/bin/java
  elif command -v java >/dev/null 2>&1; then
    java=$(command -v java)
  else
    for candidate in "$ROOT"/usr/lib/jvm/*/bin/java "$ROOT"/usr/lib/jvm/*/jre/bin/java; do
      if [ -x "$candidate" ]; then java=$candidate; break; fi
    done
  fi
fi
if [ -n "$java" ]; then
  check=$("$java" -jar "$jar" 2>&1) || fail "the rolebridge self-check ($java -jar $name) failed on this node:
$check"
  say "self-check with $java passed:"
  printf '%s\n' "$check" | sed 's/^/  /'
else
  # No JVM on the node yet: the dynamic linker tells whether the library's architecture and the
  # glibc symbol versions it needs are there, and a copy in the temporary directory shows noexec.
  tmp=${TMPDIR:-/tmp}
  copy=$(mktemp "$tmp/librolebridge-check.XXXXXX") || fail "cannot write to the temporary directory $tmp"
  if ! unzip -p "$jar" "$library" > "$copy" 2>/dev/null; then
    rm -f "$copy"
    fail "cannot extract $library from $src"
  fi
  chmod 0755 "$copy"
  linked=$(ldd "$copy" 2>&1) && status=0 || status=$?
  rm -f "$copy"
  case "$linked" in *"not found"*|*"not a dynamic executable"*|*"cannot"*|*"failed"*) status=1 ;; esac
  [ "$status" -eq 0 ] || fail "the native library for $platform cannot be loaded on this node (checked with ldd, no java found:" \
    "set ROLEBRIDGE_JAVA to check with a JVM):
$linked"
  say "no java on this node yet; the dynamic linker (ldd) loads $library from $tmp"
fi

sudo=""
[ "$(id -u)" -eq 0 ] || sudo=sudo
install_into() {
  $sudo mkdir -p "$1" || fail "cannot create $1"
  $sudo install -m 0644 "$jar" "$1/.$name.tmp" && $sudo mv -f "$1/.$name.tmp" "$1/$name" \
    || fail "cannot install into $1"
  say "installed $name (sha256 $actual) into $1"
}
install_into "$AUXLIB"
extra=${ROLEBRIDGE_EXTRA_DIRS:-}
old_ifs=$IFS
IFS=:
set -f
for dir in $extra; do
  IFS=$old_ifs
  if [ -n "$dir" ]; then install_into "$ROOT$dir"; fi
done
set +f
IFS=$old_ifs
