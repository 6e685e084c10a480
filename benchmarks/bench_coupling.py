"""The coupling iterations' solves loosened against solved to the step's tolerance, on the Li contact window.

``ecmsim run scenarios/cycling_li_pll_contact.toml`` cut to its first 75 minutes of plating (1.2 um at the nominal
rate, the contact gaps opening; interface diffusion iterated against the mechanics every step), run in turn as shipped
(coupling solves stop at COUPLING_SOLVE_LOOSENING = 1000 times the step's Newton tolerance, the step's last one is
then settled) and with the loosening set to 1 (every coupling solve to the step's tolerance, as before), A B A B
..., each a whole command; the ratio is taken round by round. Each run's steps, rejected attempts and loop time are
printed from its last round. docs/electrochem.md, "The coupling's solves".

    python benchmarks/bench_coupling.py [--repeat N] [--quick]

``--quick``: 15 minutes of plating, one round.
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, alternate, load_average, median, parser as bench_parser, ratios  # noqa: E402

#: one command: the loosening set, then the command line as ``ecmsim`` runs it
RUN = ("import sys; import ecmsim.mechanics.creep_contact as c; c.COUPLING_SOLVE_LOOSENING = float(sys.argv[1]); "
       "from ecmsim.cli.main import run_and_exit; run_and_exit(sys.argv[2:])")


def main() -> None:
    p = bench_parser(__doc__, "bench_coupling")
    p.add_argument("--repeat", type=int, default=2, help="counted rounds after one warm-up (default 2)")
    args = p.parse_args()
    rounds = 1 if args.quick else args.repeat
    minutes = 15 if args.quick else 75
    sets = ["--set", f'protocol.steps=["Plate at 0.2 mA/cm2 for {minutes} minutes"]', "--set", "protocol.cycles=1",
            "--set", "protocol.checkpoint_interval_s=0", "--set", "output.fields=false", "--set", "output.plots=false"]
    with tempfile.TemporaryDirectory() as tmp:
        def command(name: str, loosening: float) -> list[str]:
            return [sys.executable, "-c", RUN, f"{loosening:g}", "run",
                    str(ROOT / "scenarios" / "cycling_li_pll_contact.toml"), "-o", f"{tmp}/{name}", "--overwrite",
                    *sets]
        commands = {"loosened (shipped)": command("loose", 1e3), "tight (before)": command("tight", 1.0)}
        print(f"1-min load average before: {load_average():.1f}; {rounds} round(s) after a warm-up; "
              f"{minutes} minutes of plating", flush=True)
        t = alternate(commands, rounds, cwd=ROOT)
        closing = {name: _closing_line(Path(cmd[cmd.index("-o") + 1])) for name, cmd in commands.items()}
    print(f"{'coupling solves':<24} {'wall median [s]':>16} {'cpu median [s]':>15}   time loop")
    for name in commands:
        print(f"{name:<24} {median(x.wall_s for x in t[name]):16.1f} {median(x.cpu_s for x in t[name]):15.1f}   "
              f"{closing[name]}")
    wall = ratios(t["loosened (shipped)"], t["tight (before)"])
    print(f"loosened / tight, round by round: wall {', '.join(f'{r:.2f}' for r in wall)} (median {median(wall):.2f})")
    print(f"1-min load average after: {load_average():.1f}")


def _closing_line(folder: Path) -> str:
    """Accepted steps, rejected attempts and the time loop's wall time of a run's folder (its last round)."""
    import csv
    import json

    history, summary = folder / "history.csv", folder / "summary.json"
    if not history.exists() or not summary.exists():
        return "(no history)"
    with open(history, newline="") as f:
        rows = list(csv.DictReader(f))
    solve = json.loads(summary.read_text()).get("timings_s", {}).get("solve", float("nan"))
    return f"{len(rows) - 1} steps, {rows[-1]['rejected_steps']} rejected, loop {solve:.1f} s"


if __name__ == "__main__":
    main()
