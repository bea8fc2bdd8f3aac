#!/bin/sh
# bench/bench_array.sh [N] [c] [T] [R] [gemm] - bench_array (release
# build) and then NumPy on the same expressions, both on T threads:
#   y = x x^T - mean(x, 0)   and   sum(sqrt(abs(x * 2 + 1)))
# with x = random((N, N)) (and x y when gemm is 1).  NumPy is Debian's
# python3-numpy under /usr/bin/python3 with libopenblas0 installed, so
# that its BLAS is OpenBLAS (the script prints the library it mapped).
# These packages are for the comparison only: this script installs them
# if missing; scripts/setup.sh and the tests never need them.
# Defaults: 10000 1000 2 3 1.
set -eu
N=${1:-10000}
C=${2:-1000}
T=${3:-2}
R=${4:-3}
GEMM=${5:-1}
cd "$(dirname "$0")/.."

missing=""
for p in python3-numpy libopenblas0; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "ok installed" \
        || missing="$missing $p"
done
if [ -n "$missing" ]; then
    echo "bench_array.sh: installing$missing (for the NumPy comparison)"
    SUDO=""
    [ "$(id -u)" -eq 0 ] || SUDO="sudo"
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends $missing
fi

make -s build-bench/build.ninja
ninja -C build-bench bench/bench_array >/dev/null
./build-bench/bench/bench_array "$N" "$C" "$T" "$R" "$GEMM"

echo
OPENBLAS_NUM_THREADS=$T OMP_NUM_THREADS=$T /usr/bin/python3 - "$N" "$R" "$GEMM" <<'PY'
import os
import sys
import time

import numpy as np

n, reps, gemm = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3])


def kib(field):
    with open('/proc/self/status') as f:
        for line in f:
            if line.startswith(field + ':'):
                return int(line.split()[1])
    return -1


def reset_peak():
    with open('/proc/self/clear_refs', 'w') as f:
        f.write('5')


def measure(fn):
    best, worst, peak = None, 0.0, 0
    for _ in range(reps):
        base = kib('VmRSS')
        reset_peak()
        t0 = time.perf_counter()
        r = fn()
        t = time.perf_counter() - t0
        peak = max(peak, kib('VmHWM') - base)
        del r
        best = t if best is None else min(best, t)
        worst = max(worst, t)
    return best, worst, peak


def row(what, fig, work, unit):
    best, worst, peak = fig
    print(f'{what:<36} {best:8.3f} {worst:8.3f} {work / best:9.2f} '
          f'{unit:<7} {peak / 1024:8.0f}')


blas = sorted({os.path.realpath(line.split()[-1])
               for line in open('/proc/self/maps')
               if 'blas' in line.split()[-1] or 'lapack' in line.split()[-1]})
print(f'NumPy {np.__version__}, {os.environ["OPENBLAS_NUM_THREADS"]} BLAS '
      f'threads, BLAS libraries mapped: {", ".join(blas) or "none"}')
x = np.random.default_rng(1).random((n, n))
n3, nbytes = float(n) ** 3, 8.0 * n * n
print(f'{"":<36} {"best s":>8} {"worst s":>8} {"rate":>9} {"":<7} '
      f'{"peak MB":>8}')
row('NumPy x @ x.T', measure(lambda: x @ x.T), n3 / 1e9, 'GFLOP/s')
row('NumPy x @ x.T - x.mean(axis=0)',
    measure(lambda: x @ x.T - x.mean(axis=0)), n3 / 1e9, 'GFLOP/s')
row('NumPy np.sum(np.sqrt(np.abs(x*2+1)))',
    measure(lambda: np.sum(np.sqrt(np.abs(x * 2 + 1)))), nbytes / 1e9, 'GB/s')
if gemm:
    y = np.random.default_rng(2).random((n, n))
    row('NumPy x @ y', measure(lambda: x @ y), 2 * n3 / 1e9, 'GFLOP/s')
PY
