"""The report of ``ecmsim validate``: ``report.md`` for people, ``report.json`` for programs, figures.

``report.json`` (schema ``ecmsim-validation-report/1``, docs/validation.md): the command, version,
date and wall time, counts per class and verdict, the uncertain inputs when ``--uq`` ran, and per
case: name, quantity, class, reference_kind, compares_with, reference (value or closed form),
reference_lo / reference_hi (range or bound), unit, simulated, simulated_h2, ratio, band_lo,
band_hi, band_samples, sensitivity, tolerance, verdict, judged_by, converged, understood, details.
Only the standard library is imported at module level.
"""

from __future__ import annotations

import json
import math
import textwrap
import time
from pathlib import Path

from ecmsim.studies.cases import CLASSES, DISPLAY, fmt  # noqa: F401 (fmt: the report's number format)

SCHEMA = "ecmsim-validation-report/1"


def reference_text(o) -> str:
    return value_text(o.case, o.reference)


def value_text(c, reference: float | None = None) -> str:
    """A case's reference as shown: the value (or the closed form computed), the range or the bound."""
    if reference is not None or c.value is not None:
        return fmt(reference if reference is not None else c.value, c.unit)
    if c.range is not None:
        return f"{fmt(c.range[0], c.unit)} … {fmt(c.range[1], c.unit)}"
    if c.lower is not None:
        return f"≥ {fmt(c.lower, c.unit)}"
    if c.upper is not None:
        return f"≤ {fmt(c.upper, c.unit)}"
    return "—"


def tolerance_text(c) -> str:
    if c.not_modelled:
        return "—"
    if c.relative is not None:
        return f"± {c.relative:.3g} (relative)" if c.relative < 0.01 else f"± {c.relative:.0%}"
    if c.absolute is not None:
        return f"± {fmt(c.absolute, c.unit)}"
    return "none (the bound itself)"


def band_text(o) -> str:
    if o.band is None:
        return "—"
    lo, hi = o.band
    return f"{fmt(lo, o.case.unit)} … {fmt(hi, o.case.unit)}"


def converged_text(o) -> str:
    return {True: "yes", False: "**no**", None: "—"}[o.converged]


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def counts(outcomes) -> dict[str, dict[str, int]]:
    """class -> verdict -> number of cases."""
    from ecmsim.studies.verdicts import STATUSES

    return {cls: {s: sum(o.case.cls == cls and o.status == s for o in outcomes) for s in STATUSES}
            for cls in CLASSES}


def headline(outcomes) -> str:
    from ecmsim.studies.verdicts import PASS, SKIPPED

    pred = [o for o in outcomes if o.case.cls == "predicted"]
    ran = [o for o in pred if o.status != SKIPPED and not o.case.not_modelled]
    passed = sum(o.status == PASS for o in ran)
    if not ran:
        return (f"**No `predicted` case ran** ({len(pred)} not run): this report holds no evidence from prediction, "
                "only checks of the code, of another code, or of a fit.")
    by = "their 5–95 % band" if any(o.judged_by == "band" for o in ran) else "their tolerance"
    return (f"**{passed} of {len(ran)} `predicted` cases pass** (judged by {by})"
            + (f", {len(pred) - len(ran)} not run" if len(pred) > len(ran) else "")
            + ": only they count as evidence; every other class is a check of the code, of another code, "
              "or of a fit.")


def case_figure(o, folder: Path) -> Path | None:
    """A strip: the accepted band (reference ± tolerance, or the range/bound), the simulated value,
    its value at h/2, and the 5–95 % band of the uncertain inputs with its samples."""
    from ecmsim.studies.verdicts import FAIL, PASS

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
    samples = [v for v in (o.uq or {}).get("values", []) if v is not None and math.isfinite(v)]
    finite = [v for v in (lo, hi, o.simulated, mid, o.simulated_h2, *samples) if v is not None and math.isfinite(v)]
    span = (max(finite) - min(finite)) or abs(finite[0]) or 1.0
    left, right = min(finite) - 0.3 * span, max(finite) + 0.3 * span
    fig, ax = plt.subplots(figsize=(6.4, 2.0))
    ax.axvspan(max(lo, left) / factor, min(hi, right) / factor, color="tab:green", alpha=0.25,
               label="reference ± tolerance")
    if mid is not None:
        ax.axvline(mid / factor, color="tab:green", lw=1)
    if o.band is not None:
        ax.plot([o.band[0] / factor, o.band[1] / factor], [0.25, 0.25], "-", color="tab:purple", lw=4, alpha=0.6,
                label="5–95 % band")
        ax.plot([v / factor for v in samples], [0.25] * len(samples), "|", color="tab:purple", ms=10)
    colour = {PASS: "tab:blue", FAIL: "tab:red"}.get(o.status, "tab:grey")
    ax.plot([o.simulated / factor], [0.6], "o", color=colour, ms=9, label=f"simulated ({o.status})")
    if o.simulated_h2 is not None and math.isfinite(o.simulated_h2):
        ax.plot([o.simulated_h2 / factor], [0.6], "x", color=colour, ms=8, label="at h/2")
    ax.set_xlim(left / factor, right / factor)
    ax.set_ylim(0, 1)
    ax.set_yticks([])
    ax.set_xlabel(shown if shown != "-" else "[-]")
    ax.set_title("\n".join(textwrap.wrap(f"{c.name} ({c.cls}): {c.quantity}", 110)), fontsize=7)
    ax.legend(fontsize=6, loc="upper right", ncol=2)
    fig.tight_layout()
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{c.name}.png"
    fig.savefig(path, dpi=100)
    plt.close(fig)
    return path


