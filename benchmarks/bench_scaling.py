"""Solve time and peak memory against degrees of freedom: 2D and 3D, direct and iterative, 1 and 2 ranks.

One run measures every point, each in its own process (so that the peak resident memory is that
point's own), and writes a table and a log-log plot with fitted exponents:

    python benchmarks/bench_scaling.py -o results/scaling         # the default ladder (about 15 min here)
    python benchmarks/bench_scaling.py --quick                    # small points only (about 1 min)
    python benchmarks/bench_scaling.py --point 3 iterative 2e5    # one point, JSON on stdout
    python benchmarks/bench_scaling.py --crossover                # where solver.linear = auto switches

Problem: the interface window of ``ecmsim run`` (Li on PLL, 2.4 MPa on top, roller sides, fixed
bottom), P2 displacements, uniform mesh size chosen for a target number of dofs: 2D a sinusoidal
interface (amplitude 3 um, wavelength 20 um) in a 40 x 35 um window, plane strain; 3D the flat
bilayer extruded 10 um along z (flat: gmsh meshes it quickly; the solver sees the same kind of
operator). "solve" is assembly + factorisation or AMG set-up + solve (forms compiled before the
clock starts); "memory" is the sum over ranks of each process's peak resident set size (whole
process: Python, dolfinx, mesh and solver). Results: OUT/bench_scaling.{md,png,json} (``--out``;
the committed tables in docs/figures were made with ``--out docs/figures``).
"""

from __future__ import annotations

import json
import math
import resource
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

WIDTH, H_ELECTRODE, H_ELECTROLYTE, DEPTH = 40e-6, 15e-6, 20e-6, 10e-6

#: (dimension, solver, target dofs) of the default ladder; the 3D direct ladder stops where MUMPS's
#: fill (N^(4/3) memory) would take minutes and many GiB on this 2-core machine.
LADDER = [
    *[(2, "direct", n) for n in (3e4, 1e5, 3e5, 1e6, 2e6)],
    *[(2, "iterative", n) for n in (3e4, 1e5, 3e5, 1e6, 2e6)],
    *[(3, "direct", n) for n in (1e4, 3e4, 1e5, 2e5, 3e5)],
    *[(3, "iterative", n) for n in (1e4, 3e4, 1e5, 3e5, 6e5)],
]
QUICK = [(2, "direct", 3e4), (2, "iterative", 3e4), (2, "iterative", 1e5), (3, "direct", 1e4),
         (3, "iterative", 1e4), (3, "iterative", 3e4)]
#: strong scaling: the same problem on 1 and 2 ranks
STRONG = [(2, "iterative", 1e6), (3, "iterative", 3e5), (2, "direct", 1e6)]
STRONG_QUICK = [(2, "iterative", 1e5), (3, "iterative", 3e4)]
#: the crossover of ``solver.linear = auto`` (``--crossover``): direct and iterative at the same
#: sizes, measured in turn (direct, iterative, direct, ...) so that both see the same load
CROSSOVER = {2: (1e5, 3e5, 6e5, 1e6, 2e6), 3: (1e4, 3e4, 6e4, 1e5, 2e5)}
CROSSOVER_QUICK = {2: (3e4, 1e5), 3: (1e4, 3e4)}


def mesh_size(dim: int, dofs: float) -> float:
    """Uniform element size giving about ``dofs`` P2 dofs (fitted on this window's meshes)."""
    if dim == 2:
        area = WIDTH * (H_ELECTRODE + H_ELECTROLYTE)
        return math.sqrt(9.2 * area / dofs)
    volume = WIDTH * (H_ELECTRODE + H_ELECTROLYTE) * DEPTH
    return (20.0 * volume / dofs) ** (1 / 3)


