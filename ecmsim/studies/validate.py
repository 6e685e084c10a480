"""``ecmsim validate [-o DIR] [--quick]``: every case in ``validation/cases/`` against its reference.

A case is one TOML file (format in docs/validation.md)::

    quantity = "stress concentration factor at a circular hole (Kirsch)"
    kind = "analytic"                 # analytic | cross-code | measured
    unit = "-"                        # SI unit of the values below
    quick = true                      # part of --quick
    [reference]
    value = 3.0                       # or: range = [lo, hi] | min = x | max = x
    source = "Kirsch (1898); any elasticity text"
    [tolerance]                       # fixed before the comparison
    relative = 3e-3                   # or: absolute = ... [unit]
    reason = "P2, h = a/20 at the hole: the test suite measured the error falling under refinement"
    [simulated]
    check = "kirsch_stress_concentration"           # a function of ecmsim.studies.checks
    # or: scenario = "scenarios/flat_bilayer.toml", set = ["output.fields=false"],
    #     metric = "interface_normal_stress_mean_Pa" (a leading "-" negates it)
    [not_modelled]                    # instead of [simulated]: the package cannot compute it yet
    reason = "needs the fibre inside the cell cross-section"

A case passes when the simulated value is within the tolerance of the reference value (or
inside the range, or on the right side of the bound, widened by the tolerance if one is given).
Cases that cannot be computed yet are reported as NOT YET MODELLED, never as passed; a case whose
computation raises is ERROR. ``understood`` (optional, top level) says what is known about a
disagreement and is printed beside a FAIL.

Writes ``report.md`` and ``figures/*.png`` into DIR (default ``validation/``); scenario runs go
to ``DIR/runs/``. Exit status 0 when no case failed, 1 otherwise, 2 for a malformed case file.
Only the standard library is imported at module level.
"""

from __future__ import annotations

import argparse
import math
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

#: The repository root (validation/ and scenarios/ are found from here).
ROOT = Path(__file__).resolve().parents[2]
CASES_DIR = ROOT / "validation" / "cases"
KINDS = ("analytic", "cross-code", "measured")

PASS, FAIL, ERROR, NOT_MODELLED, SKIPPED = "PASS", "FAIL", "ERROR", "NOT YET MODELLED", "not run (--quick)"

#: How values are shown: SI unit -> (display unit, factor SI per display unit)
DISPLAY = {"Pa": ("MPa", 1e6), "m": ("pm", 1e-12), "m/K": ("pm/K", 1e-12), "m/Pa": ("pm/MPa", 1e-18),
           "m/microstrain": ("pm/µε", 1e-12), "V": ("mV", 1e-3)}


