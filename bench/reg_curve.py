#!/usr/bin/env python3
# SPDX-License-Identifier: GPL-2.0 OR BSD-2-Clause
"""Registration curve: ibv_reg_mr cost per GiB across sizes, beside the cost
of touching fresh memory once and of copying it (memcpy), in one run.

  bash bench/reg_curve.sh [--build DIR] [--repeats N] [--kinds K,...]
                          [--sizes S,...] [--quick] [--plot DIR]
                          [--baseline BUILD]

For each kind of memory (private anonymous by default; shared, sysv,
sysv-huge, shmfile, thp: see bench/reg_curve.c) and size, REPEATS
measurements interleaved over the sizes, reported as the median with the
spread (min..max): first registration (wall clock and this process's CPU
time), deregistration, registration of the same range again, and the
baselines.  --baseline BUILD measures another build's xenibd and provider
(e.g. main before a change) in the same run, with the same reg_curve.
Not a test: it asserts nothing but prints the bars of issue 17 as
MET/MISSED.
"""
import argparse
import os
import shutil
import statistics
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from xenib_bench import Xenib, med  # noqa: E402

MiB = 1 << 20
GiB = 1 << 30
SIZES = [16 * MiB, 32 * MiB, 64 * MiB, 128 * MiB, 256 * MiB, 512 * MiB, GiB]
QUICK = [16 * MiB, 64 * MiB, 256 * MiB, GiB]
COLS = ('touch', 'memcpy', 'reg', 'dereg', 'rereg', 'reg_cpu')


