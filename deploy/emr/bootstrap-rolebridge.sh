#!/bin/sh
# EMR bootstrap action: installs the rolebridge jar, and optionally the rolebridge command, on
# this node.
#
#   bootstrap-rolebridge.sh s3://BUCKET/PATH/rolebridge-VERSION.jar [SHA256] [OPTION...]
#
# Options (EMR passes a bootstrap action its arguments, not an environment):
#   --command-wheel s3://.../rolebridge-VERSION-py3-none-manylinux_2_17_ARCH.manylinux2014_ARCH.whl
#         also install the `rolebridge` command (doctor, policy, credential-process) from its wheel;
#         give it once per architecture for a cluster of both, the node's own is installed
#   --command-sha256 HEX   the wheel's SHA-256 (else WHEEL.sha256 beside it is downloaded)
#   --bin-dir DIR          where the command goes (default /usr/local/bin)
#   --extra-dir DIR        install the jar into DIR as well (repeatable); as ROLEBRIDGE_EXTRA_DIRS
#   --java PATH            the java to run the jar's self-check with; as ROLEBRIDGE_JAVA
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

usage="usage: $0 s3://BUCKET/PATH/rolebridge-VERSION.jar [SHA256] [--command-wheel S3_URI]... [--command-sha256 HEX] [--bin-dir DIR] [--extra-dir DIR]... [--java PATH]"
[ $# -ge 1 ] || fail "$usage"
src=$1
shift
expected=
case "${1:-}" in --*|"") ;; *) expected=$1; shift ;; esac
wheels=
wheel_sha=
bin_dir=/usr/local/bin
extra=${ROLEBRIDGE_EXTRA_DIRS:-}
java=${ROLEBRIDGE_JAVA:-}
while [ $# -gt 0 ]; do
  case "$1" in
    --command-wheel|--command-sha256|--bin-dir|--extra-dir|--java)
      [ $# -ge 2 ] && [ -n "$2" ] || fail "$1 needs a value; $usage" ;;
  esac
  case "$1" in
    --command-wheel)
      case "$2" in s3://*/*.whl) ;; *) fail "--command-wheel must be the wheel's s3:// URI ending in .whl, got: $2" ;; esac
      wheels="$wheels $2" ;;
    --command-sha256) wheel_sha=$2 ;;
    --bin-dir)
      case "$2" in /*) ;; *) fail "--bin-dir must be an absolute path, got: $2" ;; esac
      bin_dir=$2 ;;
    --extra-dir)
      case "$2" in /*) ;; *) fail "--extra-dir must be an absolute path, got: $2" ;; esac
      extra="$extra:$2" ;;
    --java) java=$2 ;;
    *) fail "unknown argument: $1; $usage" ;;
  esac
  shift 2
done
[ -z "$wheel_sha" ] || [ -n "$wheels" ] || fail "--command-sha256 is given without --command-wheel"
set -- $wheels
[ -z "$wheel_sha" ] || [ $# -le 1 ] || fail "--command-sha256 is one wheel's checksum, but $# --command-wheel are given;" \
  "upload each wheel's .sha256 beside it (scripts/package.sh writes them) and leave --command-sha256 out"
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
wheel_arch=${platform#linux-}

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
jar=$work/$name
lower() { printf '%s' "$1" | tr 'A-F' 'a-f'; }
# fetch_checked SRC DEST EXPECTED WHAT HOW: downloads SRC to DEST and checks its SHA-256 against
# EXPECTED, or where that is empty against SRC.sha256 beside it (WHAT names the file in messages,
# HOW says how else to give the checksum). Sets $checked to the file's SHA-256.
fetch_checked() {
  "$AWS" s3 cp --only-show-errors "$1" "$2" >&2 || fail "could not download $1"
  want=$3
  if [ -z "$want" ]; then
    "$AWS" s3 cp --only-show-errors "$1.sha256" "$2.sha256" >&2 \
      || fail "$5 and could not download $1.sha256 (upload it beside the $4, or $6)"
    read -r want _ < "$2.sha256" || true
  fi
  printf '%s\n' "$want" | grep -Eq '^[0-9a-fA-F]{64}$' \
    || fail "the $7expected checksum is not a SHA-256 (64 hex digits): '$want'"
  checked=$(sha256sum "$2")
  checked=${checked%% *}
  [ "$(lower "$checked")" = "$(lower "$want")" ] || fail "checksum mismatch for $1: expected $want, got $checked"
}
# zip_names FILE: the entry names of a zip file (a jar, a wheel), one per line.
zip_names() {
  unzip -Z1 "$1" 2>/dev/null \
    || python3 -c 'import sys, zipfile; print("\n".join(zipfile.ZipFile(sys.argv[1]).namelist()))' "$1" 2>/dev/null
}
fetch_checked "$src" "$jar" "$expected" jar "no checksum given" "pass the SHA-256 as the second argument" ""
actual=$checked

listing=$(zip_names "$jar") || fail "$src is not a readable jar"
library=native/$platform/librolebridge.so
for entry in dev/rolebridge/hadoop/RoleBridgeCredentialsProvider.class \
             dev/rolebridge/hadoop/RoleBridgeCredentialsProviderV2.class "$library"; do
  printf '%s\n' "$listing" | grep -qF "$entry" || fail "$src does not contain $entry: is it the rolebridge release jar?"
done

# Does the library load on this node? The self-check loads it exactly as a provider does:
# extracted to java.io.tmpdir (so a noexec /tmp shows), linked against this node's glibc.
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

# The command: the wheel for this node's architecture, checked, its binary run once here.
command_bin=
if [ -n "$wheels" ]; then
  wheel_src=
  for w in $wheels; do
    case "$w" in *"_$wheel_arch.whl") wheel_src=$w ;; esac
  done
  [ -n "$wheel_src" ] || fail "no --command-wheel for this node's architecture ($wheel_arch) among:$wheels" \
    "(give the wheel whose name ends in _$wheel_arch.whl)"
  wheel=$work/${wheel_src##*/}
  fetch_checked "$wheel_src" "$wheel" "$wheel_sha" wheel "no --command-sha256 given" "pass --command-sha256" "wheel's "
  wheel_listing=$(zip_names "$wheel") || fail "$wheel_src is not a readable wheel (a zip file)"
  entry=$(printf '%s\n' "$wheel_listing" | grep '^rolebridge-[^/]*\.data/scripts/rolebridge$') || entry=
  case "$entry" in
    ""|*"