def point(dim: int, solver: str, dofs: float) -> dict:
    """Measure one point (collective under mpirun); returns the record on every rank."""
    from ecmsim import materials
    from ecmsim.core.fem import MPI
    from ecmsim.geometry import generators
    from ecmsim.mechanics.elasticity import stack_pressure_problem
    from ecmsim.mesh import MeshOptions, mesh_geometry

    comm = MPI.COMM_WORLD
    h = mesh_size(dim, dofs)
    if dim == 2:
        geo = generators.sinusoidal(WIDTH, H_ELECTRODE, H_ELECTROLYTE, 3e-6, 20e-6)
        options = MeshOptions(size_m=h, max_cells=50_000_000)
    else:
        geo = generators.flat(WIDTH, H_ELECTRODE, H_ELECTROLYTE)
        options = MeshOptions(size_m=h, max_cells=50_000_000, depth_m=DEPTH)
    t0 = time.perf_counter()
    tm = mesh_geometry(geo, options, comm)
    t_mesh = time.perf_counter() - t0
    mats = {"electrode": materials.get("Li"), "electrolyte": materials.get("PLL")}
    problem = stack_pressure_problem(tm, mats, 2.4e6, 2, linear=solver)
    comm.barrier()
    t0, c0 = time.perf_counter(), time.process_time()
    sol = problem.solve()
    c_solve = comm.allreduce(time.process_time() - c0, op=MPI.SUM)
    comm.barrier()
    t_solve = time.perf_counter() - t0
    uy = comm.allreduce(float(sol.u.x.array.reshape(-1, dim)[:, 1].min()), op=MPI.MIN)
    problem.close()
    rss = comm.allreduce(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss, op=MPI.SUM) / 2**20  # GiB
    return {"dim": dim, "solver": solver, "ranks": comm.size, "dofs": sol.info["dofs"],
            "cells": tm.num_cells_global(), "load_average": round(__import__("os").getloadavg()[0], 1), "mesh_s": round(t_mesh, 2), "solve_s": round(t_solve, 3),
            "solve_cpu_s": round(c_solve, 3),
            "iterations": sol.info["ksp_iterations"], "peak_memory_GiB": round(rss, 3), "u_y_min_m": uy}


def run_point(dim: int, solver: str, dofs: float, ranks: int = 1, timeout: float = 600) -> dict | None:
    cmd = [sys.executable, str(Path(__file__).resolve()), "--point", str(dim), solver, f"{dofs:g}"]
    if ranks > 1:
        import shutil
        beside = Path(sys.executable).parent / "mpirun"    # the MPICH wheel puts it in the venv
        cmd = [str(beside) if beside.exists() else shutil.which("mpirun") or "mpirun", "-n", str(ranks), *cmd]
    t0 = time.perf_counter()
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired:
        print(f"  {dim}D {solver} {dofs:.0e} x{ranks}: over {timeout:.0f} s, skipped", flush=True)
        return None
    lines = [ln for ln in proc.stdout.splitlines() if ln.startswith("{")]
    if proc.returncode != 0 or not lines:
        print(f"  {dim}D {solver} {dofs:.0e} x{ranks}: failed\n{proc.stderr[-2000:]}", flush=True)
        return None
    rec = json.loads(lines[-1])
    rec["wall_s"] = round(time.perf_counter() - t0, 1)
    print(f"  {rec['dim']}D {rec['solver']:9s} ranks {rec['ranks']}  dofs {rec['dofs']:>9d}  solve "
          f"{rec['solve_s']:8.2f} s (cpu {rec['solve_cpu_s']:7.2f} s)  its {rec['iterations']:4d}  memory {rec['peak_memory_GiB']:6.2f} GiB  "
          f"(mesh {rec['mesh_s']:.1f} s, wall {rec['wall_s']:.0f} s)", flush=True)
    return rec


def fit_exponent(records: list[dict], key: str = "solve_s", min_dofs: float = 0) -> float | None:
    import numpy as np

    pts = [(r["dofs"], r[key]) for r in records if r["dofs"] >= min_dofs and r[key] > 0]
    if len(pts) < 2:
        return None
    n, t = np.array(pts, dtype=float).T
    return float(np.polyfit(np.log(n), np.log(t), 1)[0])


