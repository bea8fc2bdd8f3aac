#!/bin/sh
# tests/test_mpi.sh TG_MPI PRELOAD CLIENT - a cluster from one mpirun.
#
# Starts `mpirun -n 4 tg-mpi` (OpenMPI, one machine): rank 0 the
# scheduler, rank 1 CLIENT (tests/mpi_client.c), ranks 2 and 3 workers
# loading PRELOAD.  Passes when CLIENT passes and every rank has ended
# by itself (tg-mpi stops the cluster when its program ends).  mpirun
# runs in a session of its own, killed whole on a timeout or failure.
set -u
tg_mpi=$1 preload=$2 client=$3
if ! command -v mpirun >/dev/null; then
    echo "test_mpi: mpirun is missing (scripts/setup.sh installs openmpi-bin)"
    exit 1
fi
dir=$(mktemp -d /tmp/tg-mpi-XXXXXX)
pid=
cleanup() {
    [ -n "$pid" ] && kill -KILL -- "-$pid" 2>/dev/null
    rm -rf "$dir"
}
trap cleanup EXIT INT TERM

# OpenMPI wants a writable home for its session files, and root needs
# --allow-run-as-root; no network transport is used (tg-mpi only needs
# the processes), so keep OpenMPI to its local ones.
export OMPI_MCA_btl=self,vader OMPI_MCA_plm_rsh_agent=false
export TMPDIR="$dir"
setsid mpirun --oversubscribe --allow-run-as-root -n 4 \
    "$tg_mpi" --scheduler-file "$dir/scheduler" --preload "$preload" \
    --nthreads 1 --quiet --timeout 60 -- "$client" >"$dir/log" 2>&1 &
pid=$!
waited=0
while kill -0 "$pid" 2>/dev/null; do
    if [ $waited -ge 1200 ]; then
        echo "test_mpi: mpirun did not end within 120 s"
        cat "$dir/log"
        exit 1
    fi
    sleep 0.1
    waited=$((waited + 1))
done
wait "$pid"
status=$?
pid=
cat "$dir/log"
if [ $status -ne 0 ]; then
    echo "test_mpi: mpirun exited with $status"
    exit 1
fi
grep -q "the cluster agrees with sync" "$dir/log" || exit 1
[ -e "$dir/scheduler" ] && { echo "test_mpi: the scheduler file is left"; exit 1; }
echo "test_mpi: OK"
