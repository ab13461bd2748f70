#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Fairness: an ib_send_lat pair beside a guest posting 1 GiB RDMA writes.

One invocation, on the emulated hypervisor, repeated --repeats times:
  idle:   ib_send_lat -s 8 between two guests, nothing else running;
  loaded: the same, while a third and fourth guest run
          ib_write_bw -s 1GiB (1 GiB WRITEs back to back, as many as the
          latency run lasts);
and prints the pair's typical and 99.9th-percentile latency loaded against
idle (median and spread over the repeats).  Before the engine cut messages
into 1 MiB requests, each 1 GiB WRITE held the backend for the length of a
1 GiB memcpy (tens of milliseconds) and the pair waited behind it.

Placement: the latency pair on CPU 0 (server) and CPU 1 (client), the
writer pair likewise, xenibd unpinned: 5 processes on 2 cores.
"""
import argparse
import os
import re
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xenib_bench import Xenib, next_port, pin  # noqa: E402

GIB = 1 << 30


def lat_run(x, iters):
    port = str(next_port())
    args = ['-d', 'xenib0', '-F', '-p', port, '-s', '8', '-n', str(iters)]
    srv = subprocess.Popen(pin(0, ['ib_send_lat'] + args), env=x.env,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                           text=True)
    out = None
    for _ in range(60):
        time.sleep(0.2)
        p = subprocess.run(pin(1, ['ib_send_lat'] + args + ['127.0.0.1']),
                           env=x.env, capture_output=True, text=True,
                           timeout=300)
        if p.returncode == 0:
            out = p.stdout
            break
    srv.wait(timeout=60)
    if out is None:
        raise RuntimeError('ib_send_lat failed: ' + p.stdout[-400:])
    row = [line for line in out.splitlines()
           if re.match(r'^\s*8\s+\d+', line)][-1].split()
    # bytes iters t_min t_max t_typical t_avg t_stdev 99% 99.9%
    return float(row[4]), float(row[8])


def writer(x):
    port = str(next_port())
    args = ['-d', 'xenib0', '-F', '-p', port, '-s', str(GIB), '-n', '1000',
            '--run_infinitely', '-D', '1', '-e']
    srv = subprocess.Popen(pin(0, ['ib_write_bw'] + args), env=x.env,
                           stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
    time.sleep(1.0)
    cli = subprocess.Popen(pin(1, ['ib_write_bw'] + args + ['127.0.0.1']),
                           env=x.env, stdout=subprocess.DEVNULL,
                           stderr=subprocess.STDOUT)
    return srv, cli


def wqes(x):
    out = subprocess.run([os.path.join(x.build, 'bin/xenibctl'), '-d',
                          os.path.join(x.dir, 'run'), 'stats'],
                         capture_output=True, text=True).stdout
    m = re.search(r'^wqes (\d+)', out, re.M)
    return int(m.group(1)) if m else 0


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument('--build', default='build')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--iters', type=int, default=20000)
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    idle, loaded = [], []
    x = Xenib(build, [])
    try:
        for r in range(a.repeats):
            idle.append(lat_run(x, a.iters))
            srv, cli = writer(x)
            time.sleep(2.0)	# the writer is moving 1 GiB messages
            before = wqes(x)
            loaded.append(lat_run(x, a.iters))
            moved = wqes(x) - before
            for p in (cli, srv):
                p.terminate()
                p.wait(timeout=30)
            print('repeat %d: idle typical %.2f us (99.9%% %.2f), '
                  'loaded %.2f us (99.9%% %.2f), writer requests meanwhile '
                  '%d' % (r + 1, idle[-1][0], idle[-1][1], loaded[-1][0],
                          loaded[-1][1], moved), flush=True)
    finally:
        x.stop()

    def med(v):
        return '%.2f (%.2f..%.2f)' % (statistics.median(v), min(v), max(v))
    print('ib_send_lat 8 B, idle:   typical %s us, 99.9%% %s us' %
          (med([i[0] for i in idle]), med([i[1] for i in idle])))
    print('ib_send_lat 8 B, beside 1 GiB writes: typical %s us, 99.9%% %s us'
          % (med([i[0] for i in loaded]), med([i[1] for i in loaded])))
    print('ratio loaded/idle: typical %.2fx, 99.9%% %.2fx' %
          (statistics.median([l[0] / i[0] for l, i in zip(loaded, idle)]),
           statistics.median([l[1] / i[1] for l, i in zip(loaded, idle)])))


if __name__ == '__main__':
    main()
