"""What a study's page says about its numbers: verdicts from the validation cases, measured points in
the figures, the runs' validity warnings.

Verdicts come from the same case files as ``ecmsim validate``: a case is judged on the study's own
runs when every run its check declares is one of them (the same scenario as run, output settings
aside), by the same check function and the same tolerance; its class says what the verdict is
worth. Convergence and uncertainty bands are not recomputed here: the band column quotes the committed
``ecmsim validate`` report of the repository (``validation/report/report.json``) when it has bands
(made with ``--uq``). Stresses on the page follow one sign convention: compression positive, as the reference paper
gives them. Only the standard library is imported at module level.
"""

from __future__ import annotations

import html
import json
import re
import tempfile
from pathlib import Path
from typing import Any

#: The sign convention of the study page.
SIGN_NOTE = ("Sign convention on this page: interface stresses are given as the reference paper gives them, "
             "compression positive (a pressure); Δσ by eq. 1–2 is the stress difference the paper reads from "
             "its peak shifts. Figures drawn by the runs themselves name their own convention on their axes "
             "(the stress map's σ_yy is negative in compression).")
#: The committed report of ``ecmsim validate`` (bands when it was made with --uq), for the band column.
REPORT_JSON = Path("report") / "report.json"


def _comparable(scn) -> dict:
    """A scenario as run, output settings aside: two runs with equal values compute the same."""
    d = scn.to_dict()
    d.pop("output", None)
    d.pop("title", None)
    return d


def verdicts(runs) -> tuple[list[str], list[list[str]], list[str], str]:
    """(header, rows, names of the cases this study cannot compute, a note) for the study's runs,
    given as (scenario path, overrides, result folder) triples."""
    from ecmsim import scenario as scenario_mod
    from ecmsim.core.errors import EcmsimError
    from ecmsim.studies.cases import case_runs, find_suite, fmt, judge, load_cases
    from ecmsim.studies.validation_report import tolerance_text, value_text
    from ecmsim.studies.verdicts import Context, compute

    header = ["case", "class", "quantity", "reference", "this study", "ratio", "tolerance", "band 5–95 % (validate "
              "--uq)", "verdict"]
    try:
        suite = find_suite()
        cases = load_cases(suite)
    except EcmsimError as err:
        return header, [], [], f"No verdicts: {err}"
    mine = []
    for scenario, overrides, folder in runs:
        try:
            mine.append((_comparable(scenario_mod.load(scenario, list(overrides))), folder))
        except EcmsimError:
            continue
    bands = {}
    try:
        bands = {c["name"]: c for c in json.loads((suite.folder / REPORT_JSON).read_text())["cases"]}
    except (OSError, ValueError, KeyError, TypeError):
        pass
    rows, missing = [], []
    for case in cases:
        needed = case_runs(case)
        if case.cls == "analytic" or case.not_modelled or not needed:
            continue
        folders = {}
        for run in needed:
            want = _comparable(scenario_mod.load(suite.root / run.scenario, list(run.overrides)))
            hit = next((f for d, f in mine if d == want), None)
            if hit is None or not (hit / "summary.json").is_file():
                break
            folders[run] = hit
        if len(folders) < len(needed):
            missing.append(case.name)
            continue
        try:
            with tempfile.TemporaryDirectory() as scratch:    # a check's own figures are not the page's
                value, reference, _, _ = compute(case, Context(Path(scratch), suite.root, folders))
        except Exception as err:  # noqa: BLE001 - the row says so
            rows.append([case.name, case.cls, case.quantity, "", f"not computed ({type(err).__name__})", "", "", "",
                         "ERROR"])
            continue
        reference = reference if reference is not None else case.value
        ratio = f"{value / reference:.3g}" if reference else "—"
        band = bands.get(case.name, {})
        band_text = (f"{fmt(band['band_lo'], case.unit)} … {fmt(band['band_hi'], case.unit)}"
                     if band.get("band_lo") is not None else "—")
        verdict = "PASS" if judge(case, value, reference) else "FAIL"
        if band.get("converged") is False:
            verdict += " (UNCONVERGED in ecmsim validate)"
        rows.append([case.name, case.cls, case.quantity, f"{value_text(case, reference)} ({case.reference_kind})",
                     fmt(value, case.unit), ratio, tolerance_text(case), band_text, verdict])
    note = ("Judged by the validation cases (validation/cases/) on this study's own runs, with the tolerance fixed "
            "in each case; only the class predicted counts as evidence. Convergence at h/2 and the uncertainty "
            "bands come from ecmsim validate, not from this page.")
    return header, rows, missing, note