def human(n):
    return '%d GiB' % (n // GiB) if n >= GiB else '%d MiB' % (n // MiB)


def measure(build, tool, kind, sizes, repeats, timeout):
    """{size: {col: [values]}} from one reg_curve run against build."""
    x = Xenib(build, [])
    try:
        p = subprocess.run([tool, '-k', kind, '-r', str(repeats), '-c'] +
                           [str(s) for s in sizes], env=x.env,
                           capture_output=True, text=True, timeout=timeout)
    finally:
        x.stop()
    R = {}
    for line in p.stdout.splitlines():
        f = line.split()
        if len(f) < 9:
            continue
        d = R.setdefault(int(f[0]), {c: [] for c in COLS})
        for c, v in zip(COLS, f[3:9]):
            d[c].append(float(v))
    if p.returncode:
        print('reg_curve (%s, %s) failed (%d): %s' %
              (build, kind, p.returncode, p.stderr.strip()[-400:]),
              file=sys.stderr)
    return R


def per_gib(xs, size):
    return [x * GiB / size for x in xs]


def fmt(xs, digits=3):
    if not xs:
        return 'n/a'
    return '%.*f [%.*f..%.*f]' % (digits, statistics.median(xs), digits,
                                  min(xs), digits, max(xs))


def report(title, R, sizes):
    print(title)
    print('%-8s %-24s %-22s %-22s %-20s %-20s %-22s %-22s' % (
        'size', 'reg s/GiB', 'reg CPU s/GiB', 'touch s/GiB', 'memcpy s/GiB',
        'reg/memcpy, /touch', 'dereg ms', 'rereg ms'))
    for s in sizes:
        d = R.get(s)
        if not d or not d['reg']:
            print('%-8s (no result)' % human(s))
            continue
        reg = per_gib(d['reg'], s)
        print('%-8s %-24s %-22s %-22s %-20s %-20s %-22s %-22s' % (
            human(s), fmt(reg), fmt(per_gib(d['reg_cpu'], s)),
            fmt(per_gib(d['touch'], s)), fmt(per_gib(d['memcpy'], s)),
            '%.1fx, %.2fx' % (med(reg) / med(per_gib(d['memcpy'], s)),
                              med(reg) / med(per_gib(d['touch'], s))),
            fmt([v * 1e3 for v in d['dereg']], 2),
            fmt([v * 1e3 for v in d['rereg']], 2)))
    print()


def bars(R):
    lo, hi = R.get(16 * MiB), R.get(GiB)
    if not lo or not hi or not lo['reg'] or not hi['reg']:
        print('bars: need 16 MiB and 1 GiB results')
        return
    a = med(per_gib(hi['reg'], GiB))
    r = a / med(per_gib(lo['reg'], 16 * MiB))
    print('Bars (issue 17, emulation):')
    print('  reg at 1 GiB <= 0.2 s/GiB: %.3f  %s' %
          (a, 'MET' if a <= 0.2 else 'MISSED'))
    print('  s/GiB at 1 GiB <= 1.3 x s/GiB at 16 MiB: %.2fx  %s' %
          (r, 'MET' if r <= 1.3 else 'MISSED'))
    c = med(per_gib(hi['reg_cpu'], GiB))
    rc = c / med(per_gib(lo['reg_cpu'], 16 * MiB))
    print('  (CPU time: %.3f s/GiB at 1 GiB, %.2fx the 16 MiB figure)' %
          (c, rc))


def plot(outdir, results, sizes):
    if not shutil.which('gnuplot'):
        print('gnuplot not installed: no plot')
        return
    os.makedirs(outdir, exist_ok=True)
    data = os.path.join(outdir, 'reg.dat')
    names = list(results)
    with open(data, 'w') as f:
        f.write('# size ' + ' '.join('%s_reg %s_rereg' % (n, n)
                                     for n in names) +
                ' touch memcpy\n')
        for s in sizes:
            row = [str(s)]
            for n in names:
                d = results[n].get(s)
                row.append(str(med(per_gib(d['reg'], s))) if d else 'NaN')
                row.append(str(med(per_gib(d['rereg'], s))) if d else 'NaN')
            base = results[names[0]].get(s)
            row.append(str(med(per_gib(base['touch'], s))) if base else 'NaN')
            row.append(str(med(per_gib(base['memcpy'], s))) if base else 'NaN')
            f.write(' '.join(row) + '\n')
    curves = []
    for i, n in enumerate(names):
        curves.append('"%s" u 1:%d w lp t "ibv_reg_mr %s"' % (data, 2 + 2 * i, n))
        curves.append('"%s" u 1:%d w lp t "re-registration %s"' %
                      (data, 3 + 2 * i, n))
    k = 2 + 2 * len(names)
    curves.append('"%s" u 1:%d w lp t "first touch"' % (data, k))
    curves.append('"%s" u 1:%d w lp t "memcpy"' % (data, k + 1))
    script = '''
set terminal png size 900,600 noenhanced
set logscale xy
set grid
set key left top
set xlabel "registered bytes"
set ylabel "seconds per GiB"
set output "%s/registration.png"
set title "ibv_reg_mr cost per GiB (median) beside touching and copying the memory"
plot %s
''' % (outdir, ', \\\n     '.join(curves))
    subprocess.run(['gnuplot'], input=script, text=True, check=True)
    print('plot: %s/registration.png' % outdir)


def main():
    ap = argparse.ArgumentParser(description=__doc__,
                                 formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument('--build', default='build')
    ap.add_argument('--baseline', metavar='BUILD',
                    help='also measure this build (xenibd, provider)')
    ap.add_argument('--repeats', type=int, default=5)
    ap.add_argument('--kinds', default='private')
    ap.add_argument('--sizes', help='comma-separated bytes')
    ap.add_argument('--quick', action='store_true')
    ap.add_argument('--plot', metavar='DIR')
    a = ap.parse_args()
    build = os.path.abspath(a.build)
    tool = os.path.join(build, 'bin/reg_curve')
    sizes = ([int(s, 0) for s in a.sizes.split(',')] if a.sizes else
             QUICK if a.quick else SIZES)
    print('registration curve: %d repeats, %d cores, %s' %
          (a.repeats, os.cpu_count(), time.strftime('%Y-%m-%d %H:%M:%S')))
    timeout = 60 + a.repeats * sum(sizes) / GiB * 60
    results = {}
    for kind in a.kinds.split(','):
        R = measure(build, tool, kind, sizes, a.repeats, timeout)
        results[kind] = R
        report('%s memory, %s:' % (kind, build), R, sizes)
        if kind == 'private':
            bars(R)
            print()
    if a.baseline:
        base = os.path.abspath(a.baseline)
        R = measure(base, tool, 'private', sizes, a.repeats, timeout * 4)
        results['baseline'] = R
        report('private memory, baseline %s:' % base, R, sizes)
    if a.plot:
        plot(a.plot, results, sizes)


if __name__ == '__main__':
    try:
        main()
    except (RuntimeError, subprocess.TimeoutExpired) as e:
        print('benchmark failed: %s' % e, file=sys.stderr)
        sys.exit(1)
