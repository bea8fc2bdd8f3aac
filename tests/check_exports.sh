#!/bin/sh
# tests/check_exports.sh LIB LIST - the dynamic symbols LIB exports must be
# exactly the names in LIST (one per line, # comments): nothing internal
# leaks out and nothing public goes missing.
set -eu
lib=$1
list=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
nm -D --defined-only "$lib" | awk '$2 ~ /^[TDBRW]$/ {print $3}' \
    | sort -u > "$tmp/actual"
grep -v '^#' "$list" | sed '/^$/d' | sort -u > "$tmp/expected"
if ! diff -u "$tmp/expected" "$tmp/actual"; then
    echo "exported symbols differ from $list (- expected, + actual)"
    echo "0 passed, 1 failed"
    exit 1
fi
echo "1 passed, 0 failed"
