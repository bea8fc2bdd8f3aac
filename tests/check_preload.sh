#!/bin/sh
# tests/check_preload.sh BUILDDIR SRCDIR - a user's task library on an
# installed cluster, built as docs/deploying.md says.
#
# Installs the build into a scratch root; compiles tests/preload/squares.c
# into libsquares.so and tests/preload/main.c into a program linking it,
# each with nothing but `pkg-config --cflags --libs taskgraph`; starts the
# installed tg-scheduler (127.0.0.1, port 0, a scheduler file) and two
# installed tg-workers preloading the library; runs the program, which
# computes on them and then stops the cluster.  Passes when the program
# passes and every process has ended by itself.  Whatever is still
# running at the end (also on failure or timeout) is killed by its PID.
set -u
builddir=$1
src=$2
root=$(mktemp -d)
pids=""
cleanup() {
    for p in $pids; do kill -KILL "$p" 2>/dev/null; done
    rm -rf "$root"
}
trap cleanup EXIT
trap 'exit 1' INT TERM
fail() { echo "check_preload: $*"; echo "0 passed, 1 failed"; exit 1; }

meson install -C "$builddir" --destdir "$root" --no-rebuild --quiet \
    >"$root/install.log" 2>&1 || { cat "$root/install.log"; fail "install"; }
pcdir=$(dirname "$(find "$root" -name taskgraph.pc | head -n 1)")
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$root"
flags=$(pkg-config --cflags --libs taskgraph)
libdir=$(pkg-config --variable=libdir taskgraph)
bindir=$(dirname "$(find "$root" -name tg-worker -type f | head -n 1)")
[ -x "$bindir/tg-scheduler" ] || fail "tg-scheduler was not installed"

# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -shared -fPIC -o "$root/libsquares.so" \
    "$src/tests/preload/squares.c" $flags || fail "building the library"
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -o "$root/squares" "$src/tests/preload/main.c" \
    -L"$root" -lsquares $flags || fail "building the program"
export LD_LIBRARY_PATH="$libdir:$root"

file="$root/scheduler"
"$bindir/tg-scheduler" --port 0 --scheduler-file "$file" --quiet &
pids="$!"
waited=0
while [ ! -s "$file" ]; do
    [ $waited -ge 100 ] && fail "no scheduler file after 10 s"
    sleep 0.1
    waited=$((waited + 1))
done
for w in 1 2; do
    "$bindir/tg-worker" --scheduler-file "$file" --nthreads 1 --quiet \
        --name "w$w" --preload "$root/libsquares.so" &
    pids="$pids $!"
done
# The program waits for both workers (tg_wait_for_workers, 30 s).
"$root/squares" "$file" 1000 || fail "the program failed"
# The program stopped the scheduler; the workers follow it.
for p in $pids; do
    waited=0
    while kill -0 "$p" 2>/dev/null; do
        [ $waited -ge 100 ] && fail "process $p still runs 10 s after shutdown"
        sleep 0.1
        waited=$((waited + 1))
    done
    wait "$p" || fail "process $p exited with $?"
done
pids=""
[ -e "$file" ] && fail "the scheduler file is left behind"
echo "1 passed, 0 failed"
