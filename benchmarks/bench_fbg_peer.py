"""The FBG spectrum against an external package: ecmsim's transfer matrix vs kopsha/fbg-simulation-pyqt.

The peer (https://github.com/kopsha/fbg-simulation-pyqt, BSD-3-Clause, after FBG_SiMul and
FBG-SimPlus) computes the reflected spectrum of a grating by the same coupled-mode transfer matrix
(``osa/simulator.py``, ``OsaSimulator.transfer_matrix``: a Python loop over sections, one
wavelength at a time). Nothing of it is part of ecmsim: this benchmark downloads the pinned
commit's archive at run time into ``OUT/peer/`` and reads two files from it (the licence and
``osa/simulator.py``, plain Python with numpy, nothing to build); ``--peer DIR`` uses a checkout
you already have. Without a network or with a changed archive it says why and skips.

Both codes get the same grating: 10 mm, 1550 nm, delta_n 1e-4, under a linear axial strain
gradient and a transverse load (every section differs, two polarisations), the sections of
``ecmsim.fbg.sensor.grating_sections``. The peer's parameters are mapped one to one:

    period_j = lambda_B,j / (2 n_j),   dneff_j = n_j - n0 - delta_n,   kappa = pi v delta_n / lambda

(its sigma = 2 pi (n0 + dneff) / lambda - pi / period + 2 pi delta_n / lambda is then ecmsim's
2 pi n_j (1/lambda - 1/lambda_B,j)); lengths in nm and mm as the peer expects. The peer runs on a
subset of the wavelengths; the table gives the time per section x wavelength x polarisation of
each code in one process and the largest difference of the reflectance on the shared wavelengths.

    python benchmarks/bench_fbg_peer.py [--peer DIR] [--quick]
"""

from __future__ import annotations

import importlib.util
import io
import sys
import tarfile
import time
import urllib.request
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import load_average, out_dir, parser as bench_parser  # noqa: E402

PEER = "kopsha/fbg-simulation-pyqt"
#: The commit compared with (the newest when this benchmark was written).
PEER_COMMIT = "06a735c1104d320381cf439223dbce412350324d"
PEER_URL = f"https://codeload.github.com/{PEER}/tar.gz/{PEER_COMMIT}"
#: The only files read from the peer.
PEER_FILES = ("LICENSE", "osa/simulator.py")
WAVELENGTHS = 20_001


class PeerUnavailable(Exception):
    """The peer could not be fetched or loaded (the benchmark says why and skips)."""


def fetch_peer(cache: Path) -> Path:
    """The peer's files under ``cache/<commit>/`` (downloaded once)."""
    folder = cache / PEER_COMMIT
    if all((folder / f).is_file() for f in PEER_FILES):
        return folder
    try:
        with urllib.request.urlopen(PEER_URL, timeout=30) as response:
            data = response.read()
    except OSError as err:
        raise PeerUnavailable(f"cannot download {PEER_URL}: {err}") from None
    with tarfile.open(fileobj=io.BytesIO(data), mode="r:gz") as tar:
        for member in tar.getmembers():
            inner = member.name.split("/", 1)[-1]
            if inner in PEER_FILES and member.isfile():
                target = folder / inner
                target.parent.mkdir(parents=True, exist_ok=True)
                target.write_bytes(tar.extractfile(member).read())
    missing = [f for f in PEER_FILES if not (folder / f).is_file()]
    if missing:
        raise PeerUnavailable(f"the archive of {PEER}@{PEER_COMMIT[:7]} lacks {', '.join(missing)}")
    return folder


