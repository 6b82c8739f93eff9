#!/usr/bin/env bash
# The glibc floor, checked the way auditwheel checks a manylinux2014 wheel: every ELF file given,
# or inside a jar or wheel given, may need at most GLIBC_2.17 (CentOS 7, Amazon Linux 2 has 2.26),
# and may link only libraries that every glibc system has.
#
#   scripts/check-glibc.sh FILE...    (ELF files, .jar or .whl archives)
#
# Prints one line per ELF file with the newest glibc version it needs; for a file above the floor,
# each offending symbol. Exits 1 if any file is above the floor.
set -euo pipefail
FLOOR=${ROLEBRIDGE_GLIBC_FLOOR:-2.17}
# What manylinux2014 lets a library link against (auditwheel's whitelist, the part we can need).
ALLOWED_NEEDED='^(libc\.so\.6|libm\.so\.6|libdl\.so\.2|libpthread\.so\.0|librt\.so\.1|libgcc_s\.so\.1|ld-linux-x86-64\.so\.2|ld-linux-aarch64\.so\.1)$'

newer() { # newer A B: true if version B is newer than version A
  [ "$1" != "$2" ] && [ "$(printf '%s\n%s\n' "$1" "$2" | sort -V | tail -1)" = "$2" ]
}

bad=0
check_elf() { # check_elf FILE LABEL
  local file=$1 label=$2 newest="" sym ver line
  local -a offending=()
  # Symbols: "NUM: VALUE SIZE TYPE BIND VIS UND name@GLIBC_2.34 (3)"
  while read -r sym; do
    ver=${sym##*@GLIBC_}
    case "$ver" in
      PRIVATE) offending+=("$sym") ; continue ;;
    esac
    if [ -z "$newest" ] || newer "$newest" "$ver"; then newest=$ver; fi
    newer "$FLOOR" "$ver" && offending+=("$sym")
  done < <(readelf --dyn-syms -W "$file" | awk '{print $8}' | grep '@GLIBC_' | sort -u)
  # Version requirements, which a symbol list can miss.
  while read -r ver; do
    if [ -z "$newest" ] || newer "$newest" "$ver"; then newest=$ver; fi
    newer "$FLOOR" "$ver" && offending+=("(version requirement) GLIBC_$ver")
  done < <(readelf -V -W "$file" | grep -o 'Name: GLIBC_[0-9.]*' | sed 's/Name: GLIBC_//' | sort -u)
  while read -r line; do
    [[ "$line" =~ $ALLOWED_NEEDED ]] || offending+=("(links) $line, which is not on every glibc system")
  done < <(readelf -d -W "$file" | sed -n 's/.*(NEEDED).*\[\(.*\)\]/\1/p')
  local machine
  machine=$(readelf -h "$file" | sed -n 's/^ *Machine: *//p')
  if [ ${#offending[@]} -eq 0 ]; then
    printf 'glibc floor %s: ok   %s (%s): newest symbol version GLIBC_%s\n' "$FLOOR" "$label" "$machine" "${newest:-none}"
  else
    bad=1
    printf 'glibc floor %s: FAIL %s (%s): newest symbol version GLIBC_%s; above the floor:\n' "$FLOOR" "$label" "$machine" "${newest:-none}"
    printf '    %s\n' "${offending[@]}"
  fi
}
is_elf() { [ "$(head -c 4 "$1" | od -An -c | tr -d ' ')" = '177ELF' ]; }

[ $# -ge 1 ] || { echo "usage: $0 FILE... (ELF files, .jar or .whl)" >&2; exit 2; }
found=0
for f in "$@"; do
  [ -f "$f" ] || { echo "check-glibc: no such file: $f" >&2; exit 2; }
  case "$f" in
    *.jar|*.whl|*.zip)
      tmp=$(mktemp -d)
      unzip -q -o "$f" -d "$tmp"
      while IFS= read -r -d '' e; do
        if is_elf "$e"; then check_elf "$e" "$(basename "$f")!/${e#"$tmp"/}"; found=$((found + 1)); fi
      done < <(find "$tmp" -type f -print0 | sort -z)
      rm -rf "$tmp"
      ;;
    *)
      is_elf "$f" || { echo "check-glibc: not an ELF file: $f" >&2; exit 2; }
      check_elf "$f" "$f"; found=$((found + 1))
      ;;
  esac
done
[ "$found" -gt 0 ] || { echo "check-glibc: no ELF file in $*" >&2; exit 1; }
exit "$bad"
