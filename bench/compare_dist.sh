#!/bin/sh
# bench/compare_dist.sh [--quick] - bench_dist next to dask.distributed.
#
# Runs bench/bench_dist.c (a local cluster of 2 workers x 1 thread) and
# bench/dask_dist.py (Dask's LocalCluster of the same shape) one after
# the other on this machine, then prints each figure side by side with
# the ratio (how many times better taskgraph is) and the target.  Installs
# Debian's python3-distributed first when it is missing: for this
# comparison only, never a dependency of taskgraph.  Builds build-bench
# (release) if needed.  Run from the repository root: make bench-dist.
set -eu
quick=${1:-}
build=${BENCH_BUILD:-build-bench}
py=/usr/bin/python3

if ! $py -c 'import distributed' 2>/dev/null; then
    echo "compare_dist: installing python3-distributed for the comparison"
    sudo=; [ "$(id -u)" = 0 ] || sudo=sudo
    $sudo apt-get install -y -q python3-distributed >/dev/null
fi
[ -x "$build/bench/bench_dist" ] || {
    [ -f "$build/build.ninja" ] || meson setup "$build" --buildtype=release
    ninja -C "$build" bench/bench_dist
}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
echo "compare_dist: taskgraph ($build/bench/bench_dist $quick)"
"$build/bench/bench_dist" $quick | tee "$tmp/tg"
echo "compare_dist: dask.distributed (bench/dask_dist.py $quick)"
$py bench/dask_dist.py $quick 2>"$tmp/dask.err" | tee "$tmp/dask" || {
    cat "$tmp/dask.err"
    exit 1
}

# name, direction (higher or lower is better), target (in the unit)
cat >"$tmp/targets" <<'EOF'
throughput higher 100000
chain_step lower 50
round_trip_median lower 100
round_trip_p90 lower -
submit_per_task lower 2
idle_rss lower 30
idle_cpu lower 1
transfer higher -
cluster_start lower -
EOF
echo
echo "figure              taskgraph        dask     better by  target"
awk '
    FILENAME == ARGV[1] { dir[$1] = $2; target[$1] = $3; next }
    FILENAME == ARGV[2] { if (!($1 in tg)) { tg[$1] = $2; unit[$1] = $3 }
                          if ($1 == "socket_copy") sock = $2
                          if ($1 == "socket_copy_cached") sockc = $2; next }
    FILENAME == ARGV[3] { if (!($1 in dk)) dk[$1] = $2; next }
    END {
        n = split("throughput chain_step round_trip_median round_trip_p90 " \
                  "submit_per_task idle_rss idle_cpu transfer cluster_start",
                  order, " ")
        for (i = 1; i <= n; i++) {
            k = order[i]
            if (!(k in tg)) continue
            r = "-"
            if ((k in dk) && tg[k] > 0 && dk[k] > 0)
                r = sprintf("%.1fx", dir[k] == "higher" ? tg[k] / dk[k] \
                                                        : dk[k] / tg[k])
            t = target[k] == "-" ? "" : \
                (dir[k] == "higher" ? ">= " : "<= ") target[k] " " unit[k]
            if (k == "transfer")
                t = sprintf(">= %.2f GB/s (half the socket copy of %.2f; " \
                            "%.2f between cached buffers)", sock / 2, sock,
                            sockc)
            printf "%-18s %10s %11s %12s  %s\n", k, tg[k], \
                   (k in dk) ? dk[k] : "-", r, t
        }
        printf "(first idle figures: fresh processes; units as above, "
        printf "submit_per_task in us)\n"
    }' "$tmp/targets" "$tmp/tg" "$tmp/dask"