def crossover(records: list[dict], dim: int, key: str = "solve_cpu_s") -> tuple[list[tuple[int, float, float]], float | None]:
    """Direct / iterative ratio of ``key`` at the sizes measured with both (1 rank), and the size where it is 1.

    Returns ``(rows, n_cross)``: rows of (dofs, direct / iterative CPU time, direct / iterative memory)
    and the dofs where the time ratio crosses 1 (log-log interpolation between the bracketing sizes;
    None if it never crosses in the measured range)."""
    one = [r for r in records if r["dim"] == dim and r["ranks"] == 1]
    rows = []
    for d in sorted((r for r in one if r["solver"] == "direct"), key=lambda r: r["dofs"]):
        it = next((r for r in one if r["solver"] == "iterative" and abs(math.log(r["dofs"] / d["dofs"])) < 0.05), None)
        if it and it[key] > 0 and it["peak_memory_GiB"] > 0:
            rows.append((d["dofs"], d[key] / it[key], d["peak_memory_GiB"] / it["peak_memory_GiB"]))
    for (n0, r0, _), (n1, r1, _) in zip(rows, rows[1:]):
        if r0 <= 1.0 < r1:
            t = math.log(r0) / (math.log(r0) - math.log(r1))
            return rows, math.exp(math.log(n0) + t * (math.log(n1) - math.log(n0)))
    return rows, None


