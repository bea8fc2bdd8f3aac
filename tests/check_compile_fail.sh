#!/bin/sh
# tests/check_compile_fail.sh CC INCLUDE DIR CASE PATTERN - CASE.c in DIR
# must fail to compile, with PATTERN (an extended regex) in the
# compiler's message; DIR/ok.c, with the same command, must compile, so
# that a failure means the case was refused and not that the command is
# broken.
set -eu
cc=$1 inc=$2 dir=$3 case=$4 pattern=$5
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
flags="-std=c11 -Wall -I$inc -I$dir -c -o $tmp/out.o"
# shellcheck disable=SC2086
if ! $cc $flags "$dir/ok.c" 2>"$tmp/ok.log"; then
    cat "$tmp/ok.log"
    echo "the control case does not compile"
    exit 1
fi
# shellcheck disable=SC2086
if $cc $flags "$dir/$case.c" 2>"$tmp/err.log"; then
    echo "$case.c compiled, but must not"
    exit 1
fi
if ! grep -Eq "$pattern" "$tmp/err.log"; then
    cat "$tmp/err.log"
    echo "$case.c failed to compile, but not with /$pattern/"
    exit 1
fi
echo "$case.c refused: $(grep -Em1 "$pattern" "$tmp/err.log")"
