#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""xenib benchmark: Debian's perftest on xenib0 beside same-run baselines.

One invocation measures, on this machine and in this order of repeats:
  xenib (emulated hypervisor): ib_write_bw, ib_send_bw, ib_read_bw across
      sizes; ib_write_lat, ib_send_lat; 8-byte RDMA-write message rate;
  baselines: single-core memcpy bandwidth (the physical limit of a one-copy
      path), UCX shared memory (ucx_perftest, UCX_TLS=sm), TCP loopback;
and prints every xenib figure as a ratio to its baselines, as the median
over the repeats with the spread (min..max, and max/min).  For every xenib
figure it also prints what the backend's notification policy did during
that test (xenibctl stats differences): kicks per WQE, sleeps per WQE,
idle yields and those that cost more than a sleep, yields before an RNR
NAK, CQEs per published batch, and the kick-to-wake-up latency (mean and
median of the samples).  Not a test: it asserts nothing except that the
tools ran; the bars of issues 3 and 15 are reported as MET/MISSED.

Placement: perftest and ucx_perftest servers run on CPU 0, clients on
CPU 1 (taskset); xenibd is not pinned (it shares both cores with the two
guests); the TCP baseline pins its two processes the same way; memcpy runs
on CPU 1.
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

    def stats(self):
        """xenibctl stats as a dict of numbers (lists for histograms)."""
        out = run([os.path.join(self.build, 'bin/xenibctl'), '-d',
                   os.path.join(self.dir, 'run'), 'stats'])
        d = {}
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 2 and all(re.match(r'^-?\d+$', x) for x in f[1:]):
                v = [int(x) for x in f[1:]]
                d[f[0]] = v if len(v) > 1 else v[0]
        return d

    def perftest(self, tool, size, extra=()):
        lat = tool.endswith('_lat')
        port = str(next_port())
        args = ['-d', 'xenib0', '-F', '-p', port, '-s', str(size),
                '-n', str(iters_for(size, lat))] + list(extra)
        before = self.stats()
        out = server_client(pin(0, [tool] + args),
                            pin(1, [tool] + args + ['127.0.0.1']), self.env)
        pol = policy(before, self.stats())
        for line in out.splitlines():
            f = line.split()
            if len(f) >= 5 and f[0] == str(size) and f[1].isdigit():
                if lat:   # t_min t_max t_typical t_avg t_stdev p99 p99.9
                    r = {'typ': float(f[4]), 'avg': float(f[5]),
                         'p99': float(f[7])}
                else:
                    r = {'bw': float(f[3]), 'mpps': float(f[4])}
                r.update(pol)
                return r
        raise RuntimeError('no result line from %s:\n%s' % (tool, out[-800:]))


def hist_median(h):
    """Median of a log2 histogram (bucket i: [2^i, 2^(i+1)) ns), in us."""
    n = sum(h)
    if not n:
        return None
    acc = 0
    for i, c in enumerate(h):
        acc += c
        if 2 * acc >= n:
            # geometric middle of the bucket
            return (2 ** i) * 1.414 / 1000.0
    return None


def policy(a, b):
    """What the notification policy did between two stats snapshots."""
    def d(k):
        return b.get(k, 0) - a.get(k, 0) if isinstance(b.get(k, 0), int) \
            else None
    w = d('wqes') or 0
    r = {}
    if w:
        r['kicks_wqe'] = d('doorbells') / w
        r['sleeps_wqe'] = d('sleeps') / w
    if 'idle_yields' in b:
        r['yields'] = d('idle_yields')
        r['costly'] = d('costly_yields')
        r['rnr_yields'] = d('rnr_yields')
        r['rnr_saved'] = d('rnr_saved')
        r['rnr_early'] = d('rnr_early')
        pubs = d('cq_publishes')
        r['cqe_batch'] = d('cqes') / pubs if pubs else None
        n = d('wake_n')
        if n:
            r['wake_us'] = d('wake_sum_ns') / n / 1000.0
            r['wake_p50_us'] = hist_median(
                [y - x for x, y in zip(a.get('wake_log2', [0] * 24),
                                       b['wake_log2'])])
    return r


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


def spread(xs):
    """max/min over the repeats (1.0: no spread)."""
    xs = [x for x in xs if x]
    return max(xs) / min(xs) if len(xs) > 1 else None


def ratio(a, b):
    return '%.2fx' % (a / b) if a and b else 'n/a'