# --- report.json ------------------------------------------------------------------------------------

def _finite(v):
    return v if isinstance(v, (int, float)) and math.isfinite(v) else None


def case_record(o, suite) -> dict:
    c = o.case
    lo = c.range[0] if c.range else c.lower
    hi = c.range[1] if c.range else c.upper
    tol = ({"relative": c.relative} if c.relative is not None else {"absolute": c.absolute}
           if c.absolute is not None else None)
    uq = o.uq or {}
    return {
        "name": c.name, "quantity": c.quantity, "class": c.cls, "reference_kind": c.reference_kind,
        "compares_with": list(c.compares_with), "reference_source": c.source, "reference_definition": c.definition,
        "reference": _finite(o.reference if o.reference is not None else c.value),
        "reference_lo": lo, "reference_hi": hi, "unit": c.unit,
        "simulated": _finite(o.simulated), "simulated_h2": _finite(o.simulated_h2), "ratio": _finite(o.ratio),
        "band_lo": _finite(o.band[0]) if o.band else None, "band_hi": _finite(o.band[1]) if o.band else None,
        "band_samples": uq.get("samples"), "sensitivity": uq.get("sensitivity"), "sensitivity_r2": uq.get("r2"),
        "tolerance": tol, "tolerance_reason": c.tolerance_reason, "verdict": o.status, "judged_by": o.judged_by,
        "verdict_by_tolerance": uq.get("verdict_by_tolerance"),
        "converged": o.converged, "convergence": o.convergence, "understood": c.understood,
        "class_reason": c.class_reason, "details": o.details, "case_file": suite.rel(c.path),
        "wall_time_s": round(o.wall_s, 3),
    }


def _as_given(path: Path) -> str:
    """A folder as the command was given it: relative to the current folder when inside it (a
    committed report names no machine's paths), else absolute."""
    path, here = Path(path).resolve(), Path.cwd().resolve()
    return str(path.relative_to(here)) if path.is_relative_to(here) else str(path)


def write_json(outcomes, out: Path, suite, quick: bool, total_s: float, command: str, plan) -> Path:
    from ecmsim.core.version import __version__
    from ecmsim.studies.verdicts import PASS

    pred = [o for o in outcomes if o.case.cls == "predicted"]
    doc = {
        "schema": SCHEMA, "command": command, "ecmsim": __version__,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), "wall_time_s": round(total_s, 1),
        "quick": quick, "suite": _as_given(suite.folder),
        "predicted_pass": sum(o.status == PASS for o in pred), "predicted_cases": len(pred),
        "counts": counts(outcomes),
        "uq": plan.describe() if plan is not None else None,
        "cases": [case_record(o, suite) for o in outcomes],
    }
    path = out / "report.json"
    path.write_text(json.dumps(doc, indent=2, ensure_ascii=False) + "\n")
    return path


# --- report.md ---------------------------------------------------------------------------------------

def _class_table(outcomes) -> list[str]:
    from ecmsim.studies.verdicts import STATUSES

    table = counts(outcomes)
    used = [s for s in STATUSES if any(table[c][s] for c in CLASSES)]
    lines = ["| class | cases | " + " | ".join(used) + " |", "|---|---" + "|---" * len(used) + "|"]
    for cls in CLASSES:
        n = sum(table[cls].values())
        if n:
            lines.append(f"| {cls} | {n} | " + " | ".join(str(table[cls][s]) for s in used) + " |")
    return lines