"*) fail "$wheel_src does not hold one rolebridge-*.data/scripts/rolebridge: is it the rolebridge wheel?" ;;
  esac
  command_bin=$work/rolebridge
  { unzip -p "$wheel" "$entry" 2>/dev/null \
    || python3 -c 'import sys, zipfile; sys.stdout.buffer.write(zipfile.ZipFile(sys.argv[1]).read(sys.argv[2]))' "$wheel" "$entry"; } \
    > "$command_bin" 2>/dev/null && [ -s "$command_bin" ] || fail "cannot extract $entry from $wheel_src"
  chmod 0755 "$command_bin"
  version=$("$command_bin" --version 2>&1) || fail "the rolebridge command from $wheel_src does not run on this node:
$version"
  say "command check passed: $version"
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
old_ifs=$IFS
IFS=:
set -f
for dir in $extra; do
  IFS=$old_ifs
  if [ -n "$dir" ]; then install_into "$ROOT$dir"; fi
done
set +f
IFS=$old_ifs

if [ -n "$command_bin" ]; then
  dest=$ROOT$bin_dir
  $sudo mkdir -p "$dest" || fail "cannot create $dest"
  $sudo install -m 0755 "$command_bin" "$dest/.rolebridge.tmp" && $sudo mv -f "$dest/.rolebridge.tmp" "$dest/rolebridge" \
    || fail "cannot install the command into $dest"
  say "installed the rolebridge command ($version) into $dest"
fi
