#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""xenib benchmark: Debian's perftest on xenib0 beside same-run baselines.

One invocation measures, on this machine and in this order of repeats:
  xenib (emulated hypervisor): ib_write_bw, ib_send_bw, ib_read_bw across
      sizes; ib_write_lat, ib_send_lat; 8-byte RDMA-write message rate;
  baselines: single-core memcpy bandwidth (the physical limit of a one-copy
      path), UCX shared memory (ucx_perftest, UCX_TLS=sm), TCP loopback;
and prints every xenib figure as a ratio to its baselines, as the median
over the repeats with the spread (min..max).  Not a test: it asserts nothing
except that the tools ran; the bars of issue 3 are reported as MET/MISSED.

Placement: perftest and ucx_perftest servers run on CPU 0, clients on CPU 1;
xenibd is not pinned (it shares both cores with the two guests); the TCP
baseline pins its two processes the same way.
"""
import argparse
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

BW_SIZES = [8, 64, 512, 4096, 65536, 1048576]
LAT_SIZES = [8, 4096]
PORT = [18800]


def iters_for(size, lat=False):
    if lat:
        return 20000
    if size <= 4096:
        return 50000
    if size <= 65536:
        return 10000
    return 1000


def next_port():
    PORT[0] += 1
    return PORT[0]


def run(cmd, env=None, timeout=120):
    p = subprocess.run(cmd, env=env, timeout=timeout, capture_output=True,
                       text=True)
    if p.returncode:
        raise RuntimeError('%s failed (%d): %s' % (' '.join(cmd), p.returncode,
                                                   (p.stdout + p.stderr)[-600:]))
    return p.stdout


def server_client(server, client, env, timeout=120):
    """Start server, then the client with retries until it connects."""
    srv = subprocess.Popen(server, env=env, stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, text=True)
    try:
        out = None
        for _ in range(40):
            time.sleep(0.15)
            p = subprocess.run(client, env=env, timeout=timeout,
                               capture_output=True, text=True)
            if p.returncode == 0:
                out = p.stdout
                break
            if srv.poll() is not None:
                break
        srv.wait(timeout=timeout)
        if out is None:
            raise RuntimeError('%s: %s' % (' '.join(client),
                                           (p.stdout + p.stderr)[-600:]))
        return out
    finally:
        if srv.poll() is None:
            srv.kill()
            srv.wait()


def pin(cpu, cmd):
    return ['taskset', '-c', str(cpu)] + cmd if shutil.which('taskset') else cmd


# ---------------------------------------------------------------- xenib ---

class Xenib:
    def __init__(self, build, xenibd_args):
        self.build = build
        self.dir = tempfile.mkdtemp(prefix='xenib-bench.')
        run_dir = os.path.join(self.dir, 'run')
        self.env = dict(os.environ,
                        LD_LIBRARY_PATH=os.path.join(build, 'lib'),
                        IBV_CONFIG_DIR=os.path.join(build, 'etc/libibverbs.d'),
                        IBV_PROVIDER_DIR=os.path.join(build, 'lib'),
                        XENIB_EMU_DIR=run_dir)
        self.log = open(os.path.join(self.dir, 'xenibd.log'), 'w')
        self.proc = subprocess.Popen(
            [os.path.join(build, 'bin/xenibd'), '-d', run_dir, '-f'] +
            xenibd_args, stdout=self.log, stderr=subprocess.STDOUT)
        for _ in range(100):
            if os.path.exists(os.path.join(run_dir, 'xenib0.sock')):
                return
            time.sleep(0.05)
        raise RuntimeError('xenibd did not start')

    def stop(self):
        self.proc.terminate()
        self.proc.wait(timeout=10)
        shutil.rmtree(self.dir, ignore_errors=True)

    def perftest(self, tool, size, extra=()):
        lat = tool.endswith('_lat')
        port = str(next_port())
        args = ['-d', 'xenib0', '-F', '-p', port, '-s', str(size),
                '-n', str(iters_for(size, lat))] + list(extra)
        out = server_client(pin(0, [tool] + args),
                            pin(1, [tool] + args + ['127.0.0.1']), self.env)
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 5 and f[0] == str(size) and f[1].isdigit():
                if lat:   # t_min t_max t_typical t_avg t_stdev p99 p99.9
                    return {'typ': float(f[4]), 'avg': float(f[5]),
                            'p99': float(f[7])}
                return {'bw': float(f[3]), 'mpps': float(f[4])}
        raise RuntimeError('no result line from %s:\n%s' % (tool, out[-800:]))


# ------------------------------------------------------------ baselines ---

def memcpy_bw(build, size):
    out = run(pin(1, [os.path.join(build, 'bin/memcpy_bw'), str(size), '0.3']))
    return float(out.split()[1])


def tcp(build, mode, size, iters):
    out = run([os.path.join(build, 'bin/tcp_loop'), mode, str(size),
               str(iters)])
    return float(out.split()[1])


def ucx(test, size, iters):
    if not shutil.which('ucx_perftest'):
        return None
    env = dict(os.environ, UCX_TLS='sm,self')
    port = str(next_port())
    out = server_client(pin(0, ['ucx_perftest', '-p', port]),
                        pin(1, ['ucx_perftest', '127.0.0.1', '-p', port, '-t',
                                test, '-s', str(size), '-n', str(iters),
                                '-f', '-v']), env)
    rows = [l for l in out.splitlines() if re.match(r'^\d', l)]
    f = rows[-1].split(',')
    # iterations, p50 lat, avg lat, overall lat, avg bw MB/s, overall bw,
    # avg msg rate, overall msg rate
    return {'lat': float(f[1]), 'bw': float(f[4]) * 1.048576,   # MiB -> MB
            'mpps': float(f[6]) / 1e6}


# ---------------------------------------------------------------- stats ---

def med(xs):
    xs = [x for x in xs if x is not None]
    return statistics.median(xs) if xs else None


def fmt(xs, unit, digits=2):
    xs = [x for x in xs if x is not None]
    if not xs:
        return 'n/a'
    return '%.*f %s [%.*f..%.*f]' % (digits, statistics.median(xs), unit,
                                    digits, min(xs), digits, max(xs))


def ratio(a, b):
    return '%.2fx' % (a / b) if a and b else 'n/a'


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--build', default='build')
    ap.add_argument('--repeats', type=int, default=3)
    ap.add_argument('--quick', action='store_true',
                    help='fewer sizes (smoke run)')
    ap.add_argument('--plot', metavar='DIR',
                    help='write bandwidth/latency-vs-size PNGs (gnuplot)')
    ap.add_argument('--xenibd-args', default='',
                    help='extra xenibd options, e.g. "-s 0"')
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    sizes = [8, 4096, 65536, 1048576] if a.quick else BW_SIZES

    R = {}   # key -> list of values over repeats

    def add(key, val):
        R.setdefault(key, []).append(val)

    print('xenib benchmark: %d repeats, %d cores, %s' %
          (a.repeats, os.cpu_count(), time.strftime('%Y-%m-%d %H:%M:%S')))
    print('placement: servers cpu0, clients cpu1, xenibd unpinned '
          '(3 busy threads on %d cores for latency tests)' % os.cpu_count())
    x = Xenib(build, a.xenibd_args.split())
    try:
        for rep in range(a.repeats):
            print('repeat %d/%d ...' % (rep + 1, a.repeats), flush=True)
            for tool in ('ib_write_bw', 'ib_send_bw', 'ib_read_bw'):
                for s in sizes:
                    r = x.perftest(tool, s)
                    add((tool, s, 'bw'), r['bw'])
                    add((tool, s, 'mpps'), r['mpps'])
            for tool in ('ib_write_lat', 'ib_send_lat'):
                for s in LAT_SIZES:
                    r = x.perftest(tool, s)
                    for k in ('typ', 'avg', 'p99'):
                        add((tool, s, k), r[k])
            for s in sizes:
                add(('memcpy', s), memcpy_bw(build, s))
                u = ucx('ucp_put_bw', s, iters_for(s))
                if u:
                    add(('ucx_bw', s), u['bw'])
                    add(('ucx_mpps', s), u['mpps'])
            for s in LAT_SIZES:
                u = ucx('ucp_put_lat', s, iters_for(s, True))
                if u:
                    add(('ucx_lat', s), u['lat'])
                add(('tcp_lat', s), tcp(build, 'lat', s, 20000))
            for s in (65536, 1048576):
                add(('tcp_bw', s), tcp(build, 'bw', s, 20000 if s < 1 << 20 else 2000))
    finally:
        x.stop()

    print()
    print('Bandwidth, MB/s (10^6 B/s): median [min..max] over %d repeats' %
          a.repeats)
    print('%-12s %8s  %-28s %-28s %-28s' % ('tool', 'size', 'xenib', 'memcpy',
                                          'ucx sm put'))
    for tool in ('ib_write_bw', 'ib_send_bw', 'ib_read_bw'):
        for s in sizes:
            xb, mc, ub = (R[(tool, s, 'bw')], R[('memcpy', s)],
                          R.get(('ucx_bw', s), []))
            tb = R.get(('tcp_bw', s))
            print('%-12s %8d  %-28s %-28s %-28s %s' % (
                tool, s, fmt(xb, '', 0), fmt(mc, '', 0), fmt(ub, '', 0),
                'xenib/memcpy %s  xenib/ucx %s%s' % (
                    ratio(med(xb), med(mc)), ratio(med(xb), med(ub)),
                    ('  xenib/tcp %s' % ratio(med(xb), med(tb))) if tb else '')))
    print()
    print('Latency, usec (perftest t_typical / t_avg / p99; ucx p50; tcp '
          'half round trip)')
    for tool in ('ib_write_lat', 'ib_send_lat'):
        for s in LAT_SIZES:
            t, av, p99 = (R[(tool, s, 'typ')], R[(tool, s, 'avg')],
                          R[(tool, s, 'p99')])
            ul, tl = R.get(('ucx_lat', s), []), R[('tcp_lat', s)]
            print('%-12s %6d  typ %-22s avg %-22s p99 %-22s ucx %-20s tcp %-20s '
                  'typ/ucx %s  typ/tcp %s' % (
                      tool, s, fmt(t, ''), fmt(av, ''), fmt(p99, ''),
                      fmt(ul, '', 3), fmt(tl, ''), ratio(med(t), med(ul)),
                      ratio(med(t), med(tl))))
    print()
    mr = R[('ib_write_bw', 8, 'mpps')]
    umr = R.get(('ucx_mpps', 8), [])
    print('Message rate, 8-byte RDMA write, one QP: %s Mpps; ucx sm put %s '
          'Mpps; xenib/ucx %s' % (fmt(mr, ''), fmt(umr, ''),
                                   ratio(med(mr), med(umr))))
    print()
    print('Bars (issue 3):')
    for s in [s for s in sizes if s >= 65536]:
        r = med(R[('ib_write_bw', s, 'bw')]) / med(R[('memcpy', s)])
        print('  ib_write_bw %7d B >= 0.7 x memcpy: %.2f  %s' %
              (s, r, 'MET' if r >= 0.7 else 'MISSED'))
    print('  8-byte write rate >= 3 Mpps on one QP: %.2f  %s' %
          (med(mr), 'MET' if med(mr) >= 3 else 'MISSED'))

    if a.plot:
        plot(a.plot, R, sizes)


def plot(outdir, R, sizes):
    if not shutil.which('gnuplot'):
        print('gnuplot not installed: no plots')
        return
    os.makedirs(outdir, exist_ok=True)
    data = os.path.join(outdir, 'bw.dat')
    with open(data, 'w') as f:
        f.write('# size write send read memcpy ucx\n')
        for s in sizes:
            f.write('%d %s\n' % (s, ' '.join(
                str(med(R.get(k, [])) or 'NaN') for k in (
                    ('ib_write_bw', s, 'bw'), ('ib_send_bw', s, 'bw'),
                    ('ib_read_bw', s, 'bw'), ('memcpy', s), ('ucx_bw', s)))))
    lat = os.path.join(outdir, 'lat.dat')
    with open(lat, 'w') as f:
        f.write('# size write_typ send_typ ucx tcp\n')
        for s in LAT_SIZES:
            f.write('%d %s\n' % (s, ' '.join(
                str(med(R.get(k, [])) or 'NaN') for k in (
                    ('ib_write_lat', s, 'typ'), ('ib_send_lat', s, 'typ'),
                    ('ucx_lat', s), ('tcp_lat', s)))))
    script = '''
set terminal png size 900,600 noenhanced
set logscale xy
set grid
set key left top
set xlabel "message size (bytes)"
set output "%(o)s/bandwidth.png"
set ylabel "MB/s"
set title "xenib bandwidth vs baselines (median)"
plot "%(b)s" u 1:2 w lp t "ib_write_bw", "" u 1:3 w lp t "ib_send_bw", \\
     "" u 1:4 w lp t "ib_read_bw", "" u 1:5 w lp t "memcpy 1 core", \\
     "" u 1:6 w lp t "UCX sm put"
set output "%(o)s/latency.png"
set ylabel "usec"
set title "xenib latency vs baselines (median of typical)"
plot "%(l)s" u 1:2 w lp t "ib_write_lat", "" u 1:3 w lp t "ib_send_lat", \\
     "" u 1:4 w lp t "UCX sm put", "" u 1:5 w lp t "TCP loopback"
''' % {'o': outdir, 'b': data, 'l': lat}
    subprocess.run(['gnuplot'], input=script, text=True, check=True)
    print('plots: %s/bandwidth.png %s/latency.png' % (outdir, outdir))


if __name__ == '__main__':
    try:
        main()
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print('benchmark failed: %s' % e, file=sys.stderr)
        sys.exit(1)
