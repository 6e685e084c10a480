"""Spectrum time of the virtual FBG: compiled (numba) and numpy kernels side by side, one run.

For 100 and 1000 sections x 20 001 wavelengths x 2 polarisations of a non-uniform grating
(strain gradient and birefringence, so every section differs), times

- the numpy kernel (:func:`ecmsim.fbg.tmm.reflectance`, ``kernel="numpy"``) in one process,
- the compiled kernel (``kernel="numba"``, :mod:`ecmsim.fbg.fastkernel`) in one process and on
  all CPUs (one forked process each),
- the straightforward loop (:func:`ecmsim.fbg.tmm.reflectance_loop`) on a subset of the
  wavelengths, scaled to all of them,

and prints the median ns per section x wavelength x polarisation, the ratios, and the largest
differences between the kernels. Then the inverse (:func:`ecmsim.fbg.inverse.invert`) of a
1000-section spectrum of >= 5000 wavelengths. Targets: <= 5 ns in one process, inverse < 60 s.
On a shared machine every column slows down together: read the ratios.

    python benchmarks/bench_fbg.py [--repeat N] [--quick]

The straightforward loop stands in for a plain-Python transfer matrix; benchmarks/bench_fbg_peer.py
compares with an external package.
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from pathlib import Path

import numpy as np

from ecmsim.fbg import Grating, Interrogator, StrainProfile, simulate
from ecmsim.fbg.optics import Fibre
from ecmsim.fbg.sensor import grating_sections
from ecmsim.fbg.tmm import reflectance, reflectance_loop, worker_count

WAVELENGTHS = 20_001
TARGET_NS = 5.0
TARGET_INVERSE_S = 60.0


def sections_for(count: int):
    """A 10 mm grating under a linear axial strain gradient plus a transverse load."""
    z = np.array([0.0, 10e-3])
    ezz = np.array([-5e-4, 5e-4])
    profile = StrainProfile(z_m=z, exx=3e-4 - 0.17 * ezz, eyy=-6e-4 - 0.17 * ezz, ezz=ezz, exy=1e-4)
    return grating_sections(profile, Grating(sections=count), Fibre.from_material())


def median_time(fn, repeat: int) -> float:
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import parser as bench_parser

    parser = bench_parser(__doc__, "bench_fbg")
    parser.add_argument("--repeat", type=int, default=5, help="median of N runs (default 5; --quick: 2)")
    args = parser.parse_args()
    if args.quick:
        args.repeat = min(args.repeat, 2)
    lam = np.linspace(1545e-9, 1555e-9, WAVELENGTHS)
    workers = worker_count()
    print(f"CPUs available: {workers} (os.cpu_count() = {os.cpu_count()}); {WAVELENGTHS} wavelengths, "
          f"2 polarisations; median of {args.repeat}; 1-min load average {os.getloadavg()[0]:.2f}")
    reflectance(lam[:3], *(lambda s: (s.bragg_m, s.index, s.coupling, s.dz_m))(sections_for(10)), kernel="numba")
    print("ns per section x wavelength x polarisation (median):")
    header = (f"{'sections':>8} | {'numpy 1 proc':>12} | {'numba 1 proc':>12} | {'numpy/numba':>11} | "
              f"{'numba ' + str(workers) + ' proc':>12} | {'plain loop':>10} | {'|dR| numba-numpy':>16} | {'|dR| vs loop':>12}")
    print(header)
    print("-" * len(header))
    for count in (100,) if args.quick else (100, 1000):
        s = sections_for(count)
        a = (s.bragg_m, s.index, s.coupling, s.dz_m)
        elements = count * WAVELENGTHS * 2
        t_np = median_time(lambda: reflectance(lam, *a, workers=1, kernel="numpy"), args.repeat)
        t_nb = median_time(lambda: reflectance(lam, *a, workers=1, kernel="numba"), args.repeat)
        t_all = median_time(lambda: reflectance(lam, *a, kernel="numba"), args.repeat)
        subset = lam[:: WAVELENGTHS // (40 if count == 100 else 6)]
        t0 = time.perf_counter()
        R_loop = reflectance_loop(subset, *a)
        t_loop = (time.perf_counter() - t0) / (count * subset.size * 2)
        d_kernels = float(np.max(np.abs(reflectance(lam, *a, kernel="numba") - reflectance(lam, *a, kernel="numpy"))))
        d_loop = float(np.max(np.abs(R_loop - reflectance(subset, *a, kernel="numba"))))
        ns = [t / elements * 1e9 for t in (t_np, t_nb, t_all)]
        print(f"{count:>8} | {ns[0]:12.2f} | {ns[1]:12.2f} | {ns[0] / ns[1]:11.1f} | {ns[2]:12.2f} | "
              f"{t_loop * 1e9:10.0f} | {d_kernels:16.1e} | {d_loop:12.1e}")
        verdict = "meets" if ns[1] <= TARGET_NS else "MISSES"
        print(f"{'':>8}   numba, one process, {verdict} the target of {TARGET_NS:g} ns")
    if args.quick:
        return
    from ecmsim.fbg.inverse import line_load_strains, invert
    fibre = Fibre.from_material()
    z, exx, eyy = [], [], []
    for i, f in enumerate((1500.0, 4000.0, 2500.0)):
        ex, ey = line_load_strains(f, fibre)
        z += [i * 10e-3 / 3 + (1e-9 if i else 0.0), (i + 1) * 10e-3 / 3]
        exx += [float(ex)] * 2
        eyy += [float(ey)] * 2
    profile = StrainProfile(z_m=np.array(z), exx=np.array(exx), eyy=np.array(eyy), ezz=0.0)
    spectrum, _ = simulate(profile, Grating(sections=1000), Interrogator(resolution_m=0.45e-12, noise_rms=0.005),
                           workers=1)
    t0 = time.perf_counter()
    inv = invert(spectrum.wavelength_m, spectrum.R)
    t_inv = time.perf_counter() - t0
    loads = ", ".join(f"{lv.line_load_N_m:.0f}" for lv in inv.levels)
    verdict = "meets" if t_inv <= TARGET_INVERSE_S else "MISSES"
    print(f"inverse of a 1000-section spectrum, {spectrum.wavelength_m.size} wavelengths (loads 1500, 4000, "
          f"2500 N/m, 0.5 % noise): {t_inv:.1f} s, levels [{loads}] N/m; {verdict} the target of "
          f"{TARGET_INVERSE_S:g} s")
    print(f"1-min load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