POLICY_KEYS = ('kicks_wqe', 'sleeps_wqe', 'yields', 'costly', 'rnr_yields',
               'rnr_saved', 'rnr_early', 'cqe_batch', 'wake_us',
               'wake_p50_us')


def fmt_policy(R, key):
    """The policy counters of one xenib figure, medians over the repeats."""
    parts = []
    for k, label, f in (('kicks_wqe', 'kicks/WQE', '%.4f'),
                        ('sleeps_wqe', 'sleeps/WQE', '%.4f'),
                        ('yields', 'idle yields', '%.0f'),
                        ('costly', 'costly', '%.0f'),
                        ('rnr_yields', 'rnr yields', '%.0f'),
                        ('rnr_saved', 'saved', '%.0f'),
                        ('rnr_early', 'RNR ended early', '%.0f'),
                        ('cqe_batch', 'CQEs/batch', '%.1f'),
                        ('wake_us', 'wake us mean', '%.1f'),
                        ('wake_p50_us', 'p50', '%.1f')):
        m = med(R.get(key + (k,), []))
        if m is not None:
            parts.append('%s %s' % (label, f % m))
    return ', '.join(parts) if parts else '(no counters)'


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
    ap.add_argument('--only', metavar='REGEX',
                    help='only the xenib tests whose "tool size" matches '
                         '(no baselines unless --baselines)')
    ap.add_argument('--baselines', action='store_true',
                    help='with --only: measure the baselines too')
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    sizes = [8, 4096, 65536, 1048576] if a.quick else BW_SIZES
    want = re.compile(a.only) if a.only else None
    baselines = not want or a.baselines

    R = {}   # key -> list of values over repeats

    def add(key, val):
        R.setdefault(key, []).append(val)

    tests = [(t, s) for t in ('ib_write_bw', 'ib_send_bw', 'ib_read_bw')
             for s in sizes]
    tests += [(t, s) for t in ('ib_write_lat', 'ib_send_lat')
              for s in LAT_SIZES]
    tests = [(t, s) for t, s in tests
             if not want or want.search('%s %d' % (t, s))]

    print('xenib benchmark: %d repeats, %d cores, %s' %
          (a.repeats, os.cpu_count(), time.strftime('%Y-%m-%d %H:%M:%S')))
    print('machine: %s; load average at start %s' % (
        cpu_model(), open('/proc/loadavg').read().split()[0]))
    print('placement: perftest/ucx servers taskset -c 0, clients taskset -c 1,'
          ' xenibd unpinned, memcpy cpu 1, tcp_loop pins cpu 0 / cpu 1 '
          '(latency tests: 3 busy threads on %d cores)' % os.cpu_count())
    x = Xenib(build, a.xenibd_args.split())
    try:
        for rep in range(a.repeats):
            print('repeat %d/%d ...' % (rep + 1, a.repeats), flush=True)
            for tool, s in tests:
                r = x.perftest(tool, s)
                for k, v in r.items():
                    if v is not None:
                        add((tool, s, k), v)
            if not baselines:
                continue
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
                add(('tcp_bw', s), tcp(build, 'bw', s,
                                       20000 if s < 1 << 20 else 2000))
    finally:
        x.stop()

    print()
    print('Bandwidth, MB/s (10^6 B/s): median [min..max] over %d repeats, '
          'max/min' % a.repeats)
    print('%-12s %8s  %-30s %-5s %-28s %-28s' % (
        'tool', 'size', 'xenib', 'sprd', 'memcpy', 'ucx sm put'))
    for tool, s in tests:
        if tool.endswith('_lat'):
            continue
        xb, mc, ub = (R[(tool, s, 'bw')], R.get(('memcpy', s), []),
                      R.get(('ucx_bw', s), []))
        tb = R.get(('tcp_bw', s))
        print('%-12s %8d  %-30s %-5s %-28s %-28s %s' % (
            tool, s, fmt(xb, '', 0), '%.2f' % (spread(xb) or 1),
            fmt(mc, '', 0), fmt(ub, '', 0),
            'xenib/memcpy %s  xenib/ucx %s%s' % (
                ratio(med(xb), med(mc)), ratio(med(xb), med(ub)),
                ('  xenib/tcp %s' % ratio(med(xb), med(tb))) if tb else '')))
    print()
    print('Message rate, Mpps: median [min..max], max/min')
    for tool, s in tests:
        if tool.endswith('_lat') or s > 4096:
            continue
        mr = R[(tool, s, 'mpps')]
        print('%-12s %8d  %-30s %.2f' % (tool, s, fmt(mr, ''),
                                         spread(mr) or 1))
    print()
    print('Latency, usec (perftest t_typical / t_avg / p99; ucx p50; tcp '
          'half round trip)')
    for tool, s in tests:
        if not tool.endswith('_lat'):
            continue
        t, av, p99 = (R[(tool, s, 'typ')], R[(tool, s, 'avg')],
                      R[(tool, s, 'p99')])
        ul, tl = R.get(('ucx_lat', s), []), R.get(('tcp_lat', s), [])
        print('%-12s %6d  typ %-22s (max/min %.2f) avg %-22s p99 %-22s '
              'ucx %-20s tcp %-20s typ/ucx %s  typ/tcp %s' % (
                  tool, s, fmt(t, ''), spread(t) or 1, fmt(av, ''),
                  fmt(p99, ''), fmt(ul, '', 3), fmt(tl, ''),
                  ratio(med(t), med(ul)), ratio(med(t), med(tl))))
    print()
    print('Notification policy during each test (medians over the repeats):')
    for tool, s in tests:
        print('  %-12s %8d  %s' % (tool, s, fmt_policy(R, (tool, s))))
    if not baselines:
        return
    print()
    mr = R.get(('ib_write_bw', 8, 'mpps'), [])
    umr = R.get(('ucx_mpps', 8), [])
    print('Message rate, 8-byte RDMA write, one QP: %s Mpps; ucx sm put %s '
          'Mpps; xenib/ucx %s' % (fmt(mr, ''), fmt(umr, ''),
                                   ratio(med(mr), med(umr))))
    bars(R, tests, sizes)

    if a.plot:
        plot(a.plot, R, sizes)


