"""Verdicts of the validation cases: the scenario runs they read, the context checks see, one case judged.

:func:`make_runs` makes every run the cases declare (in this process with ``-j 1``, else as
``ecmsim run`` processes through the runner of ``ecmsim sweep``); :class:`Context` hands a check
its runs (at h, at h/2, or of one sample of the uncertain inputs); :func:`evaluate` computes a
case, checks its convergence and judges it. Only the standard library is imported at module level.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

from ecmsim.studies.cases import ROOT, Case, converged, fmt, judge

PASS, FAIL, UNCONVERGED, ERROR = "PASS", "FAIL", "UNCONVERGED", "ERROR"
NOT_MODELLED, SKIPPED = "NOT YET MODELLED", "not run (--quick)"
STATUSES = (PASS, FAIL, UNCONVERGED, ERROR, NOT_MODELLED, SKIPPED)


# --- scenario runs ------------------------------------------------------------------------------------

def run_name(run) -> str:
    """The folder name of a run: scenario stem and a hash of scenario and overrides."""
    tag = hashlib.sha256(repr((run.scenario, tuple(run.overrides))).encode()).hexdigest()[:8]
    return f"{Path(run.scenario).stem}-{tag}"


def refined(run, root: Path):
    """The same run at h/2: ``mesh.size_m`` and ``mesh.interface_size_m`` halved."""
    from ecmsim import scenario as scenario_mod
    from ecmsim.studies.checks import Run

    mesh = scenario_mod.load(root / run.scenario, list(run.overrides)).mesh
    sets = [f"mesh.size_m={mesh.size_m / 2!r}"]
    if mesh.interface_size_m is not None:
        sets.append(f"mesh.interface_size_m={mesh.interface_size_m / 2!r}")
    return Run(run.scenario, (*run.overrides, *sets))


def make_runs(runs, root: Path, out: Path, subdir: str, jobs: int, say, resume: bool = False,
              names: dict | None = None) -> dict:
    """Make every run (``ecmsim run`` processes, ``jobs`` at a time) into ``out/subdir/<name>``, logs in
    ``out/logs/<name>.log``; Run -> folder. Every run's scenario is loaded first (a bad one raises
    before anything runs). Fresh runs unless ``resume`` (then a finished run of the same input hash
    is kept)."""
    from ecmsim import scenario as scenario_mod
    from ecmsim.studies.sweep import Point, _Runner, finished

    points: dict = {}
    cost: dict = {}
    for run in dict.fromkeys(runs):
        scn = scenario_mod.load(root / run.scenario, list(run.overrides))
        name = (names or {}).get(run) or run_name(run)
        points[run] = Point(name, {}, list(run.overrides), scn.input_hash(), scenario=root / run.scenario)
        # the longest first, so that the pool ends together: cycles, then the fibre cell, finer meshes first
        cost[name] = ((scn.protocol is not None) * 100 + (scn.fibre_readout is not None) * 100
                      + (scn.geometry.kind == "fbg_cell") * 10 + 1) / scn.mesh.size_m
    todo = sorted((p for p in points.values() if not (resume and finished(out / subdir / p.name, p.input_hash))),
                  key=lambda p: -cost[p.name])
    for p in todo:
        (out / subdir / p.name).parent.mkdir(parents=True, exist_ok=True)
        (out / "logs" / f"{p.name}.log").parent.mkdir(parents=True, exist_ok=True)
    if todo and jobs == 1:      # one at a time: in this process (no start-up per run, forms compiled once)
        say(f"{len(todo)} scenario run(s), one at a time in this process (logs in {out / 'logs'})")
        for i, p in enumerate(todo, 1):
            say(f"[{i}/{len(todo)}] {p.name}: {_run_here(p, out / subdir / p.name, out / 'logs' / f'{p.name}.log')}")
    elif todo:
        say(f"{len(todo)} scenario run(s), {jobs} at a time (logs in {out / 'logs'})")
        _Runner(None, out, jobs, say, subdir=subdir).run(todo)
    return {run: out / subdir / p.name for run, p in points.items()}


def _run_here(point, target: Path, log: Path) -> str:
    """One run in this process; a failure is written to its log and reported, not raised."""
    import contextlib
    import io

    from ecmsim.run.pipeline import run_scenario_file

    start = time.perf_counter()
    buf = io.StringIO()
    try:
        with contextlib.redirect_stdout(buf), contextlib.redirect_stderr(buf):
            run_scenario_file(point.scenario, out_dir=target, overrides=list(point.overrides), quiet=True)
        verdict = "done"
    except Exception as err:  # noqa: BLE001 - the case that reads this run reports it as ERROR
        buf.write(f"\n{_error(err)}\n")
        verdict = f"FAILED ({_error(err)})"
    log.write_text(f"$ ecmsim run {point.scenario} -o {target} "
                   + " ".join(f"--set {o}" for o in point.overrides) + "\n" + buf.getvalue())
    return f"{verdict} in {time.perf_counter() - start:.1f} s"


class UndeclaredRun(RuntimeError):
    """A check read a run that it does not declare."""


class Context:
    """What a check sees: the runs made for it (``run``), a folder for figures, shared caches.

    ``folders`` maps each declared Run to its result folder (made beforehand); without it (a check
    called from a script or a test) a run is made in-process on first use."""

    def __init__(self, out: Path, root: Path = ROOT, folders: dict | None = None, figures: Path | None = None):
        self.out, self.root = Path(out), Path(root)
        self.folders = folders
        self.figures = figures or self.out / "figures"
        self.cache: dict = {}

    def run(self, run, overrides=None) -> tuple[dict, Path]:
        """(summary, folder) of a declared run (a checks.Run, or a scenario path and overrides)."""
        from ecmsim.studies.checks import Run

        if not isinstance(run, Run):
            run = Run(str(run), tuple(overrides or ()))
        if self.folders is None:
            folder = self.out / "runs" / run_name(run)
            if run not in self.cache:
                from ecmsim.run.pipeline import run_scenario_file
                self.cache[run] = run_scenario_file(self.root / run.scenario, out_dir=folder,
                                                    overrides=list(run.overrides), quiet=True)
            return self.cache[run], folder
        if run not in self.folders:
            raise UndeclaredRun(f"the check reads {run.scenario} {list(run.overrides)}, a run it does not declare "
                                "(@check(..., runs=[...]) in ecmsim/studies/checks.py)")
        folder = self.folders[run]
        try:
            summary = json.loads((folder / "summary.json").read_text())
        except (OSError, ValueError):
            raise RuntimeError(f"the run {folder} failed (its log is under {self.out / 'logs'})") from None
        return summary, folder

    def profile_figure(self, name: str, runs: list) -> Path:
        """Compressive interface normal stress along x of one or more runs ((Run, label) pairs), one axes."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        for run, label in runs:
            _, folder = self.run(run)
            d = np.loadtxt(folder / "interface_profile.csv", delimiter=",", skiprows=1, ndmin=2)
            x, s = d[:, 0] * 1e6, -d[:, 2] / 1e6
            gaps = np.flatnonzero(np.diff(x) > 0.5) + 1      # voids: no interface there, no line across
            ax.plot(np.insert(x, gaps, np.nan), np.insert(s, gaps, np.nan), lw=0.8, label=label)
        ax.set_xlabel("x [µm]")
        ax.set_ylabel("compressive normal stress [MPa]")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
        fig.tight_layout()
        self.figures.mkdir(parents=True, exist_ok=True)
        path = self.figures / f"{name}.png"
        fig.savefig(path, dpi=110)
        plt.close(fig)
        return path


