"""Spectrum time of the virtual FBG: vectorised transfer matrix against a plain loop, one run.

For 100 and 1000 sections x 20 001 wavelengths x 2 polarisations of a non-uniform grating
(strain gradient and birefringence, so every section differs), times

- the vectorised kernel (:func:`ecmsim.fbg.tmm.reflectance`) on all CPUs (one forked process
  each) and in this process alone,
- the straightforward loop over wavelengths, polarisations and sections with a 2x2 matrix
  product each (:func:`ecmsim.fbg.tmm.reflectance_loop`), on a subset of the wavelengths,
  scaled to all of them,

and prints ns per section x wavelength x polarisation side by side with their ratio, and the
largest difference between the two on the subset. Target: <= 15 ns on a 2-core machine.

    python benchmarks/bench_fbg.py [--repeat N]
"""

from __future__ import annotations

import argparse
import os
import time

import numpy as np

from ecmsim.fbg import Grating, StrainProfile
from ecmsim.fbg.optics import Fibre
from ecmsim.fbg.sensor import grating_sections
from ecmsim.fbg.tmm import reflectance, reflectance_loop, worker_count

WAVELENGTHS = 20_001
TARGET_NS = 15.0


def sections_for(count: int):
    """A 10 mm grating under a linear axial strain gradient plus a transverse load."""
    z = np.array([0.0, 10e-3])
    ezz = np.array([-5e-4, 5e-4])
    profile = StrainProfile(z_m=z, exx=3e-4 - 0.17 * ezz, eyy=-6e-4 - 0.17 * ezz, ezz=ezz, exy=1e-4)
    return grating_sections(profile, Grating(sections=count), Fibre.from_material())


def best_time(fn, repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - t0)
    return best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="best of N runs (default 3)")
    args = parser.parse_args()
    lam = np.linspace(1545e-9, 1555e-9, WAVELENGTHS)
    workers = worker_count()
    print(f"CPUs available: {workers} (os.cpu_count() = {os.cpu_count()}); {WAVELENGTHS} wavelengths, "
          f"2 polarisations; best of {args.repeat}; 1-min load average {os.getloadavg()[0]:.2f} "
          f"(other processes' load slows every column)")
    vec_all, vec_one = f"vectorised, {workers} proc", "vectorised, 1 proc"
    header = f"{'sections':>8} | {vec_all:>18} | {vec_one:>18} | {'plain loop':>12} | {'loop / vec':>10} | {'max |dR|':>9}"
    print(header)
    print(f"{'':>8} | {'s':>7} {'ns/elem':>10} | {'s':>7} {'ns/elem':>10} | {'ns/elem':>12} | {'ratio':>10} |")
    print("-" * len(header))
    for count in (100, 1000):
        s = sections_for(count)
        args_ = (s.bragg_m, s.index, s.coupling, s.dz_m)
        elements = count * WAVELENGTHS * 2
        t_all = best_time(lambda: reflectance(lam, *args_), args.repeat)
        t_one = best_time(lambda: reflectance(lam, *args_, workers=1), args.repeat)
        subset = lam[:: WAVELENGTHS // (40 if count == 100 else 6)]
        t0 = time.perf_counter()
        R_loop = reflectance_loop(subset, *args_)
        t_loop = (time.perf_counter() - t0) / (count * subset.size * 2)
        worst = float(np.max(np.abs(R_loop - reflectance(subset, *args_))))
        ns_all, ns_one, ns_loop = t_all / elements * 1e9, t_one / elements * 1e9, t_loop * 1e9
        print(f"{count:>8} | {t_all:7.3f} {ns_all:10.2f} | {t_one:7.3f} {ns_one:10.2f} | {ns_loop:12.0f} | "
              f"{ns_loop / ns_all:10.0f} | {worst:9.1e}")
        verdict = "meets" if ns_all <= TARGET_NS else "MISSES"
        print(f"{'':>8}   {verdict} the target of {TARGET_NS:g} ns per section x wavelength x polarisation")
    print(f"1-min load average after: {os.getloadavg()[0]:.2f}")


if __name__ == "__main__":
    main()