def cpu_model():
    try:
        for line in open('/proc/cpuinfo'):
            if line.startswith('model name'):
                return line.split(':', 1)[1].strip()
    except OSError:
        pass
    return 'unknown CPU'


def bars(R, tests, sizes):
    """The acceptance bars of issues 3 and 15, on this run's medians."""
    def m(*k):
        return med(R.get(k, []))

    def line(text, val, ok):
        print('  %-62s %-22s %s' % (text, val, 'MET' if ok else 'MISSED'))

    print()
    print('Bars (issue 15; issue 3 asked 0.7x memcpy and 3 Mpps):')
    for s in [s for s in sizes if s >= 65536]:
        r = (m('ib_write_bw', s, 'bw') or 0) / (m('memcpy', s) or 1)
        line('ib_write_bw %d B >= 0.8 x memcpy' % s, '%.2f' % r, r >= 0.8)
    wr, ur = m('ib_write_bw', 8, 'mpps'), m('ucx_mpps', 8)
    if wr:
        line('8-byte write rate >= 5 Mpps', '%.2f' % wr, wr >= 5)
        if ur:
            line('8-byte write rate >= 0.25 x UCX sm put rate',
                 '%.2f' % (wr / ur), wr / ur >= 0.25)
    sr = m('ib_send_bw', 8, 'mpps')
    if sr and wr:
        line('ib_send_bw 8 B rate >= 0.5 x 8-byte write rate',
             '%.2f' % (sr / wr), sr / wr >= 0.5)
    s4, w4 = m('ib_send_bw', 4096, 'bw'), m('ib_write_bw', 4096, 'bw')
    if s4 and w4:
        line('ib_send_bw 4 KiB >= 0.5 x ib_write_bw 4 KiB',
             '%.2f' % (s4 / w4), s4 / w4 >= 0.5)
    tl = m('tcp_lat', 8)
    for tool in ('ib_write_lat', 'ib_send_lat'):
        t = m(tool, 8, 'typ')
        if t and tl:
            line('%s 8 B typical <= 0.25 x TCP half round trip' % tool,
                 '%.2f (%.2f / %.2f us)' % (t / tl, t, tl), t / tl <= 0.25)
    worst, which = 1.0, '-'
    for tool, s in tests:
        for k in ('typ',) if tool.endswith('_lat') else ('bw',):
            sp = spread(R.get((tool, s, k), []))
            if sp and sp > worst:
                worst, which = sp, '%s %d %s' % (tool, s, k)
    line('every figure max/min over the repeats <= 1.5 (worst: %s)' % which,
         '%.2f' % worst, worst <= 1.5)


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