# --- the figures with measured points --------------------------------------------------------------------

def _numbers(text: str) -> float:
    """A CSV cell as a float (read-outs have written 'np.float64(3.0)' for 3.0)."""
    inner = re.fullmatch(r"\s*\w+(?:\.\w+)*\((.*)\)\s*", text or "")
    try:
        return float(inner.group(1) if inner else text)
    except (TypeError, ValueError):
        return float("nan")


def _rows(path: Path) -> list[dict[str, str]]:
    import csv

    with path.open() as fh:
        return list(csv.DictReader(fh))


def _png(fig) -> bytes:
    import io

    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.tight_layout()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


def _axes(ax, xlabel: str, ylabel: str, title: str = "") -> None:
    ax.set_xlabel(xlabel)
    ax.set_ylabel(ylabel)
    if title:
        ax.set_title(title, fontsize=9)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=7)


def measured_figures(by_role: dict, measured: dict) -> list[tuple[bytes, str]]:
    """Peak tracks, Δσ against time and the spectra at the stack pressure of the study's runs, with
    the measured points drawn on them; (PNG, caption) pairs."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    li, lisn = measured.get("li_pll", {}), measured.get("lisn_pll", {})
    start = {"Li": li.get("peaks_after_pressurisation_m", []), "LiSn": lisn.get("peaks_m", [])}
    end = {"Li": li.get("peaks_after_3_cycles_m", []), "LiSn": lisn.get("peaks_m", [])}
    big = {"Li": li.get("max_stress_estimate_Pa"), "LiSn": lisn.get("max_stress_estimate_Pa")}
    label = {"Li": "Li / PLL", "LiSn": "Li–Sn / PLL"}
    out = []
    cycling = [(cell, by_role[("cycling", cell)]) for cell in ("Li", "LiSn") if ("cycling", cell) in by_role]
    tracks = [(c, f) for c, f in cycling if (f.path / "peak_tracks.csv").is_file()]
    if tracks:
        fig, axes = plt.subplots(1, len(tracks), figsize=(6.2 * len(tracks), 3.6), squeeze=False)
        for ax, (cell, f) in zip(axes[0], tracks):
            rows = _rows(f.path / "peak_tracks.csv")
            t = [_numbers(r["time_s"]) / 3600 for r in rows]
            ax.plot(t, [float(r["wavelength_nm"]) for r in rows], ".", ms=2, color="0.35", label="simulated peaks")
            t_end = max(t) if t else 0.0
            ax.plot([0.0] * len(start[cell]), [v * 1e9 for v in start[cell]], "o", mfc="none", color="tab:red", ms=8,
                    label="measured, after pressurisation")
            ax.plot([t_end] * len(end[cell]), [v * 1e9 for v in end[cell]], "s", mfc="none", color="tab:red", ms=8,
                    label="measured, after 3 cycles" + (" (stable)" if cell == "LiSn" else ""))
            _axes(ax, "time [h]", "peak wavelength [nm]", f"{label[cell]}: peak tracks")
        out.append((_png(fig), "Peaks through the cycles against the measured peaks (red). The model's unloaded "
                               "Bragg wavelength is a choice of its scenario, so compare the number and spread of the "
                               "peaks, not their absolute position."))
    deltas = [(c, f) for c, f in cycling if (f.path / "delta_sigma.csv").is_file()]
    if deltas:
        fig, ax = plt.subplots(figsize=(7.5, 3.4))
        for k, (cell, f) in enumerate(deltas):
            rows = _rows(f.path / "delta_sigma.csv")
            t = [_numbers(r["time_s"]) / 3600 for r in rows]
            ax.plot(t, [float(r["delta_sigma_max_abs_Pa"]) / 1e6 for r in rows], "-", color=f"C{k}",
                    label=f"{label[cell]}: largest |Δσ| of the simulated peaks")
            if big[cell]:
                if cell == "Li":
                    ax.plot([max(t)], [big[cell] / 1e6], "*", ms=14, color=f"C{k}",
                            label=f"{label[cell]}: measured, end of cycle 3")
                else:
                    ax.axhline(big[cell] / 1e6, color=f"C{k}", ls=":", label=f"{label[cell]}: measured maximum")
        ax.set_xlabel("time [h]")
        ax.set_ylabel("Δσ by eq. 1–2 [MPa]")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7)
        out.append((_png(fig), "Stress read from the peak shifts by eq. 1–2, simulated against the measured values."))
    cells = [(c, by_role[("fibre_cell", c)]) for c in ("Li", "LiSn") if ("fibre_cell", c) in by_role
             and (by_role[("fibre_cell", c)].path / "spectrum.csv").is_file()]
    if cells:
        import numpy as np

        fig, axes = plt.subplots(1, len(cells), figsize=(6.2 * len(cells), 3.4), squeeze=False)
        for ax, (cell, f) in zip(axes[0], cells):
            d = np.loadtxt(f.path / "spectrum.csv", delimiter=",", skiprows=1, ndmin=2)
            ax.plot(d[:, 0], d[:, 3], "-", lw=1, color="0.2", label="simulated (unpolarised)")
            for i, v in enumerate(start[cell]):
                ax.axvline(v * 1e9, color="tab:red", ls="--", lw=1, label="measured peaks" if i == 0 else None)
            _axes(ax, "wavelength [nm]", "reflectance", f"{label[cell]}: spectrum at the stack pressure, before cycling")
        out.append((_png(fig), "Spectra of the fibre in the cell at 2.4 MPa with the measured peak positions (red). "
                               "The model's unloaded wavelength is a choice: the splitting is what compares."))
    return out


def profile_figure(folders: list) -> bytes | None:
    """Compressive interface normal stress along the window of static runs, compression positive."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    shown = [(f, f.path / "interface_profile.csv") for f in folders if (f.path / "interface_profile.csv").is_file()]
    if not shown:
        return None
    fig, ax = plt.subplots(figsize=(9, 3.4))
    for f, path in shown:
        d = np.loadtxt(path, delimiter=",", skiprows=1, ndmin=2)
        x, s = d[:, 0] * 1e6, -d[:, 2] / 1e6
        gaps = np.flatnonzero(np.diff(x) > 0.5) + 1
        ax.plot(np.insert(x, gaps, np.nan), np.insert(s, gaps, np.nan), lw=0.9, label=f.label)
    ax.set_xlabel("x along the window [µm]")
    ax.set_ylabel("compressive normal stress [MPa]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return _png(fig)


def history_figure(f) -> bytes | None:
    """Interface normal stress through the cycles of a cycling run, compression positive."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    path = f.path / "history.csv"
    if not path.is_file():
        return None
    rows = _rows(path)
    if not rows or "interface_sigma_nn_mean_Pa" not in rows[0]:
        return None
    t = [_numbers(r["time_s"]) / 3600 for r in rows]

    def col(name):
        return [-_numbers(r.get(name, "nan")) / 1e6 for r in rows]

    fig, ax = plt.subplots(figsize=(6.2, 3.2))
    ax.fill_between(t, col("interface_sigma_nn_max_Pa"), col("interface_sigma_nn_min_Pa"), alpha=0.25,
                    label="least … most compressive point")
    ax.plot(t, col("interface_sigma_nn_mean_Pa"), "-", label="mean")
    ax.plot(t, col("interface_sigma_nn_centre_Pa"), "--", label="centre half")
    ax.plot(t, col("interface_sigma_nn_edge_Pa"), ":", label="outer quarters")
    _axes(ax, "time [h]", "compressive normal stress [MPa]", f"{f.label}: interface stress through the cycles "
                                                                 "(compression +)")
    return _png(fig)


def warnings_html(runs: list[tuple[str, Any]], failed: list[str]) -> str:
    """The runs' validity warnings (summary.json) and failed runs, for the top of the page."""
    items = [f"<li><b>{html.escape(name)}</b>: did not finish (its log is in <code>logs/</code>); the page shows "
             "the others</li>" for name in failed]
    for name, f in runs:
        for w in (f.summary or {}).get("warnings") or []:
            items.append(f"<li><b>{html.escape(name)}</b>: {html.escape(str(w))}</li>")
    if not items:
        return ('<div class="ok"><b>Validity:</b> no run reported a validity warning (strain beyond the small-strain '
                "range, a stage that did not converge).</div>")
    return ('<div class="warn"><b>Validity warnings of this study\'s runs</b> — numbers near these places are not '
            "reliable:<ul>" + "".join(items) + "</ul></div>")