def register(subparsers) -> None:
    p = subparsers.add_parser("validate", help="run the validation cases and write validation/report.md",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("-o", "--out", help="report folder (default: validation/)")
    p.add_argument("--quick", action="store_true", help="only the cases marked quick (a few minutes)")
    p.add_argument("--cases", help="case folder (default: validation/cases)")
    p.add_argument("--overwrite", action="store_true",
                   help="replace report.md and figures in -o even if ecmsim did not write them")
    p.add_argument("-k", dest="select", help="only cases whose name contains this text")
    p.set_defaults(handler=_validate)


# --- cases ------------------------------------------------------------------------------------------

@dataclass
class Case:
    """One validation case as read from its TOML file (values in SI units)."""

    name: str
    path: Path
    quantity: str
    kind: str
    unit: str
    quick: bool
    source: str
    value: float | None = None
    range: tuple[float, float] | None = None
    lower: float | None = None
    upper: float | None = None
    relative: float | None = None
    absolute: float | None = None
    tolerance_reason: str = ""
    check: str | None = None
    scenario: str | None = None
    overrides: list[str] = field(default_factory=list)
    metric: str | None = None
    not_modelled: str | None = None
    understood: str = ""

    def tolerance_abs(self, reference: float | None) -> float:
        """The tolerance as an absolute amount [unit] (0 without one)."""
        if self.absolute is not None:
            return self.absolute
        if self.relative is not None and reference is not None:
            return self.relative * abs(reference)
        return 0.0


def _bad(path: Path, key: str, value: Any, allowed: str):
    from ecmsim.core.errors import InputFileError
    return InputFileError(f"{path}: {key} = {value!r}: {allowed}")


def _number(path: Path, key: str, value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise _bad(path, key, value, "must be a finite number")
    return float(value)


def load_case(path: Path) -> Case:
    """Read and check one case file; InputFileError (one line) for anything malformed."""
    from ecmsim.core.errors import InputFileError

    from ecmsim.scenario.load import read_toml

    data = read_toml(path, "validation case", InputFileError)
    known = {"quantity", "kind", "unit", "quick", "reference", "tolerance", "simulated", "not_modelled", "understood"}
    extra = sorted(set(data) - known)
    if extra:
        raise _bad(path, extra[0], data[extra[0]], f"unknown key (allowed: {', '.join(sorted(known))})")
    for key in ("quantity", "unit"):
        if not isinstance(data.get(key), str) or not data[key].strip():
            raise _bad(path, key, data.get(key), "must be a non-empty string")
    if data.get("kind") not in KINDS:
        raise _bad(path, "kind", data.get("kind"), f"must be one of {', '.join(KINDS)}")
    ref = data.get("reference")
    if not isinstance(ref, dict) or not isinstance(ref.get("source"), str) or not ref["source"].strip():
        raise _bad(path, "reference.source", (ref or {}).get("source") if isinstance(ref, dict) else ref,
                   "every case names the source of its reference value")
    case = Case(name=path.stem, path=path, quantity=data["quantity"], kind=data["kind"], unit=data["unit"],
                quick=bool(data.get("quick", False)), source=ref["source"], understood=data.get("understood", ""))
    forms = [k for k in ("value", "range", "min", "max") if k in ref]
    computed = isinstance(data.get("simulated"), dict) and data["simulated"].get("check") is not None
    if len(forms) > 1 or (not forms and not computed and "not_modelled" not in data):
        raise _bad(path, "reference", {k: ref[k] for k in forms},
                   "give exactly one of value, range = [lo, hi], min, max (or a check that computes the value)")
    if "value" in ref:
        case.value = _number(path, "reference.value", ref["value"])
    elif "range" in ref:
        r = ref["range"]
        if not (isinstance(r, list) and len(r) == 2):
            raise _bad(path, "reference.range", r, "must be [lo, hi]")
        lo, hi = (_number(path, "reference.range", v) for v in r)
        if lo > hi:
            raise _bad(path, "reference.range", r, "needs lo <= hi")
        case.range = (lo, hi)
    elif "min" in ref:
        case.lower = _number(path, "reference.min", ref["min"])
    elif "max" in ref:
        case.upper = _number(path, "reference.max", ref["max"])

    if "not_modelled" in data:
        reason = data["not_modelled"].get("reason") if isinstance(data["not_modelled"], dict) else None
        if not isinstance(reason, str) or not reason.strip():
            raise _bad(path, "not_modelled.reason", reason, "must say why the package cannot compute it yet")
        case.not_modelled = reason
        if "simulated" in data:
            raise _bad(path, "simulated", "...", "a case is either [simulated] or [not_modelled], not both")
        return case

    tol = data.get("tolerance")
    if not isinstance(tol, dict) or not isinstance(tol.get("reason"), str) or not tol["reason"].strip():
        raise _bad(path, "tolerance.reason", (tol or {}).get("reason") if isinstance(tol, dict) else tol,
                   "every computed case states its tolerance and why, before the comparison")
    if "relative" in tol and "absolute" in tol:
        raise _bad(path, "tolerance", tol, "give relative or absolute, not both")
    if "relative" in tol:
        case.relative = _number(path, "tolerance.relative", tol["relative"])
    if "absolute" in tol:
        case.absolute = _number(path, "tolerance.absolute", tol["absolute"])
    if case.value is not None or (computed and not forms):
        if case.relative is None and case.absolute is None:
            raise _bad(path, "tolerance", tol, "a reference value needs tolerance.relative or tolerance.absolute")
    for v in (case.relative, case.absolute):
        if v is not None and v < 0:
            raise _bad(path, "tolerance", v, "must be >= 0")
    case.tolerance_reason = tol["reason"]

    sim = data.get("simulated")
    if not isinstance(sim, dict):
        raise _bad(path, "simulated", sim, "a computed case needs a [simulated] table (or [not_modelled])")
    if "check" in sim:
        from ecmsim.studies.checks import CHECKS
        if sim["check"] not in CHECKS:
            raise _bad(path, "simulated.check", sim["check"], f"unknown check (known: {', '.join(sorted(CHECKS))})")
        case.check = sim["check"]
    else:
        for key in ("scenario", "metric"):
            if not isinstance(sim.get(key), str):
                raise _bad(path, f"simulated.{key}", sim.get(key), "needed without simulated.check")
        case.scenario, case.metric = sim["scenario"], sim["metric"]
        case.overrides = list(sim.get("set", []))
        if not (ROOT / case.scenario).is_file():
            raise _bad(path, "simulated.scenario", case.scenario, "no such scenario file (relative to the repository)")
    return case


def load_cases(folder: Path) -> list[Case]:
    from ecmsim.core.errors import InputFileError

    files = sorted(Path(folder).glob("*.toml"))
    if not files:
        raise InputFileError(f"{folder}: no validation cases (*.toml) found")
    cases = [load_case(f) for f in files]
    return sorted(cases, key=lambda c: (KINDS.index(c.kind), c.not_modelled is not None, c.name))


# --- judging -----------------------------------------------------------------------------------------

def judge(case: Case, simulated: float, reference: float | None = None) -> bool:
    """True when ``simulated`` meets the case's reference within its tolerance (fixed in the file)."""
    ref = reference if reference is not None else case.value
    if not math.isfinite(simulated):
        return False
    if ref is not None:
        return abs(simulated - ref) <= case.tolerance_abs(ref)
    tol = case.tolerance_abs(None)
    if case.range is not None:
        return case.range[0] - tol <= simulated <= case.range[1] + tol
    if case.lower is not None:
        return simulated >= case.lower - tol
    if case.upper is not None:
        return simulated <= case.upper + tol
    raise AssertionError(f"case {case.name} has no reference")  # load_case makes this impossible


@dataclass
class Outcome:
    case: Case
    status: str
    simulated: float | None = None
    reference: float | None = None
    details: str = ""
    figures: list[Path] = field(default_factory=list)
    wall_s: float = 0.0


class Context:
    """What checks share: scenario runs (each distinct scenario + overrides runs once) and figures."""

    def __init__(self, out: Path, figures: Path | None = None):
        self.out = out
        self.runs: dict[tuple, tuple[dict, Path]] = {}
        self.figures = figures or out / "figures"

    def run(self, scenario: str, overrides: list[str]) -> tuple[dict, Path]:
        """Run ``scenario`` (path relative to the repository) with ``overrides``; summary, folder."""
        key = (scenario, tuple(overrides))
        if key not in self.runs:
            import hashlib

            from ecmsim.run.pipeline import run_scenario_file

            tag = hashlib.sha256(repr(key).encode()).hexdigest()[:8]
            folder = self.out / "runs" / f"{Path(scenario).stem}-{tag}"
            summary = run_scenario_file(ROOT / scenario, out_dir=folder, overrides=list(overrides), quiet=True)
            self.runs[key] = (summary, folder)
        return self.runs[key]

    def profile_figure(self, name: str, runs: list[tuple[str, list[str], str]]) -> Path:
        """Interface normal stress along x of one or more runs, on one axes."""
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
        import numpy as np

        fig, ax = plt.subplots(figsize=(6.4, 3.2))
        for scenario, overrides, label in runs:
            _, folder = self.run(scenario, overrides)
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


def evaluate(case: Case, ctx: Context) -> Outcome:
    """Compute one case and judge it."""
    if case.not_modelled:
        return Outcome(case, NOT_MODELLED, details=case.not_modelled)
    start = time.perf_counter()
    try:
        if case.check:
            from ecmsim.studies.checks import CHECKS
            res = CHECKS[case.check](ctx)
            value, reference, details, figures = res.value, res.reference, res.details, list(res.figures)
        else:
            summary, _ = ctx.run(case.scenario, case.overrides)
            sign, name = (-1.0, case.metric[1:]) if case.metric.startswith("-") else (1.0, case.metric)
            value, reference, details, figures = sign * float(summary["metrics"][name]), None, "", []
    except Exception as err:  # noqa: BLE001 - a case that cannot be computed is reported, not fatal
        return Outcome(case, ERROR, details=f"{type(err).__name__}: {' '.join(str(err).split())}",
                       wall_s=time.perf_counter() - start)
    wall = time.perf_counter() - start
    reference = reference if reference is not None else case.value
    status = PASS if judge(case, value, reference) else FAIL
    return Outcome(case, status, value, reference, details, figures, wall)


# --- the report ---------------------------------------------------------------------------------------

def fmt(value: float | None, unit: str) -> str:
    """A value in its display unit, e.g. 2.4e6 Pa -> '2.4 MPa'."""
    if value is None:
        return "—"
    shown, factor = DISPLAY.get(unit, (unit, 1.0))
    if value != 0 and abs(value / factor) < 1e-2:  # far below the display unit: stay in SI
        shown, factor = unit, 1.0
    text = f"{value / factor:.6g}"
    return text if shown == "-" else f"{text} {shown}"


def reference_text(o: Outcome) -> str:
    c = o.case
    if o.reference is not None or c.value is not None:
        return fmt(o.reference if o.reference is not None else c.value, c.unit)
    if c.range is not None:
        return f"{fmt(c.range[0], c.unit)} … {fmt(c.range[1], c.unit)}"
    if c.lower is not None:
        return f"≥ {fmt(c.lower, c.unit)}"
    if c.upper is not None:
        return f"≤ {fmt(c.upper, c.unit)}"
    return "—"


def tolerance_text(c: Case) -> str:
    if c.not_modelled:
        return "—"
    if c.relative is not None:
        return f"± {c.relative:.3g} (relative)" if c.relative < 0.01 else f"± {c.relative:.0%}"
    if c.absolute is not None:
        return f"± {fmt(c.absolute, c.unit)}"
    return "none (the bound itself)"


def case_figure(o: Outcome, folder: Path) -> Path | None:
    """A strip: the accepted band (reference ± tolerance, or the range/bound) and the simulated value."""
    if o.simulated is None:
        return None
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    c = o.case
    shown, factor = DISPLAY.get(c.unit, (c.unit, 1.0))
    tol = c.tolerance_abs(o.reference)
    if o.reference is not None:
        lo, hi, mid = o.reference - tol, o.reference + tol, o.reference
    elif c.range is not None:
        lo, hi, mid = c.range[0] - tol, c.range[1] + tol, None
    elif c.lower is not None:
        lo, hi, mid = c.lower - tol, math.inf, c.lower
    else:
        lo, hi, mid = -math.inf, c.upper + tol, c.upper
    finite = [v for v in (lo, hi, o.simulated, mid) if v is not None and math.isfinite(v)]
    span = (max(finite) - min(finite)) or abs(finite[0]) or 1.0
    left, right = min(finite) - 0.3 * span, max(finite) + 0.3 * span
    fig, ax = plt.subplots(figsize=(6.4, 1.8))
    ax.axvspan(max(lo, left) / factor, min(hi, right) / factor, color="tab:green", alpha=0.25, label="accepted")
    if mid is not None:
        ax.axvline(mid / factor, color="tab:green", lw=1)
    colour = {PASS: "tab:blue", FAIL: "tab:red"}.get(o.status, "tab:grey")
    ax.plot([o.simulated / factor], [0.5], "o", color=colour, ms=9, label=f"simulated ({o.status})")
    ax.set_xlim(left / factor, right / factor)
    ax.set_yticks([])
    ax.set_xlabel(shown if shown != "-" else "[-]")
    import textwrap
    ax.set_title("\n".join(textwrap.wrap(f"{c.name}: {c.quantity}", 110)), fontsize=7)
    ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{c.name}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


def write_report(outcomes: list[Outcome], out: Path, quick: bool, total_s: float) -> Path:
    """report.md: a summary table, then each case in full."""
    from ecmsim.core.version import __version__

    counts = {s: sum(o.status == s for o in outcomes) for s in (PASS, FAIL, ERROR, NOT_MODELLED, SKIPPED)}
    lines = [
        "# ecmsim validation report",
        "",
        f"`ecmsim validate{' --quick' if quick else ''}`, ecmsim {__version__}, "
        f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, total wall time {total_s:.1f} s.",
        "",
        "Every tolerance below was fixed in the case file (`validation/cases/`) before the comparison,",
        "with its reason. NOT YET MODELLED: the package cannot compute the quantity yet; it is never a pass.",
        "Wall times: a scenario run shared by several cases counts in the first case that needs it.",
        "",
        "**" + ", ".join(f"{n} {s}" for s, n in counts.items() if n) + "**",
        "",
        "| case | kind | quantity | reference | simulated | tolerance | result | wall time |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        c = o.case
        sim = fmt(o.simulated, c.unit) if o.simulated is not None else "—"
        wall = f"{o.wall_s:.1f} s" if o.status not in (NOT_MODELLED, SKIPPED) else "—"
        quantity = c.quantity.replace("|", "\\|")
        lines.append(f"| [{c.name}](#{c.name.lower()}) | {c.kind} | {quantity} | {reference_text(o)} | "
                     f"{sim} | {tolerance_text(c)} | **{o.status}** | {wall} |")
    lines.append("")
    for o in outcomes:
        c = o.case
        where = c.path.relative_to(ROOT) if c.path.is_relative_to(ROOT) else c.path
        lines += [f"## {c.name}", "", f"*{c.quantity}* ({c.kind}; `{where}`)", "",
                  f"- reference: {reference_text(o) + ' — ' if reference_text(o) != '—' else ''}{c.source}"]
        if c.not_modelled:
            lines += [f"- **NOT YET MODELLED**: {c.not_modelled}", ""]
            continue
        sets = "".join(f" --set {s}" for s in c.overrides)
        how = f"check `{c.check}`" if c.check else f"`ecmsim run {c.scenario}{sets}`, metric `{c.metric}`"
        lines += [f"- simulated: {fmt(o.simulated, c.unit) if o.simulated is not None else '—'} ({how})"
                  + (f"; {o.details}" if o.details and o.status != ERROR else ""),
                  f"- tolerance: {tolerance_text(c)} — {c.tolerance_reason}",
                  f"- result: **{o.status}**" + (f" in {o.wall_s:.1f} s" if o.status != SKIPPED else "")]
        if o.status == ERROR:
            lines.append(f"- error: {o.details}")
        if o.status in (FAIL, ERROR) and c.understood:
            lines.append(f"- what is understood: {c.understood}")
        for fig in o.figures:
            rel = fig.relative_to(out) if fig.is_relative_to(out) else fig
            lines.append(f"\n![{fig.stem}]({rel})")
        lines.append("")
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path


def run_validation(out: str | Path | None = None, quick: bool = False, cases_dir: str | Path | None = None,
                   select: str | None = None, echo=print, overwrite: bool = False) -> tuple[list[Outcome], Path]:
    """Load every case (all are checked before anything runs), evaluate, write the report and its
    figures as one group of files (ecmsim.io.folders.result_files: the folder may hold others)."""
    from ecmsim.io.folders import result_files

    out = Path(out) if out else ROOT / "validation"
    cases = load_cases(Path(cases_dir) if cases_dir else CASES_DIR)
    if select:
        cases = [c for c in cases if select in c.name]
    evaluated = [c for c in cases if not (quick and not c.quick and not c.not_modelled)]
    names = ["report.md", *(f"figures/{c.name}.png" for c in evaluated if not c.not_modelled)]
    with result_files(out, names, command="validate", overwrite=overwrite) as stage:
        ctx = Context(out, stage / "figures")
        outcomes: list[Outcome] = []
        start = time.perf_counter()
        for c in cases:
            if c not in evaluated:
                outcomes.append(Outcome(c, SKIPPED))
                echo(f"[validate] {SKIPPED:16s} {c.name}")
                continue
            o = evaluate(c, ctx)
            if o.simulated is not None:
                fig = case_figure(o, ctx.figures)
                o.figures.insert(0, fig) if fig else None
            outcomes.append(o)
            shown = fmt(o.simulated, c.unit) if o.simulated is not None else ""
            echo(f"[validate] {o.status:16s} {c.name:40s} {shown:>16s}  ref {reference_text(o):>22s}"
                 + (f"  {o.wall_s:6.1f} s" if o.status not in (NOT_MODELLED, SKIPPED) else ""))
        write_report(outcomes, stage, quick, time.perf_counter() - start)
    report = out / "report.md"
    return outcomes, report


def _validate(args: argparse.Namespace) -> int:
    from ecmsim.core.errors import EcmsimError
    from ecmsim.studies.sweep import launcher_size

    if launcher_size() > 1:  # each case decides its own parallelism; ranks would race on report.md
        raise EcmsimError("ecmsim validate runs as one process: start it without mpirun")
    outcomes, report = run_validation(args.out, args.quick, args.cases, args.select,
                                      overwrite=args.overwrite)
    failed = [o.case.name for o in outcomes if o.status in (FAIL, ERROR)]
    print(f"[validate] report: {report}" + (f"; failed: {', '.join(failed)}" if failed else ""))
    return 1 if failed else 0
