#!/usr/bin/env bash
# Builds the guest test programs with the machine's gcc: every <name>.c becomes
# <name>-static, <name>-dynamic and <name>-pie; nostdlib.c and countable.c (no C
# library) become nostdlib and countable only.
# Usage: tests/guest/build.sh [OUTDIR]   (default tests/guest/bin). Quiet on success.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
out=${1:-$here/bin}
cc=${CC:-gcc}
command -v "$cc" >/dev/null || { echo "build.sh: $cc not found; run scripts/setup" >&2; exit 1; }
mkdir -p "$out"

# compile OUTPUT SOURCE LIBS FLAGS...: rebuilds when the source (or this script) is newer.
compile() {
  local output=$1 source=$2 libs=()
  [[ -n $3 ]] && libs=("$3")
  shift 3
  if [[ -f $output && $output -nt $source && $output -nt ${BASH_SOURCE[0]} ]]; then
    return 0
  fi
  local log
  if ! log=$("$cc" "$@" -o "$output.tmp" "$source" "${libs[@]}" 2>&1); then
    printf '%s\n' "$log" >&2
    echo "build.sh: cannot compile $(basename "$source") into $(basename "$output")" >&2
    rm -f "$output.tmp"
    exit 1
  fi
  mv "$output.tmp" "$output"
}

common=(-O1 -g -Wall -Wextra -std=gnu11)
for source in "$here"/*.c; do
  name=$(basename "$source" .c)
  if [[ $name == nostdlib || $name == countable ]]; then
    compile "$out/$name" "$source" "" -nostdlib -static -fno-pie -no-pie -O1 -g -Wall -Wextra
    continue
  fi
  compile "$out/$name-static" "$source" -lm "${common[@]}" -static
  compile "$out/$name-dynamic" "$source" -lm "${common[@]}" -no-pie
  compile "$out/$name-pie" "$source" -lm "${common[@]}" -fPIE -pie
done
