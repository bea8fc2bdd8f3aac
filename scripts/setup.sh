#!/bin/sh
# scripts/setup.sh - install the Debian packages taskgraph builds and tests
# with, if any are missing.  Used by `make demo` and `make test`.
set -eu
# libopenblas-pthread-dev: the array layer's BLAS (array/linalg.c runs
# it single-threaded inside each task; the pthread build is safe to call
# from several threads at once, and is the one NumPy uses too).
PKGS="gcc g++ make pkg-config meson ninja-build libuv1-dev libjansson-dev
libgraphviz-dev libcmocka-dev libxxhash-dev libxml2-dev valgrind python3
clang-format clang libclang-rt-14-dev libssl-dev libopenblas-dev
libopenblas-pthread-dev openmpi-bin"
missing=""
for p in $PKGS; do
    if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed"; then
        missing="$missing $p"
    fi
done
[ -z "$missing" ] && exit 0
echo "setup: installing$missing"
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# shellcheck disable=SC2086
$SUDO apt-get install -y -qq --no-install-recommends $missing
