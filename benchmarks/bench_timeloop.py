"""Time-dependent runs against a static one: the 3-cycle cycling window over the flat bilayer, alternated.

``ecmsim run scenarios/cycling_li_pll.toml`` (three plating/stripping cycles on the cycled Li/PLL
image window, 144 time steps) and ``ecmsim run scenarios/flat_bilayer.toml`` (one static solve)
run in turn, A B A B ..., each as a whole command; the ratio is taken round by round, so that it
holds while the machine's load drifts (the target of issue 26: at most 8). The cycling run's own
closing line (accepted steps, rejected attempts and what they cost) is printed from its last run.

    python benchmarks/bench_timeloop.py [--repeat N] [--quick]

``--quick``: one cycle instead of three, two rounds.
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, alternate, load_average, median, parser as bench_parser, ratios  # noqa: E402


def main() -> None:
    p = bench_parser(__doc__, "bench_timeloop")
    p.add_argument("--repeat", type=int, default=3, help="counted rounds after one warm-up (default 3)")
    args = p.parse_args()
    rounds = 2 if args.quick else args.repeat
    extra = ["--set", "protocol.cycles=1"] if args.quick else []
    with tempfile.TemporaryDirectory() as tmp:
        ecmsim = [sys.executable, "-m", "ecmsim", "run"]
        commands = {
            "cycling": [*ecmsim, str(ROOT / "scenarios" / "cycling_li_pll.toml"), "-o", f"{tmp}/cycling", "-q",
                        "--overwrite", *extra],
            "flat": [*ecmsim, str(ROOT / "scenarios" / "flat_bilayer.toml"), "-o", f"{tmp}/flat", "-q", "--overwrite"],
        }
        print(f"1-min load average before: {load_average():.1f}; {rounds} rounds after a warm-up", flush=True)
        t = alternate(commands, rounds, cwd=ROOT)
        closing = subprocess.run([c for c in commands["cycling"] if c != "-q"], cwd=ROOT, capture_output=True,
                                 text=True)
    lines = [ln for ln in closing.stdout.splitlines() if "time loop:" in ln]
    print(f"{'command':<44} {'wall median [s]':>16} {'cpu median [s]':>15}")
    for name, cmd in commands.items():
        scenario = Path(cmd[4]).name + (" (1 cycle)" if extra and name == "cycling" else "")
        print(f"{scenario:<44} {median(x.wall_s for x in t[name]):16.1f} {median(x.cpu_s for x in t[name]):15.1f}")
    wall, cpu = ratios(t["cycling"], t["flat"]), ratios(t["cycling"], t["flat"], "cpu_s")
    print(f"cycling / flat, round by round: wall {', '.join(f'{r:.1f}' for r in wall)} (median {median(wall):.1f}); "
          f"cpu {', '.join(f'{r:.1f}' for r in cpu)} (median {median(cpu):.1f})")
    if lines:
        print("cycling run:", lines[-1].split("] ", 1)[-1])
    print(f"1-min load average after: {load_average():.1f}")


if __name__ == "__main__":
    main()
