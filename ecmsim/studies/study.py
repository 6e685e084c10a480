"""``ecmsim study FILE -o DIR``: several scenarios run as one study, gathered into one ``report.html``.

A study file lists runs (TOML, paths relative to the file)::

    title = "Li vs Li-Sn at the reference conditions"
    description = "One paragraph that opens the report."

    [[run]]
    name = "li_fibre"                       # folder DIR/runs/<name>: letters, digits, _ and -
    scenario = "fbg_cell_li.toml"           # an ordinary scenario file
    set = ["mesh.size_m=60e-6"]             # optional: --set overrides, as on the command line
    role = "fibre_cell"                     # optional: what the run stands for in the comparison table
    cell = "Li"                             # optional: "Li" or "LiSn", the column of the comparison table

Roles: ``pristine`` (static window of the uncycled interface), ``static`` (static window of the
cycled section), ``current`` (current distribution), ``cycling`` (plating/stripping cycles, with
the fibre read-out when the scenario has one), ``fibre_cell`` (the fibre in the cell at the stack
pressure). A role/cell pair may appear once.

Every run's scenario is validated before anything runs (a bad key ends the study with one line,
exit status 2, nothing run). The runs are ``ecmsim run`` processes, ``-j`` at a time (default: the
cores this process may use), through the runner of ``ecmsim sweep``: a run whose folder already
holds the summary of the same input (hash) is not run again, so an interrupted study resumes by
running the same command. Then ``DIR/report.html``: the comparison with the reference
experiment's measured values (``validation/data/li2025_measured.toml``), Li beside Li-Sn for each
role, every figure and metric, versions and input hashes. Only the standard library is imported
at module level.
"""

from __future__ import annotations

import argparse
import html
import json
import re
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

ROLES = ("pristine", "static", "current", "cycling", "fibre_cell")
CELLS = ("Li", "LiSn")
CELL_LABEL = {"Li": "Li / PLL", "LiSn": "Li–Sn / PLL"}
ROLE_TITLE = {
    "fibre_cell": "The fibre in the cell at the stack pressure (before cycling)",
    "cycling": "Three plating/stripping cycles: interface and fibre read-out",
    "current": "Current distribution at the interface",
    "static": "Static windows of the cycled sections",
    "pristine": "The pristine interface",
}
#: Figures first in a run's column, in this order; the others follow by name.
_FIGURE_ORDER = {"waterfall.png": 0, "peak_tracks.png": 1, "delta_sigma.png": 2, "spectrum.png": 3,
                 "stress_map.png": 4, "interface_stress.png": 5, "cycling.png": 6, "current.png": 7,
                 "fibre_contact.png": 8, "contact.png": 9}
#: What a study writes into its folder (its manifest lists these: ecmsim.io.folders.claim_work_folder).
STUDY_FILES = ["study.json", "report.html", "runs/", "logs/"]
RUN_KEYS = {"name", "scenario", "set", "role", "cell"}
#: Run figures with sigma positive in tension: the page draws them again with compression positive.
_SIGNED_FIGURES = {"interface_stress.png", "cycling.png"}
_CSS = (".warn{background:#fff4e5;border:1px solid #f0b429;padding:6px 12px;margin:.6em 0}"
        ".ok{background:#eef8ee;border:1px solid #8bc48a;padding:6px 12px;margin:.6em 0}")
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


