#!/usr/bin/env python3
"""What one durable flush costs this host's CPU, beside the work it competes with.

The audit's segment-file store makes each group commit durable with one write and one fdatasync over space zeroed
ahead. On a virtual machine a flush can cost far more CPU than its latency suggests (the device's notification and
completion are handled by the guest's kernel). This measures it as the benchmarks measure everything else, as a ratio
within one run: N processes spin on the host's cores, first alone and then beside a loop of 4 KiB write + fdatasync
calls; the spinning lost while the flushes ran, divided by the flushes made, is the CPU one flush takes from other
work. It also prints the flush loop's own latency and process CPU per flush.

    python3 bench/flush-cost.py [--seconds 4] [--dir DIR] [--mode fdatasync|dsync|direct]

DIR is where the file goes (default: the working directory); run it on the disk the audit's segments use, on an
otherwise quiet host (other work on the cores moves the spinners' baseline). --mode says how each 4 KiB is made durable:
fdatasync (a write, then fdatasync: what the segment store does; the default), dsync (one write to a file opened with
O_DSYNC) or direct (one write from an aligned buffer to a file opened with O_DIRECT and O_DSYNC, past the page cache).
"""
import argparse, mmap, multiprocessing as mp, os, time

def spin(seconds, out):
    end = time.monotonic() + seconds
    n = 0
    while time.monotonic() < end:
        for _ in range(10000):
            pass
        n += 1
    out.put(n)

SIZE = 16 << 20

def prepare(path):
    # The space the flushes write over, written and flushed before anything is measured (as the store zeroes ahead).
    fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    os.pwrite(fd, b"\0" * SIZE, 0)
    os.fsync(fd)
    os.close(fd)

def flush_loop(path, seconds, mode, out):
    flags = os.O_RDWR | (os.O_DSYNC if mode in ("dsync", "direct") else 0) | (os.O_DIRECT if mode == "direct" else 0)
    fd = os.open(path, flags)
    size = SIZE
    # An anonymous map is page-aligned, as O_DIRECT needs.
    data = mmap.mmap(-1, 4096)
    data.write(b"a" * 4096)
    start, cpu0 = time.monotonic(), os.times()
    n = off = 0
    while time.monotonic() - start < seconds:
        os.pwrite(fd, data, off)
        if mode == "fdatasync":
            os.fdatasync(fd)
        off = (off + len(data)) % size
        n += 1
    cpu1, wall = os.times(), time.monotonic() - start
    os.close(fd)
    out.put((n, wall, (cpu1.user - cpu0.user) + (cpu1.system - cpu0.system)))

def spinners(count, seconds, extra=None):
    out = mp.Queue()
    procs = [mp.Process(target=spin, args=(seconds, out)) for _ in range(count)]
    if extra:
        procs.append(extra(out))
    for p in procs:
        p.start()
    for p in procs:
        p.join()
    results = [out.get() for _ in procs]
    return sum(r for r in results if isinstance(r, int)), next((r for r in results if isinstance(r, tuple)), None)

def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=4)
    parser.add_argument("--dir", default=".")
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--mode", choices=["fdatasync", "dsync", "direct"], default="fdatasync")
    args = parser.parse_args()
    cores = os.cpu_count() or 1
    path = os.path.join(args.dir, f"flush-cost-{os.getpid()}.dat")
    print(f"flush cost: {cores} cores, {cores} spinning processes, {args.seconds}s per measurement, {args.rounds} rounds, {args.mode}, file in {os.path.abspath(args.dir)}")
    alone_total = beside_total = flushes = 0
    wall = cpu = 0.0
    prepare(path)
    try:
        for _ in range(args.rounds):
            alone, _ = spinners(cores, args.seconds)
            beside, flushed = spinners(cores, args.seconds, lambda out: mp.Process(target=flush_loop, args=(path, args.seconds, args.mode, out)))
            alone_total += alone
            beside_total += beside
            flushes += flushed[0]
            wall += flushed[1]
            cpu += flushed[2]
    finally:
        os.unlink(path)
    spin_rate = alone_total / (args.rounds * args.seconds * cores)  # spins per second per core, alone
    lost_core_seconds = (alone_total - beside_total) / spin_rate
    print(f"| flushes/s beside the spinners | latency per flush (µs) | flush loop's own CPU per flush (µs) | CPU taken from the spinners per flush (µs) |")
    print(f"|---|---|---|---|")
    print(f"| {flushes / wall:,.0f} | {wall / flushes * 1e6:,.1f} | {cpu / flushes * 1e6:,.1f} | {lost_core_seconds / flushes * 1e6:,.1f} |")
    print(f"spinning beside the flushes / alone: {beside_total / alone_total:.2f}x")

if __name__ == "__main__":
    main()