def report(records: list[dict], strong: list[tuple[dict, dict]], out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.mkdir(parents=True, exist_ok=True)
    (out / "bench_scaling.json").write_text(json.dumps({"points": records, "strong": strong}, indent=1) + "\n")
    lines = ["| dim | solver | ranks | dofs | cells | solve CPU [s] | solve wall [s] | iterations | peak memory [GiB] "
             "| load average |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in sorted(records, key=lambda r: (r["dim"], r["solver"], r["ranks"], r["dofs"])):
        lines.append(f"| {r['dim']}D | {r['solver']} | {r['ranks']} | {r['dofs']} | {r['cells']} | "
                     f"{r['solve_cpu_s']:.2f} | {r['solve_s']:.2f} | {r['iterations']} | {r['peak_memory_GiB']:.2f} | "
                     f"{r.get('load_average', float('nan')):.1f} |")
    lines += ["", "CPU = process CPU time summed over ranks (what the solve costs; wall time on this shared "
              "2-core machine is inflated by the other jobs' load, see the load average).", "",
              "Fitted exponents (solve CPU time ~ N^a, wall ~ N^a', memory ~ N^b; points with N >= 1e5 in 2D, "
              ">= 2e4 in 3D):", "", "| dim | solver | a (CPU time) | a' (wall) | b (memory) |", "|---|---|---|---|---|"]
    fig, axes = plt.subplots(1, 2, figsize=(11, 4.2))
    for dim, solver, marker in ((2, "direct", "s"), (2, "iterative", "o"), (3, "direct", "^"), (3, "iterative", "D")):
        sel = sorted([r for r in records if r["dim"] == dim and r["solver"] == solver and r["ranks"] == 1],
                     key=lambda r: r["dofs"])
        if not sel:
            continue
        floor = 1e5 if dim == 2 else 2e4
        a, w, b = (fit_exponent(sel, key, floor) for key in ("solve_cpu_s", "solve_s", "peak_memory_GiB"))
        lines.append(f"| {dim}D | {solver} |" + "".join(f" {v:.2f} |" if v is not None else " - |" for v in (a, w, b)))
        label = f"{dim}D {solver}" + (f" (N^{a:.2f})" if a is not None else "")
        n = [r["dofs"] for r in sel]
        axes[0].loglog(n, [r["solve_cpu_s"] for r in sel], marker=marker, label=label)
        axes[1].loglog(n, [r["peak_memory_GiB"] for r in sel], marker=marker,
                       label=f"{dim}D {solver}" + (f" (N^{b:.2f})" if b is not None else ""))
    if strong:
        lines += ["", "Strong scaling (same problem, 1 and 2 ranks; wall speed-ups on this shared machine follow the "
                  "other jobs' load, the work efficiency does not):", "",
                  "| dim | solver | dofs | 1 rank wall [s] | 2 ranks wall [s] | speed-up | efficiency | 1 rank CPU [s] "
                  "| 2 ranks CPU, sum [s] | work efficiency (CPU 1 / CPU 2) | iterations 1 / 2 |",
                  "|---|---|---|---|---|---|---|---|---|---|---|"]
        for one, two in strong:
            s = one["solve_s"] / two["solve_s"]
            lines.append(f"| {one['dim']}D | {one['solver']} | {one['dofs']} | {one['solve_s']:.2f} | "
                         f"{two['solve_s']:.2f} | {s:.2f} | {s / 2:.0%} | {one['solve_cpu_s']:.2f} | "
                         f"{two['solve_cpu_s']:.2f} | {one['solve_cpu_s'] / two['solve_cpu_s']:.0%} | "
                         f"{one['iterations']} / {two['iterations']} |")
    for dim in (2, 3):
        rows, n_cross = crossover(records, dim)
        if not rows:
            continue
        lines += ["", f"Crossover in {dim}D (1 rank; direct / iterative, same sizes measured in turn):", "",
                  "| dofs | CPU time direct / iterative | memory direct / iterative |", "|---|---|---|"]
        lines += [f"| {n} | {t:.2f} | {m:.2f} |" for n, t, m in rows]
        lines += ["", f"direct costs the iterative solver's CPU time at {n_cross:.3g} dofs" if n_cross else
                  f"no crossover of CPU time between {rows[0][0]} and {rows[-1][0]} dofs"]
    axes[0].set(xlabel="degrees of freedom", ylabel="solve CPU time [s]", title="solve time (1 rank, CPU)")
    axes[1].set(xlabel="degrees of freedom", ylabel="peak memory [GiB]", title="peak resident memory (1 rank)")
    for ax in axes:
        ax.grid(True, which="both", alpha=0.3)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out / "bench_scaling.png", dpi=120)
    (out / "bench_scaling.md").write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def main() -> None:
    from common import out_dir, parser as bench_parser

    parser = bench_parser(__doc__, "bench_scaling")
    parser.add_argument("--point", nargs=3, metavar=("DIM", "SOLVER", "DOFS"), help="measure one point (JSON)")
    parser.add_argument("--only", choices=["ladder", "strong"], help="measure only one part")
    parser.add_argument("--crossover", action="store_true",
                        help="measure direct and iterative in turn at the sizes around the crossover of "
                             "solver.linear = auto (2D and 3D, 1 rank) and report the crossover")
    parser.add_argument("--merge", action="store_true", help="add to the records of the last run in the --out folder")
    parser.add_argument("--report", action="store_true", help="only redo table and plot from the last run in the --out folder")
    parser.add_argument("--timeout", type=float, default=600.0, help="seconds one point may take (default 600)")
    parser.add_argument("--add", nargs=3, action="append", metavar=("DIM", "SOLVER", "DOFS"),
                        help="measure this point (repeatable) and add it to the records in the --out folder")
    args = parser.parse_args()
    if args.report:
        old = json.loads((args.out / "bench_scaling.json").read_text())
        report(old["points"], [tuple(p) for p in old["strong"]], args.out)
        return
    if args.point:
        rec = point(int(args.point[0]), args.point[1], float(args.point[2]))
        from ecmsim.core.fem import MPI
        if MPI.COMM_WORLD.rank == 0:
            print(json.dumps(rec), flush=True)
        return
    out = out_dir(args.out)
    records, strong = [], []
    if (args.merge or args.add) and (out / "bench_scaling.json").exists():
        old = json.loads((out / "bench_scaling.json").read_text())
        records, strong = old["points"], [tuple(p) for p in old["strong"]]
    if args.add:
        for dim, solver, n in args.add:
            rec = run_point(int(dim), solver, float(n), timeout=args.timeout)
            if rec:
                records.append(rec)
        report(records, strong, out)
        return
    if args.crossover:
        for dim, sizes in (CROSSOVER_QUICK if args.quick else CROSSOVER).items():
            for n in sizes:
                for solver in ("direct", "iterative"):
                    rec = run_point(dim, solver, n, timeout=args.timeout)
                    if rec:
                        records.append(rec)
        report(records, strong, out)
        return
    if args.only != "strong":
        for dim, solver, n in (QUICK if args.quick else LADDER):
            rec = run_point(dim, solver, n, timeout=args.timeout)
            if rec:
                records.append(rec)
    if args.only != "ladder":
        for dim, solver, n in (STRONG_QUICK if args.quick else STRONG):
            one = next((r for r in records if (r["dim"], r["solver"], r["ranks"]) == (dim, solver, 1)
                        and abs(math.log(r["dofs"] / n)) < 0.3), None) or run_point(dim, solver, n, timeout=args.timeout)
            two = run_point(dim, solver, n, ranks=2, timeout=args.timeout)
            if one and two:
                if one not in records:
                    records.append(one)
                records.append(two)
                strong.append((one, two))
    report(records, strong, out)


if __name__ == "__main__":
    main()
