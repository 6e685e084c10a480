"""Wall time of the flagship command, cold (empty form cache) and warm, serial and 2 ranks.

The cold run compiles every form (XDG_CACHE_HOME points at an empty folder), which is what a
first `make run` after set-up costs; the target is < 30 s on a 2-core machine. ``--quick``: the
serial runs only. Nothing is written outside a temporary folder.
"""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCENARIO = ROOT / "scenarios" / "flat_bilayer.toml"


def timed(cmd: list[str], env: dict[str, str]) -> float:
    t0 = time.perf_counter()
    subprocess.run(cmd, check=True, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    return time.perf_counter() - t0


def main() -> None:
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from common import parser as bench_parser

    args = bench_parser(__doc__, "bench_flagship").parse_args()
    ecmsim = [sys.executable, "-m", "ecmsim", "run", str(SCENARIO), "-q"]
    mpirun = str(Path(sys.executable).parent / "mpirun")
    rows = []
    with tempfile.TemporaryDirectory() as tmp:
        env = dict(os.environ, XDG_CACHE_HOME=str(Path(tmp) / "cache"))
        rows.append(("serial, cold form cache", timed([*ecmsim, "-o", f"{tmp}/a"], env)))
        rows.append(("serial, warm", timed([*ecmsim, "-o", f"{tmp}/b"], env)))
        if Path(mpirun).exists() and not args.quick:
            rows.append(("mpirun -n 2, warm", timed([mpirun, "-n", "2", *ecmsim, "-o", f"{tmp}/c"], env)))
    base = rows[1][1]
    print(f"{'flagship run (scenarios/flat_bilayer.toml)':44s} {'wall [s]':>9s} {'/ warm serial':>14s}")
    for name, t in rows:
        print(f"{name:44s} {t:9.2f} {t / base:14.2f}")


if __name__ == "__main__":
    main()
