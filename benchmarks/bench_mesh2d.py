"""A 2D window of 10^6 dofs end to end on 2 ranks: gmsh's own mesh against gmsh coarser + dolfinx refinement.

``mpirun -n 2 ecmsim run scenarios/flat_bilayer.toml`` at a uniform 0.12 um (P2: about 1 030 000
dofs, 257 000 triangles), with ``mesh.refine_levels = 0`` (gmsh meshes every triangle on rank 0)
and with the default levels (2 at this size since COARSE_MIN_CELLS = 15 000, 1 before: gmsh meshes
at 0.48 um, dolfinx splits every triangle twice on both ranks: docs/geometry.md "Large meshes"), each as a whole command,
alternated; the ratio is taken round by round. The stage times (mesh, solve, fields, plots) come from the last run's summary.json.
The target of issue 26: the whole command in at most 10 s on 2 cores.

    python benchmarks/bench_mesh2d.py [--repeat N] [--ranks 2] [--quick] [--against REF]

``--against REF`` (a git commit or branch, e.g. ``main``): also the default route with the code of REF
(``git archive`` into a temporary folder, put first on PYTHONPATH), in the same rounds: before/after
on the same machine at the same load.
``--quick``: 0.24 um (about 260 000 dofs, below the size where the split is the default: it is
asked for, one level), one round.
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import ROOT, alternate, load_average, median, parser as bench_parser, ratios, venv_tool  # noqa: E402


def main() -> None:
    p = bench_parser(__doc__, "bench_mesh2d")
    p.add_argument("--repeat", type=int, default=3, help="counted rounds after one warm-up (default 3)")
    p.add_argument("--ranks", type=int, default=2, help="MPI ranks (default 2; 1: no mpirun)")
    p.add_argument("--against", metavar="REF", help="also the split route with the code of this git commit/branch")
    args = p.parse_args()
    rounds = 1 if args.quick else args.repeat
    h = 0.24e-6 if args.quick else 0.12e-6
    launcher = [venv_tool("mpirun"), "-n", str(args.ranks)] if args.ranks > 1 else []
    with tempfile.TemporaryDirectory() as tmp:
        def command(name: str, extra: list[str]) -> list[str]:
            return [*launcher, sys.executable, "-m", "ecmsim", "run", str(ROOT / "scenarios" / "flat_bilayer.toml"),
                    "-o", f"{tmp}/{name}", "-q", "--overwrite", "--set", f"mesh.size_m={h:g}",
                    "--set", f"mesh.interface_size_m={h:g}", *extra]

        # the code's default levels (--quick: below the size where they are > 0, so one asked for)
        split = ["--set", "mesh.refine_levels=1"] if args.quick else []
        commands = {"gmsh only": command("direct", ["--set", "mesh.refine_levels=0"]),
                    "gmsh coarse + dolfinx split": command("refined", split)}
        folders = {"gmsh only": "direct", "gmsh coarse + dolfinx split": "refined"}
        if args.against:
            import subprocess
            code = Path(tmp) / "against"
            code.mkdir()
            archive = subprocess.run(["git", "archive", args.against], cwd=ROOT, capture_output=True, check=True).stdout
            subprocess.run(["tar", "-x", "-C", str(code)], input=archive, check=True)
            name = f"split, code of {args.against}"
            # -P: the working folder (this tree) not first on sys.path, so that REF's ecmsim is the one imported
            against = command("against", split)
            at = against.index(sys.executable) + 1
            commands[name] = ["env", f"PYTHONPATH={code}", *against[:at], "-P", *against[at:]]
            folders[name] = "against"
        print(f"flat bilayer at {h * 1e6:g} um, P2, {args.ranks} rank(s); {rounds} round(s) after a warm-up; "
              f"1-min load average before: {load_average():.1f}", flush=True)
        t = alternate(commands, rounds, cwd=ROOT)
        summaries = {name: json.loads((Path(tmp) / folder / "summary.json").read_text())
                     for name, folder in folders.items()}
    def its(solver: dict) -> str:   # CG iterations; '-' for a direct solve
        return str(solver.get("ksp_iterations", "-")) if solver.get("linear_solver") == "iterative" else "-"

    print(f"{'route':<30} {'dofs':>9} {'cells':>8} {'CG its':>6} {'wall [s]':>9} {'cpu [s]':>8} | stages of the last run [s]")
    for name in commands:
        s = summaries[name]
        stages = ", ".join(f"{k} {v:.1f}" for k, v in s["timings_s"].items() if v >= 0.05)
        print(f"{name:<30} {s['solver']['dofs']:>9} {s['mesh']['cells']:>8} {its(s['solver']):>6} "
              f"{median(x.wall_s for x in t[name]):9.1f} "
              f"{median(x.cpu_s for x in t[name]):8.1f} | {stages}")
    r = ratios(t["gmsh only"], t["gmsh coarse + dolfinx split"])
    print(f"gmsh only / refined, wall, round by round: {', '.join(f'{x:.2f}' for x in r)} (median {median(r):.2f})")
    if args.against:
        name = f"split, code of {args.against}"
        r = ratios(t[name], t["gmsh coarse + dolfinx split"])
        print(f"{args.against} / this code, split route, wall, round by round: {', '.join(f'{x:.2f}' for x in r)} "
              f"(median {median(r):.2f})")
    a, b = (summaries[n]["metrics"] for n in ("gmsh only", "gmsh coarse + dolfinx split"))
    worst = max(abs(b[k] - a[k]) / max(abs(a[k]), 1e-30) for k in ("interface_normal_stress_mean_Pa", "von_mises_max_Pa"))
    print(f"largest relative difference of interface mean stress and max von Mises: {worst:.1e}")
    print(f"1-min load average after: {load_average():.1f}")


if __name__ == "__main__":
    main()
