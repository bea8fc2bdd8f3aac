#!/usr/bin/python3
"""bench/dask_dist.py - bench_dist's shapes on dask.distributed.

The comparison for bench/bench_dist.c: a LocalCluster of 2 worker
processes x 1 thread on loopback, the same tasks and the same way of
measuring, one "name value unit" line per figure.  Dask is far slower per
task, so the counts are smaller (a rate or a per-step time does not
depend on them much); the scheduler runs in this process, as
LocalCluster does, so its idle figures include this client.

Needs Debian's python3-distributed (bench/compare_dist.sh installs it);
never a dependency of taskgraph.  Usage: dask_dist.py [--quick]
"""
import os
import struct
import sys
import time

import dask
from dask.distributed import Client, LocalCluster

QUICK = "--quick" in sys.argv
TASKS = 2000 if QUICK else 10000
CHAIN = 200 if QUICK else 1000
ROUND_TRIPS = 50 if QUICK else 200
SUBMIT = 2000 if QUICK else 20000
BLOB = (4 if QUICK else 64) << 20
ROUNDS = 2 if QUICK else 16
IDLE_S = 1 if QUICK else 10


def inc(x):
    return x + 1


def stamp(i):
    return time.monotonic_ns()


def first(*xs):
    return min(xs)


def blob(n, i):
    b = bytearray(n)
    struct.pack_into("<qQ", b, 0, os.getpid(), time.monotonic_ns())
    return b


def take(a, b):
    start = time.monotonic_ns()
    remote = latest = 0
    for x in (a, b):
        pid, done = struct.unpack_from("<qQ", x, 0)
        if pid != os.getpid():
            remote += len(x)
            latest = max(latest, done)
    return [remote, start, latest]


def out(name, value, unit):
    print(f"{name} {value} {unit}", flush=True)


def usage(pids):
    """RSS (MiB) and CPU seconds of the processes pids."""
    rss = cpu = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    page = os.sysconf("SC_PAGE_SIZE")
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        cpu += (int(fields[11]) + int(fields[12])) / tick
        rss += int(fields[21]) * page / 1048576
    return rss, cpu


def cluster_pids():
    """This process (scheduler and client) and its descendants (the
    nannies and the workers)."""
    parent = {}
    for name in os.listdir("/proc"):
        if name.isdigit():
            try:
                with open(f"/proc/{name}/stat") as f:
                    parent[int(name)] = int(f.read().rsplit(")", 1)[1].split()[1])
            except OSError:
                pass
    pids = [os.getpid()]
    for pid in pids:  # grows as it goes: a breadth-first walk
        pids.extend(c for c, p in parent.items() if p == pid)
    return pids


def idle():
    pids = cluster_pids()
    _, a = usage(pids)
    time.sleep(IDLE_S)
    rss, b = usage(pids)
    out("idle_rss", f"{rss:.1f}", "MiB")
    out("idle_cpu", f"{(b - a) / IDLE_S * 100:.2f}", "%")


def main():
    t0 = time.monotonic()
    cluster = LocalCluster(n_workers=2, threads_per_worker=1, processes=True,
                           dashboard_address=None)
    client = Client(cluster)
    out("cluster_start", f"{time.monotonic() - t0:.3f}", "s")
    idle()

    us = []
    for i in range(ROUND_TRIPS):
        t0 = time.monotonic()
        assert client.submit(inc, i, pure=False).result() == i + 1
        us.append((time.monotonic() - t0) * 1e6)
    us.sort()
    out("round_trip_median", f"{us[len(us) // 2]:.1f}", "us")
    out("round_trip_p90", f"{us[len(us) * 9 // 10]:.1f}", "us")

    t0 = time.monotonic()
    res = client.gather(client.map(inc, range(TASKS), pure=False))
    secs = time.monotonic() - t0
    assert res == list(range(1, TASKS + 1))
    out("throughput", f"{TASKS / secs:.0f}", "tasks/s")

    x = dask.delayed(inc)(0)
    for _ in range(CHAIN - 1):
        x = dask.delayed(inc)(x)
    t0 = time.monotonic()
    assert client.compute(x, optimize_graph=False).result() == CHAIN
    out("chain_step", f"{(time.monotonic() - t0) / CHAIN * 1e6:.1f}", "us")

    level = [dask.delayed(stamp)(i) for i in range(SUBMIT)]
    while len(level) > 1:
        level = [dask.delayed(first)(*level[i:i + 32])
                 for i in range(0, len(level), 32)]
    t0 = time.monotonic_ns()
    earliest = client.compute(level[0], optimize_graph=False).result()
    done = time.monotonic_ns()
    out(f"submit_{SUBMIT}", f"{(earliest - t0) / 1e9:.3f}", "s")
    out(f"graph_{SUBMIT}", f"{(done - t0) / 1e9:.3f}", "s")
    out("submit_per_task", f"{(earliest - t0) / 1e3 / SUBMIT:.2f}", "us")

    workers = sorted(client.scheduler_info()["workers"])
    moved = secs = 0.0
    for i in range(ROUNDS):
        a = client.submit(blob, BLOB, 2 * i, workers=[workers[0]],
                          pure=False)
        b = client.submit(blob, BLOB, 2 * i + 1, workers=[workers[1]],
                          pure=False)
        remote, start, latest = client.submit(
            take, a, b, workers=[workers[0]], pure=False).result()
        if remote:
            moved += remote
            secs += (start - latest) / 1e9
        del a, b
    if secs:
        out("transfer", f"{moved / secs / 1e9:.2f}", "GB/s")
    out("transfer_bytes", f"{moved:.0f}", "B")
    idle()
    client.close()
    cluster.close()


if __name__ == "__main__":
    main()
