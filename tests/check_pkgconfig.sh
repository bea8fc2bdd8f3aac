#!/bin/sh
# tests/check_pkgconfig.sh BUILDDIR SOURCE - install the build into a
# scratch root and compile an example against it with nothing but
# `pkg-config --cflags --libs taskgraph`, then run it.
set -eu
builddir=$1
src=$2
root=$(mktemp -d)
trap 'rm -rf "$root"' EXIT
meson install -C "$builddir" --destdir "$root" --no-rebuild --quiet \
    >"$root/install.log" 2>&1 || { cat "$root/install.log"; exit 1; }
pcdir=$(dirname "$(find "$root" -name taskgraph.pc | head -n 1)")
[ -n "$pcdir" ] || { echo "taskgraph.pc was not installed"; exit 1; }
export PKG_CONFIG_PATH="$pcdir" PKG_CONFIG_SYSROOT_DIR="$root"
flags=$(pkg-config --cflags --libs taskgraph)
# With a sysroot set, pkg-config already prefixes libdir with it.
libdir=$(pkg-config --variable=libdir taskgraph)
# shellcheck disable=SC2086
cc -std=c11 -Wall -Werror -o "$root/inc_add" "$src" $flags
out=$(LD_LIBRARY_PATH="$libdir" "$root/inc_add")
# The debugging suppressions are installed where pkg-config says.
suppdir=$(pkg-config --variable=suppdir taskgraph)
for f in valgrind.supp tsan.supp lsan.supp; do
    [ -s "$root$suppdir/$f" ] || [ -s "$suppdir/$f" ] || {
        echo "$f is not installed in $suppdir"; echo "0 passed, 1 failed"
        exit 1; }
done
case "$out" in
*"= 5") echo "pkg-config build runs: $out"; echo "1 passed, 0 failed" ;;
*) echo "unexpected output: $out"; echo "0 passed, 1 failed"; exit 1 ;;
esac