def register(subparsers) -> None:
    p = subparsers.add_parser("study", help="run a study file (several scenarios) and write one report.html",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("study", metavar="FILE", help="study file (TOML with [[run]] entries)")
    p.add_argument("-o", "--out", help="study folder (default: results/<study file name>)")
    p.add_argument("-j", "--jobs", type=int, help="runs at a time (default: the available cores)")
    p.add_argument("-q", "--quiet", action="store_true", help="no progress lines")
    p.add_argument("--check", action="store_true",
                   help="check the study file and every run's scenario, say what would run, and stop")
    p.set_defaults(handler=_study)


@dataclass
class StudyRun:
    name: str
    scenario: Path
    overrides: list[str] = field(default_factory=list)
    role: str | None = None
    cell: str | None = None


@dataclass
class Study:
    path: Path
    title: str
    description: str
    runs: list[StudyRun]


def load(path: str | Path) -> Study:
    """Read and check a study file; errors name the file, the entry and the key."""
    from ecmsim.core.errors import ScenarioError

    path = Path(path)
    from ecmsim.scenario.load import read_toml

    data = read_toml(path, "study")
    unknown = set(data) - {"title", "description", "run"}
    if "run" not in data and "geometry" in data:
        raise ScenarioError(f"{path}: a scenario file, not a study (no [[run]] entries): run it with "
                            f"`ecmsim run {path}`")
    if unknown:
        raise ScenarioError(f"{path}: unknown top-level key(s) {sorted(unknown)}; allowed: title, description, [[run]]")
    entries = data.get("run")
    if not isinstance(entries, list) or not entries or not all(isinstance(e, dict) for e in entries):
        raise ScenarioError(f"{path}: needs at least one [[run]] table (name, scenario, optional set, role, cell)")
    runs: list[StudyRun] = []
    seen: set = set()
    for i, e in enumerate(entries, 1):
        where = f"{path}: run {i}"
        bad = set(e) - RUN_KEYS
        if bad:
            raise ScenarioError(f"{where}: unknown key(s) {sorted(bad)}; allowed: {sorted(RUN_KEYS)}")
        name = e.get("name")
        if not isinstance(name, str) or not NAME.match(name):
            raise ScenarioError(f"{where}: name = {name!r}: must be 1-64 letters, digits, _ or - (a folder name)")
        if any(r.name == name for r in runs):
            raise ScenarioError(f"{where}: name = {name!r} is used twice")
        scenario = e.get("scenario")
        if not isinstance(scenario, str):
            raise ScenarioError(f"{where} ({name}): scenario must be a file name (relative to the study file)")
        sets = e.get("set", [])
        if not isinstance(sets, list) or not all(isinstance(s, str) and "=" in s for s in sets):
            raise ScenarioError(f"{where} ({name}): set must be a list of \"key=value\" strings")
        role, cell = e.get("role"), e.get("cell")
        if role is not None and role not in ROLES:
            raise ScenarioError(f"{where} ({name}): role = {role!r}: must be one of {', '.join(ROLES)}")
        if cell is not None and cell not in CELLS:
            raise ScenarioError(f"{where} ({name}): cell = {cell!r}: must be one of {', '.join(CELLS)}")
        if role is not None and (role, cell) in seen:
            raise ScenarioError(f"{where} ({name}): role {role!r} with cell {cell!r} appears twice")
        seen.add((role, cell))
        runs.append(StudyRun(name, (path.parent / scenario), list(sets), role, cell))
    title = data.get("title", path.stem)
    return Study(path, str(title), str(data.get("description", "")), runs)


# --- running --------------------------------------------------------------------------------------

def run_study(study_file: str | Path, out: str | Path | None = None, jobs: int | None = None,
              quiet: bool = False, check: bool = False) -> int:
    """Validate every run, run the unfinished ones, write report.html; exit status (0: all ran).
    ``check``: validate and say what would run, write nothing."""
    import sys

    from ecmsim import scenario as scenario_mod
    from ecmsim.core.errors import EcmsimError, ScenarioError
    from ecmsim.studies.sweep import Point, _Runner, adopt_finished_points, available_cores, finished, launcher_size

    if launcher_size() > 1:
        raise EcmsimError("ecmsim study runs its runs as parallel processes itself (-j N); start it without "
                          "mpirun, or run a single scenario under mpirun with ecmsim run")
    study = load(study_file)
    out = Path(out) if out else Path("results") / study.path.stem
    if jobs is not None and jobs < 1:
        raise ScenarioError(f"-j {jobs}: must be >= 1")
    points = []
    for r in study.runs:
        try:
            scn = scenario_mod.load(r.scenario, r.overrides)
        except ScenarioError as err:
            raise ScenarioError(f"{err} (study {study.path}, run {r.name})") from None
        points.append(Point(r.name, {}, list(r.overrides), scn.input_hash(), scenario=r.scenario))
    if check:
        todo = [p for p in points if not finished(out / "runs" / p.name, p.input_hash)]
        if not quiet:
            print(f"[study] {study.path}: {len(points)} run(s) checked, {len(todo)} to run into {out}: "
                  + ", ".join(p.name for p in todo))
        return 0
    from ecmsim.io.folders import claim_work_folder, write_atomic
    claim_work_folder(out, "study", STUDY_FILES)
    (out / "runs").mkdir(exist_ok=True)
    (out / "logs").mkdir(exist_ok=True)
    write_atomic(out / "study.json", json.dumps(
        {"study": str(study.path), "title": study.title,
         "runs": [{"name": r.name, "scenario": str(r.scenario), "set": r.overrides, "role": r.role, "cell": r.cell,
                   "input_hash_sha256": p.input_hash} for r, p in zip(study.runs, points)]}, indent=2) + "\n")

    say = (lambda msg: None) if quiet else (lambda msg: print(f"[study] {msg}", flush=True))
    adopt_finished_points(out / "runs", points, say)
    todo = [p for p in points if not finished(out / "runs" / p.name, p.input_hash)]
    jobs = jobs or available_cores()
    say(f"{study.path}: {len(points)} run(s), {len(points) - len(todo)} finished before, {len(todo)} to run, "
        f"{jobs} at a time (logs in {out / 'logs'})")
    start = time.perf_counter()
    # the longest first: fibre cells and cycling take minutes, static windows seconds
    weight = {"cycling": 0, "fibre_cell": 1, "current": 2}
    role_of = {r.name: r.role for r in study.runs}
    todo.sort(key=lambda p: weight.get(role_of[p.name], 3))
    from ecmsim.core.progress import on_terminal
    status = _Runner(None, out, jobs, say, subdir="runs", live=not quiet and on_terminal(), label="study").run(todo)
    failed = [name for name, rc in status.items() if rc != 0]
    report = write_study_report(study, out)
    say(f"ran {len(todo)} run(s) in {time.perf_counter() - start:.0f} s; report: {report}")
    if failed:
        print(f"ecmsim: study: {len(failed)} run(s) failed: {', '.join(sorted(failed))} (see {out / 'logs'}); "
              "the report shows the others", file=sys.stderr)
        return 1
    return 0


def _study(args: argparse.Namespace) -> int:
    return run_study(args.study, args.out, args.jobs, args.quiet, check=args.check)


# --- the comparison table ---------------------------------------------------------------------------

def _measured() -> dict[str, Any]:
    from ecmsim.studies.report_html import MEASURED

    return tomllib.loads(MEASURED.read_text()) if MEASURED.is_file() else {}


def _num(m: dict, key: str) -> float | None:
    v = m.get(key)
    return float(v) if isinstance(v, (int, float)) and not isinstance(v, bool) else None


def _final_profile_range(folder) -> tuple[float, float, float] | None:
    """5th and 95th percentiles (by interface length) and the max of the compressive normal stress at
    the end of a cycling run [Pa]; None without interface profiles."""
    from ecmsim.io.results import final_interface_pressure, weighted_percentile

    if not (folder.path / "interface_profiles.csv").is_file():
        return None
    _, p, w = final_interface_pressure(folder.path)
    return weighted_percentile(p, w, 5), weighted_percentile(p, w, 95), float(p.max())


def comparison_rows(runs: dict[tuple[str | None, str | None], Any]) -> tuple[list[str], list[list[str]]]:
    """Measured quantity, measured value, source, then the study's value for Li and Li-Sn."""
    data = _measured()
    li, lisn, cal = data.get("li_pll", {}), data.get("lisn_pll", {}), data.get("calibration", {})
    src = "G. Li et al., Adv. Mater. 2025"
    rows: list[list[str]] = []

    def cells(role: str, fn: Callable[[Any], str | None]) -> list[str]:
        out = []
        for cell in CELLS:
            folder = runs.get((role, cell))
            if folder is None:
                out.append("not in this study")
                continue
            try:
                value = fn(folder)
            except (KeyError, TypeError, ValueError, IndexError, OSError):
                value = None
            out.append(value if value is not None else "not computed")
        return out

    def metric(key: str, scale: float, unit: str, digits: str = ".3g"):
        return lambda f: (None if _num(f.metrics, key) is None else f"{_num(f.metrics, key) * scale:{digits}} {unit}")

    def peaks(f) -> str | None:
        p = f.metrics.get("fbg_peaks_nm")
        return None if not isinstance(p, list) else f"{len(p)}: " + ", ".join(f"{v:.2f}" for v in p) + " nm"

    def split_pm(f) -> str | None:
        # like for like: the measured splitting is a peak separation read off a spectrum, so the
        # simulated one is the interrogator's reading; the eigenmode peaks' separation beside it
        m = f.metrics
        read = metric("fbg_splitting_pm", 1.0, "pm read", ".0f")(f)
        if read is not None and _num(m, "fbg_peak_x_nm") is not None and _num(m, "fbg_peak_y_nm") is not None:
            return f"{read} (eigenmodes {abs(m['fbg_peak_x_nm'] - m['fbg_peak_y_nm']) * 1e3:.0f} pm)"
        return read

    a, b = li.get("peaks_after_pressurisation_m", [0, 0])
    c, d = lisn.get("peaks_m", [0, 0])
    rows.append(["Bragg peaks at 2.4 MPa before cycling",
                 f"Li {a * 1e9:.2f}, {b * 1e9:.2f} nm; Li–Sn {c * 1e9:.2f}, {d * 1e9:.2f} nm",
                 f"{src}, Fig. 3c, 4d", *cells("fibre_cell", peaks)])
    rows.append(["peak splitting at 2.4 MPa", f"Li {(b - a) * 1e12:.0f} pm; Li–Sn {(d - c) * 1e12:.0f} pm",
                 f"{src}, Fig. 3c, 4d", *cells("fibre_cell", split_pm)])
    after = li.get("peaks_after_3_cycles_m", [])
    rows.append(["FBG peaks after 3 cycles",
                 f"Li {len(after)} peaks spread {(max(after) - min(after)) * 1e9:.2f} nm; Li–Sn 2 peaks, stable"
                 if after else "—", f"{src}, Sec. 2.2, Fig. 3c–e, 4e–g",
                 *cells("cycling", lambda f: None if _num(f.metrics, "fbg_peak_count_final") is None else
                        f"{int(f.metrics['fbg_peak_count_final'])} peaks, spread "
                        f"{_num(f.metrics, 'fbg_peak_spread_final_nm') or 0:.2f} nm")])
    rows.append(["largest Δσ by eq. 1–2 during 3 cycles",
                 f"Li ≈ {li.get('max_stress_estimate_Pa', 0) / 1e6:g} MPa; Li–Sn ≈ "
                 f"{lisn.get('max_stress_estimate_Pa', 0) / 1e6:g} MPa", f"{src}, Fig. 3g, 4i",
                 *cells("cycling", metric("fbg_delta_sigma_max_Pa", 1e-6, "MPa"))])
    lo, hi = li.get("simulated_interface_stress_range_Pa", [0, 0])

    def prange(f) -> str | None:
        r = _final_profile_range(f)
        return None if r is None else (f"{r[0] / 1e6:.3g} … {r[1] / 1e6:.3g} MPa (5th–95th pct), "
                                       f"max {r[2] / 1e6:.3g} MPa")

    rows.append(["compressive interface normal stress after 3 cycles", f"Li {lo / 1e6:g} … {hi / 1e6:g} MPa "
                 "(COMSOL, elastic, cycled section)", f"{src}, Fig. 3i", *cells("cycling", prange)])

    def centre_edge(f) -> str | None:
        c_, e_ = _num(f.metrics, "interface_sigma_nn_centre_Pa"), _num(f.metrics, "interface_sigma_nn_edge_Pa")
        if c_ is None or e_ is None:
            return None
        return f"centre {-c_ / 1e6:.3g} MPa, edges {-e_ / 1e6:.3g} MPa (compression +)"

    rows.append(["centre of the interface above the edges (Li)", "centre > edges", f"{src}, Fig. 3i",
                 *cells("cycling", centre_edge)])
    rows.append(["stress heterogeneity after 3 cycles (std / |mean| of σ_nn)", "Li uneven; Li–Sn highly uniform",
                 f"{src}, Fig. 3i, 4j", *cells("cycling", metric("interface_stress_heterogeneity", 1.0, "", ".3g"))])
    rows.append(["cell overpotential at 0.2 mA/cm²",
                 f"Li {li.get('overpotential_V', 0) * 1e3:g} mV; Li–Sn {lisn.get('overpotential_V', 0) * 1e3:g} mV",
                 f"{src}, Sec. 2.3", *cells("cycling", metric("cell_overpotential_V", 1e3, "mV", ".0f"))])
    rows.append(["current distribution (CV of the interface current density)",
                 "Li uneven (low at voids); Li–Sn uniform", f"{src}, Fig. 5h–i",
                 *cells("current", metric("current_density_cv", 1.0, "", ".3g"))])
    if "pressure_sensitivity_m_per_Pa" in cal:
        rows.append(["pressure and temperature sensitivity of the embedded FBG",
                     f"{cal['pressure_sensitivity_m_per_Pa'] * 1e18:g} pm/MPa, "
                     f"{cal.get('temperature_sensitivity_m_per_K', 0) * 1e12:g} pm/°C",
                     f"{src}, Fig. 2d–e", *["ecmsim validate (fbg_pressure_sensitivity, "
                                            "fbg_temperature_sensitivity)"] * len(CELLS)])
    header = ["quantity", "measured", "source", *[CELL_LABEL[c] for c in CELLS]]
    return header, rows


# --- the page --------------------------------------------------------------------------------------

def build_study_html(study: Study, out: Path) -> str:
    from ecmsim.core.version import __version__
    from ecmsim.studies.report_html import (CSS, _img, _table, _toml_like, fmt_value, provenance_html, read_folder,
                                            warnings_html)

    folders: dict[str, Any] = {}
    for r in study.runs:
        d = out / "runs" / r.name
        try:
            f = read_folder(d)
        except Exception:       # a failed run: its row says so
            f = None
        if f is not None and f.summary is not None:
            f.label = r.name
            folders[r.name] = f
    from ecmsim.studies import study_verdicts as sv

    by_role = {(r.role, r.cell): folders[r.name] for r in study.runs if r.name in folders}
    failed = [r.name for r in study.runs if r.name not in folders]
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(study.title)}"
             f"</title><style>{CSS}{_CSS}</style></head><body>", f"<h1>{html.escape(study.title)}</h1>",
             f"<p class=\"meta\">ecmsim {html.escape(__version__)}, {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())}"
             f", study file <code>{html.escape(str(study.path))}</code>, folder <code>{html.escape(str(out))}</code>"
             "</p>"]
    parts.append(sv.warnings_html([(name, f) for name, f in folders.items()], failed))
    parts.append(f"<p class=\"meta\">{html.escape(sv.SIGN_NOTE)}</p>")
    if study.description:
        parts.append(f"<p>{html.escape(study.description)}</p>")

    rows = []
    for r in study.runs:
        f = folders.get(r.name)
        scn = (f.summary.get("scenario", {}) if f else {})
        mats = scn.get("materials", {})
        rows.append([r.name, r.role or "", CELL_LABEL.get(r.cell or "", ""), str(r.scenario.name),
                     " ".join(r.overrides), f"{mats.get('electrode', '')} / {mats.get('electrolyte', '')}" if f else "",
                     fmt_value("stack_pressure_Pa", scn.get("loading", {}).get("stack_pressure_Pa")) if f else "",
                     f"{sum(f.summary.get('timings_s', {}).values()):.1f} s" if f else "FAILED or not run"])
    parts.append("<h2>Runs</h2>")
    parts.append(_table(["run", "role", "cell", "scenario", "overrides", "electrode / electrolyte", "stack pressure",
                         "run time"], rows))
    parts.append(warnings_html(list(folders.values())))

    parts.append("<h2>Simulated against measured</h2>")
    vheader, vrows, missing, note = sv.verdicts([(r.scenario, r.overrides, folders[r.name].path)
                                                 for r in study.runs if r.name in folders])
    parts.append(f"<p>{html.escape(note)}</p>")
    if vrows:
        parts.append(_table(vheader, vrows))
    if missing:
        parts.append("<p class=\"meta\">Cases that need runs this study does not make (see <code>ecmsim validate"
                     "</code>): " + ", ".join(html.escape(m) for m in missing) + ".</p>")
    parts.append("<h3>The study's numbers beside the measured values</h3>")
    parts.append("<p>Descriptive, not judged: what each run gives for the quantities the reference experiment "
                 "reports (compression positive).</p>")
    header, crows = comparison_rows(by_role)
    parts.append(_table(header, crows))
    figs = sv.measured_figures(by_role, _measured())
    if figs:
        parts.append("<h3>Against the measurements</h3>")
        parts.append('<div class="grid" style="grid-template-columns:1fr">'
                     + "".join(_img(png, caption) for png, caption in figs) + "</div>")

    shown: set[str] = set()
    for role in ("fibre_cell", "cycling", "current", "static", "pristine", None):
        group = [(cell, by_role[(role, cell)]) for cell in (*CELLS, None) if (role, cell) in by_role]
        if role is None:
            group = [(None, f) for name, f in folders.items()
                     if not any(r.name == name and r.role for r in study.runs)]
        if not group:
            continue
        parts.append(f"<h2>{html.escape(ROLE_TITLE.get(role, 'Other runs'))}</h2>")
        if role in ("static", "pristine"):
            profile = sv.profile_figure([f for _, f in group])
            if profile:
                parts.append(_img(profile, "compressive interface normal stress along the window (compression +)"))
        parts.append('<div class="grid" style="grid-template-columns:repeat(2,1fr)">')
        for cell, f in group:
            shown.add(f.label)
            figs = sorted((p for p in f.path.glob("*.png") if p.name not in _SIGNED_FIGURES),
                          key=lambda p: (_FIGURE_ORDER.get(p.name, 99), p.name))
            own = sv.history_figure(f) if role == "cycling" else None
            parts.append("<div>" + f"<h3>{html.escape(run_heading(CELL_LABEL.get(cell or ''), f))}</h3>"
                         + (_img(own, f"{f.label}: interface stress through the cycles") if own else "")
                         + "".join(_img(p.read_bytes(), f"{f.label}: {p.name}") for p in figs) + "</div>")
        parts.append("</div>")
        names: list[str] = []
        for _, f in group:
            names += [k for k, v in f.metrics.items() if k not in names and not isinstance(v, (list, dict))]
        parts.append("<details><summary>every scalar metric</summary>" + _table(
            ["metric", *[f.label for _, f in group]],
            [[n, *[fmt_value(n, f.metrics.get(n)) for _, f in group]] for n in names], numeric_from=1) + "</details>")

    parts.append("<h2>Provenance</h2>")
    parts.append(provenance_html(list(folders.values())))
    for f in folders.values():
        parts.append(f"<details><summary>{html.escape(f.label)}: scenario as run</summary><pre>"
                     + html.escape(_toml_like(f.summary.get("scenario", {}))) + "</pre></details>")
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def run_heading(cell_label: str | None, folder) -> str:
    """A run's heading: its scenario title, led by the cell unless the title names it already
    (``Li / PLL: Li / PLL after 3 cycles`` was said twice)."""
    title = folder.summary.get("title") or folder.label
    if not cell_label:
        return title
    plain = lambda text: " ".join(text.replace("–", "-").lower().split())  # noqa: E731
    return title if plain(title).startswith(plain(cell_label)) else f"{cell_label}: {title}"


def write_study_report(study: Study, out: Path) -> Path:
    text = build_study_html(study, out)
    from ecmsim.io.folders import write_atomic

    target = out / "report.html"
    write_atomic(target, text)
    return target
