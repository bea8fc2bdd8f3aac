#!/bin/sh
# bench/compare_df.sh [PATH [THREADS [ROUNDS [QUERY...]]]] - bench_df next
# to DuckDB on the same file, in one script.
#
# PATH is the events table (default /tmp/events.csv; written by
# `bench_df gen` when missing), THREADS the threads each side gets
# (default 2), ROUNDS how often each query runs on each side (default 3;
# the best time is kept, with that run's peak RSS), QUERY bench_df's
# query numbers (default 8 9 10 11: the sorts, the join and the
# transform).  Each query runs in a process of its own on each side,
# taskgraph and DuckDB alternating, so both see the same machine state.
#
# DuckDB is installed from npm (@duckdb/node-api) into $DUCKDB_DIR
# (default /tmp/tg-duckdb) when missing: for this comparison only, never
# a dependency of taskgraph.  Its peak RSS includes the Node.js process
# it runs in; the "duckdb own" column subtracts Node's footprint with
# DuckDB started and no query run (query 0).  Builds build-bench
# (release) if needed.  Run from the repository root: make bench-df.
set -eu
path=${1:-/tmp/events.csv}
threads=${2:-2}
rounds=${3:-3}
[ $# -gt 3 ] && shift 3 || set --
queries=${*:-8 9 10 11}
build=${BENCH_BUILD:-build-bench}
duck=${DUCKDB_DIR:-/tmp/tg-duckdb}

command -v node >/dev/null || {
    echo "compare_df: installing nodejs and npm for DuckDB"
    sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get install -y -q nodejs npm >/dev/null
}
if [ ! -d "$duck/node_modules/@duckdb/node-api" ]; then
    echo "compare_df: installing DuckDB (@duckdb/node-api) into $duck"
    mkdir -p "$duck"
    npm install --prefix "$duck" --no-audit --no-fund --silent \
        @duckdb/node-api >/dev/null
fi
[ -x "$build/bench/bench_df" ] || {
    [ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release
    ninja -C "$build" bench/bench_df
}
[ -f "$path" ] || {
    echo "compare_df: writing $path (bench_df gen, 10 M rows)"
    "$build/bench/bench_df" gen "$path"
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
version=$(node -e "console.log(require('$duck/node_modules/@duckdb/node-api/package.json').version)")
echo "compare_df: $path, $threads threads, best of $rounds; DuckDB $version"

node bench/duckdb_df.cjs "$duck" "$path" "$threads" 0 >"$tmp/base"
: >"$tmp/tg"
: >"$tmp/dk"
for r in $(seq "$rounds"); do
    for q in $queries; do
        # bench_df prints the scan baseline, then the query: name (42
        # columns), wall s, x scan, peak MiB, MB/s/thread, answer.
        "$build/bench/bench_df" run "$path" "$threads" 16 "$q" >"$tmp/out" ||
            { cat "$tmp/out"; exit 1; }
        grep -v '^[0-9]*,\|^id,' "$tmp/out" | sed -n '4p' |
            awk -v q="$q" '{ s = substr($0, 44); split(s, f, " ");
                             name = substr($0, 1, 42); sub(/ +$/, "", name);
                             print q "\t" f[1] "\t" f[3] "\t" name }' >>"$tmp/tg"
        node bench/duckdb_df.cjs "$duck" "$path" "$threads" "$q" |
            awk -v q="$q" '{ print q "\t" $3 "\t" $4 }' >>"$tmp/dk"
    done
done

echo
printf '%-42s %9s %9s %7s   %9s %9s %9s\n' query "tg s" "duckdb s" "ratio" \
    "tg MiB" "duckdb" "own"
awk -F '\t' -v base="$(awk '{ print $4 }' "$tmp/base")" -v qs="$queries" '
    FILENAME == ARGV[1] { if (!($1 in tw) || $2 < tw[$1]) {
                              tw[$1] = $2; tm[$1] = $3 }
                          name[$1] = $4; next }
    { if (!($1 in dw) || $2 < dw[$1]) { dw[$1] = $2; dm[$1] = $3 } }
    END {
        n = split(qs, order, " ")
        for (i = 1; i <= n; i++) {
            q = order[i]
            printf "%-42s %9.3f %9.3f %6.2fx   %9.1f %9.1f %9.1f\n", name[q],
                   tw[q], dw[q], tw[q] / dw[q], tm[q], dm[q], dm[q] - base
        }
    }' "$tmp/tg" "$tmp/dk"
echo "(ratio: taskgraph time / DuckDB time, under 1 is faster; DuckDB's own"
echo " MiB is its peak less Node.js with DuckDB started, $(awk '{ print $4 }' "$tmp/base") MiB)"