def load_peer(folder: Path):
    """The peer's simulator module, loaded from its file (no install, nothing on sys.path)."""
    path = folder / "osa" / "simulator.py"
    if not path.is_file():
        raise PeerUnavailable(f"{path} not found (give --peer a checkout of {PEER})")
    spec = importlib.util.spec_from_file_location("peer_osa_simulator", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
        module.OsaSimulator
    except Exception as err:       # whatever the peer's code raises: report and skip
        raise PeerUnavailable(f"{path} does not load: {err}") from None
    return module


def peer_reflectance(module, sections, grating, fibre, wavelength_m) -> np.ndarray:
    """Reflectance (P, W) from the peer's transfer matrix, parameters mapped as in the module docstring."""
    n0 = fibre.effective_index
    P, M = sections.bragg_m.shape
    sim = module.OsaSimulator(
        fbg_count=1, fbg_length=grating.length_m * 1e3, tolerance=0.0, fbg_positions=[0.0],
        original_wavelengths=[grating.design_wavelength_m * 1e9], initial_refractive_index=n0,
        directional_refractive_p11=0.113, directional_refractive_p12=0.252, poissons_coefficient=0.16,
        emulate_temperature=None, resolution=0.01, min_bandwidth=1545.0, max_bandwidth=1555.0,
        mean_change_refractive_index=grating.delta_n, fringe_visibility=grating.visibility,
        ambient_temperature=293.15, thermo_optic=0.0, fiber_expansion_coefficient=0.0,
        host_expansion_coefficient=0.0, youngs_mod=73e9)
    R = np.empty((P, len(wavelength_m)))
    for p in range(P):
        periods = [float(v) for v in sections.bragg_m[p] * 1e9 / (2.0 * sections.index[p])]
        dneff = [float(v) for v in sections.index[p] - n0 - grating.delta_n]
        for w, lam in enumerate(wavelength_m):
            F = sim.transfer_matrix(count=M, wavelen=float(lam) * 1e9, use_period=periods, use_dneff=dneff)
            R[p, w] = abs(F[1, 0] / F[0, 0]) ** 2
    return R


def main() -> None:
    parser = bench_parser(__doc__, "bench_fbg_peer")
    parser.add_argument("--peer", type=Path, help=f"a checkout of {PEER} to use instead of downloading it")
    args = parser.parse_args()

    from ecmsim.fbg import Grating
    from ecmsim.fbg.optics import Fibre
    from ecmsim.fbg.tmm import reflectance
    from bench_fbg import sections_for

    try:
        folder = args.peer if args.peer else fetch_peer(out_dir(args.out) / "peer")
        module = load_peer(folder)
    except PeerUnavailable as err:
        print(f"peer comparison skipped: {err}")
        return
    licence = (folder / "LICENSE").read_text(errors="replace").strip().splitlines()[0] \
        if (folder / "LICENSE").is_file() else "licence file not found"
    print(f"peer: {PEER} ({'checkout ' + str(folder) if args.peer else 'commit ' + PEER_COMMIT[:12]}; {licence})")

    grating, fibre = Grating(), Fibre.from_material()
    lam = np.linspace(1545e-9, 1555e-9, WAVELENGTHS)
    header = (f"{'sections':>8} | {'ecmsim [ns]':>11} | {'peer [ns]':>10} | {'peer / ecmsim':>13} | "
              f"{'peer wavelengths':>16} | {'max |dR|':>9}")
    print("time per section x wavelength x polarisation, one process:")
    print(header)
    print("-" * len(header))
    for count in (100,) if args.quick else (100, 1000):
        s = sections_for(count)
        assert s.bragg_m.shape == (2, count)
        a = (s.bragg_m, s.index, s.coupling, s.dz_m)
        reflectance(lam[:3], *a, workers=1)                  # compile outside the clock
        t0 = time.perf_counter()
        ours = reflectance(lam, *a, workers=1)
        t_ours = (time.perf_counter() - t0) / (count * lam.size * 2)
        subset = lam[:: max(1, WAVELENGTHS // (60 if count == 100 else 8))]
        t0 = time.perf_counter()
        theirs = peer_reflectance(module, s, grating, fibre, subset)
        t_peer = (time.perf_counter() - t0) / (count * subset.size * 2)
        diff = float(np.max(np.abs(theirs - reflectance(subset, *a, workers=1))))
        print(f"{count:>8} | {t_ours * 1e9:11.2f} | {t_peer * 1e9:10.0f} | {t_peer / t_ours:13.0f} | "
              f"{subset.size:>16} | {diff:9.1e}")
    print(f"both codes had the same sections (ecmsim.fbg.sensor.grating_sections); largest reflectance "
          f"{float(ours.max()):.3f}; 1-min load average {load_average():.1f}")


if __name__ == "__main__":
    main()