def write(outcomes, out: Path, suite, quick: bool, total_s: float, command: str, plan=None) -> Path:
    """report.md (and report.json beside it): the headline, counts per class, a row per case, each case in full."""
    from ecmsim.core.version import __version__
    from ecmsim.studies.verdicts import ERROR, NOT_MODELLED, SKIPPED

    write_json(outcomes, out, suite, quick, total_s, command, plan)
    lines = [
        headline(outcomes), "",
        "# ecmsim validation report", "",
        f"`{command}`, ecmsim {__version__}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}, "
        f"total wall time {total_s:.0f} s. Machine-readable: `report.json`.", "",
        *_class_table(outcomes), "",
        "Classes: `analytic` against a closed form; `cross-code` against the reference paper's own simulation; "
        "`predicted` against a measurement no input was taken from; `consistency` against a measurement some "
        "input was derived from in another form; `calibrated` against the measurement an input was fitted to "
        "(agreement is no evidence); `bound` against a bound the source itself states. The fitted inputs are "
        f"declared in `{suite.rel(suite.folder / 'fitted.toml')}`; docs/validation.md gives the rules.",
        "",
        "Every tolerance was fixed in the case file before the comparison, with its reason. A field quantity "
        "is also computed at h/2 (or read from a convergence study): UNCONVERGED when it moves by more than a "
        "third of its tolerance. NOT YET MODELLED is never a pass."
        + (" With `--uq`, a `predicted` case passes when the measurement lies inside the 5–95 % band of its "
           "quantity over the uncertain inputs." if plan is not None else ""),
        "",
        "| case | class | reference kind | quantity | reference | simulated | ratio | tolerance | band 5–95 % "
        "| converged | verdict | understood |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for o in outcomes:
        c = o.case
        sim = fmt(o.simulated, c.unit) if o.simulated is not None else "—"
        ratio = f"{o.ratio:.3g}" if o.ratio is not None else "—"
        lines.append(f"| [{c.name}](#{c.name.lower()}) | {c.cls} | {c.reference_kind} | {_cell(c.quantity)} | "
                     f"{reference_text(o)} | {sim} | {ratio} | {tolerance_text(c)} | {band_text(o)} | "
                     f"{converged_text(o)} | **{o.status}** | {_cell(c.understood) or '—'} |")
    lines.append("")
    if plan is not None:
        lines += plan.markdown(outcomes, fmt)
    for o in outcomes:
        c = o.case
        lines += [f"## {c.name}", "", f"*{c.quantity}* (class **{c.cls}**, reference {c.reference_kind}; "
                                      f"`{suite.rel(c.path)}`)", "",
                  f"- reference: {reference_text(o) + ' — ' if reference_text(o) != '—' else ''}{c.source}"]
        if c.compares_with:
            lines.append(f"- compares with: {', '.join(f'`{n}`' for n in c.compares_with)}")
        if c.definition:
            lines.append(f"- the reference's definition: {c.definition}")
        if c.quote:
            lines.append(f"- the source's words: “{c.quote}”")
        if c.class_reason:
            lines.append(f"- why {c.cls}: {c.class_reason}")
        if c.not_modelled:
            lines += [f"- **NOT YET MODELLED**: {c.not_modelled}", ""]
            continue
        sets = "".join(f" --set {s}" for s in c.overrides)
        how = f"check `{c.check}`" if c.check else f"`ecmsim run {c.scenario}{sets}`, metric `{c.metric}`"
        lines += [f"- simulated: {fmt(o.simulated, c.unit) if o.simulated is not None else '—'} ({how})"
                  + (f"; {o.details}" if o.details and o.status != ERROR else ""),
                  f"- tolerance: {tolerance_text(c)} — {c.tolerance_reason}"]
        if o.convergence:
            lines.append(f"- convergence: {o.convergence}")
        if o.band is not None:
            lines.append(f"- 5–95 % band over the uncertain inputs: {band_text(o)} "
                         f"(width {fmt(o.band[1] - o.band[0], c.unit)}, {o.uq.get('samples')} samples); "
                         f"by the tolerance alone: {o.uq.get('verdict_by_tolerance')}")
        elif o.uq and o.uq.get("note"):
            lines.append(f"- uncertainty band: {o.uq['note']}")
        lines.append(f"- result: **{o.status}**" + (f" ({o.wall_s:.1f} s)" if o.status not in (SKIPPED, NOT_MODELLED)
                                                   else ""))
        if o.status == ERROR:
            lines.append(f"- error: {o.details}")
        if c.understood:
            lines.append(f"- what is understood: {c.understood}")
        for fig in o.figures:
            rel = fig.relative_to(out) if fig.is_relative_to(out) else fig
            lines.append(f"\n![{fig.stem}]({rel})")
        lines.append("")
    path = out / "report.md"
    path.write_text("\n".join(lines) + "\n")
    return path
