#!/bin/sh
# tests/fuzz/run_fuzz.sh FUZZER SEEDS WORK [OPTION...] - a bounded fuzz
# run for `meson test`.  It starts from the checked-in seed corpus SEEDS
# (read only) and writes what it finds - new inputs and the reproducer of
# a crash - under WORK, which it empties first so that every run with the
# same options is the same run.  See tests/fuzz/README.md.
set -eu
fuzzer=$1 seeds=$2 work=$3
shift 3
rm -rf "$work"
mkdir -p "$work/corpus"
# (libFuzzer's own exit code for a crash, 77, would read as a skip)
exec "$fuzzer" -error_exitcode=1 -artifact_prefix="$work/" "$@" \
    "$work/corpus" "$seeds"
