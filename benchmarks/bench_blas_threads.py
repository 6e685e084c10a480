"""One BLAS thread per process against numpy's default (a thread per core), on a quiet and on a busy machine.

ecmsim sets ``OPENBLAS_NUM_THREADS=1`` (and MKL's, OpenMP's) on import unless the user set one
(ecmsim/core/threads.py). This benchmark runs the same commands with ``OPENBLAS_NUM_THREADS=1`` and
with ``OPENBLAS_NUM_THREADS=<cores>`` (numpy's own default, what ecmsim did before), alternated, each
as a whole process. Both are contact cycling with interface diffusion, which solves dense systems of
the interface's N facets in every coupling iteration:

- ``sinusoid``: ``scenarios/cycling_li_sinusoid_contact.toml``, one cycle (N = 128, 72 steps);
- ``image``: the Li image window of ``scenarios/cycling_li_pll.toml`` in contact with diffusion
  (docs/electrochem.md, "The image window"; N = 128, Nitsche parameter 1), the first 90 s of plating.

Each alone on a quiet machine, and as one of two copies of the same run at once (``pair``; the
other copy gets the same thread setting and is stopped when the timed one ends), as two pytest
workers, a study's ``-j 2`` or two users' runs are.

    python benchmarks/bench_blas_threads.py [--repeat N] [--quick] [--only quiet|pair] [--case sinusoid|image]

``--quick``: the image window only, one counted round.
"""

from __future__ import annotations

import os
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, alternate, load_average, median, parser as bench_parser, ratios  # noqa: E402


IMAGE_WINDOW = ["--set", "interface.model=contact", "--set", "interface.nitsche_parameter=1",
                "--set", "cycling.growth_smoothing_length_m=0", "--set", "cycling.interface_diffusion_m3_s=1e-19",
                "--set", "cycling.interface_energy_J_m2=0.5", "--set", "protocol.error_tolerance=0.025",
                "--set", 'protocol.steps=["Plate at 0.2 mA/cm2 for 90 s"]', "--set", "protocol.cycles=1"]


def main() -> None:
    p = bench_parser(__doc__, "bench_blas_threads")
    p.add_argument("--repeat", type=int, default=2, help="counted rounds after one warm-up (default 2)")
    p.add_argument("--only", choices=["quiet", "pair"], help="one machine state only (default both)")
    p.add_argument("--case", choices=["sinusoid", "image"], help="one command only (default both)")
    args = p.parse_args()
    rounds = 1 if args.quick else args.repeat
    cores = max(2, len(os.sched_getaffinity(0)))
    states = [args.only] if args.only else ["quiet", "pair"]
    scenarios = ROOT / "scenarios"
    with tempfile.TemporaryDirectory() as tmp:
        run = [sys.executable, "-m", "ecmsim", "run", "-q", "--overwrite", "-o", f"{tmp}/run"]
        cases = {"sinusoid": [*run, str(scenarios / "cycling_li_sinusoid_contact.toml"), "--set", "protocol.cycles=1"],
                 "image": [*run, str(scenarios / "cycling_li_pll.toml"), *IMAGE_WINDOW]}
        names = [args.case] if args.case else (["image"] if args.quick else list(cases))
        envs = {threads: {**os.environ, "OPENBLAS_NUM_THREADS": str(threads)} for threads in (1, cores)}
        rows = []
        for state in states:
            print(f"{state}: 1-min load average before {load_average():.1f}; {rounds} round(s) after a warm-up",
                  flush=True)
            for name in names:
                companion = ([c.replace(f"{tmp}/run", f"{tmp}/companion") for c in cases[name]]
                             if state == "pair" else None)
                t = alternate({key: cases[name] for key in envs}, rounds, envs=envs, companion=companion, cwd=ROOT)
                rows.append((state, name, median(x.wall_s for x in t[1]), median(x.wall_s for x in t[cores]),
                             ratios(t[1], t[cores])))
    print(f"{'machine':<8} {'command':<10} {'1 thread [s]':>13} {f'{cores} threads [s]':>14}  1/{cores} by round")
    for state, name, a, b, wall in rows:
        print(f"{state:<8} {name:<10} {a:13.1f} {b:14.1f}  {', '.join(f'{r:.2f}' for r in wall)}")
    print(f"1-min load average after: {load_average():.1f}")


if __name__ == "__main__":
    main()