# --- one case -----------------------------------------------------------------------------------------

@dataclass
class Outcome:
    case: Case
    status: str
    simulated: float | None = None
    reference: float | None = None
    details: str = ""
    figures: list[Path] = field(default_factory=list)
    wall_s: float = 0.0
    simulated_h2: float | None = None
    converged: bool | None = None        # None: not a field quantity, or an analytic case
    convergence: str = ""
    band: tuple[float, float] | None = None
    uq: dict | None = None               # samples, values, sensitivity, r2, verdict
    judged_by: str = "tolerance"

    @property
    def ratio(self) -> float | None:
        ref = self.reference if self.reference is not None else self.case.value
        if self.simulated is None or not ref:
            return None
        return self.simulated / ref


def compute(case: Case, ctx: Context) -> tuple[float, float | None, str, list[Path]]:
    """value, reference (closed form) or None, details, figures."""
    if case.check:
        from ecmsim.studies.checks import spec
        res = spec(case.check).fn(ctx)
        return float(res.value), res.reference, res.details, list(res.figures)
    from ecmsim.studies.checks import Run
    summary, _ = ctx.run(Run(case.scenario, tuple(case.overrides)))
    sign, name = (-1.0, case.metric[1:]) if case.metric.startswith("-") else (1.0, case.metric)
    return sign * case.scale * float(summary["metrics"][name]), None, "", []


def _error(err: Exception) -> str:
    return f"{type(err).__name__}: {' '.join(str(err).split())}"


def evaluate(case: Case, ctx: Context, ctx_h2: Context | None = None) -> Outcome:
    """Compute one case, check its convergence, judge it."""
    if case.not_modelled:
        return Outcome(case, NOT_MODELLED, details=case.not_modelled)
    start = time.perf_counter()
    try:
        value, reference, details, figures = compute(case, ctx)
    except Exception as err:  # noqa: BLE001 - a case that cannot be computed is reported, not fatal
        return Outcome(case, ERROR, details=_error(err), wall_s=time.perf_counter() - start)
    reference = reference if reference is not None else case.value
    out = Outcome(case, PASS if judge(case, value, reference) else FAIL, value, reference, details, figures)
    tol = case.tolerance_abs(reference)
    if case.refine and ctx_h2 is not None:
        try:
            out.simulated_h2 = compute(case, ctx_h2)[0]
        except Exception as err:  # noqa: BLE001
            out.status, out.details = ERROR, f"at h/2: {_error(err)}"
        else:
            out.converged = converged(case, value, out.simulated_h2, reference)
            moved = abs(out.simulated_h2 - value)
            if tol:
                out.convergence = (f"at h/2 {fmt(out.simulated_h2, case.unit)}: moved {fmt(moved, case.unit)}, "
                                   f"{moved / tol:.2f} of the tolerance (limit 1/3)")
            else:
                out.convergence = (f"at h/2 {fmt(out.simulated_h2, case.unit)}: "
                                   + ("on the same side of the bound" if out.converged else "judged differently"))
    elif case.convergence_study:
        shift = case.convergence_shift or 0.0
        out.converged = shift <= tol / 3 if tol else None
        out.convergence = (f"{case.convergence_study}: moved {fmt(shift, case.unit)} from h to h/2"
                           + (f" ({shift / tol:.2f} of the tolerance; limit 1/3)" if tol else ""))
    elif case.not_a_field:
        out.convergence = f"no mesh: {case.not_a_field}"
    elif case.cls == "analytic":
        out.convergence = "against the closed form: the error is the discretisation error itself"
    if out.converged is False and out.status != ERROR:
        out.status = UNCONVERGED
    out.wall_s = time.perf_counter() - start
    return out
