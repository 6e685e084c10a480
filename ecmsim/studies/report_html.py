"""``ecmsim report DIR [DIR...] -o report.html``: one self-contained HTML page from result folders.

Each DIR is a result folder of ``ecmsim run`` (it holds ``summary.json``) or a sweep folder of
``ecmsim sweep`` (``sweep.csv``). The page shows, side by side for the run folders: the
scenarios, their validity warnings, stress maps, interface profiles (overlaid on one plot), contact
and FBG figures when present, every metric, a comparison table against the reference experiment's
measured values (``validation/data/li2025_measured.toml``), and per folder the materials with
sources, the mesh, versions and input hashes. Images are embedded (base64 PNG), styles inline: the file can be
mailed or archived alone and opens without network access. Only the standard library is imported
at module level.
"""

from __future__ import annotations

import argparse
import base64
import csv
import html
import io
import json
import os
import time
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
MEASURED = ROOT / "validation" / "data" / "li2025_measured.toml"
#: Figures of a run folder shown in the side-by-side sections, in this order.
STANDARD_FIGURES = ("stress_map.png", "interface_stress.png", "contact.png")


def register(subparsers) -> None:
    p = subparsers.add_parser("report", help="one self-contained report.html from result folders",
                              description=__doc__.split("\n\n")[0])
    p.add_argument("folders", nargs="+", metavar="DIR", help="result folders of ecmsim run (or ecmsim sweep)")
    p.add_argument("-o", "--out", default="report.html", help="output HTML file (default: report.html)")
    p.add_argument("--title", help="page title (default: from the scenarios' titles)")
    p.add_argument("--overwrite", action="store_true", help="replace the -o file even if ecmsim did not write it")
    p.set_defaults(handler=_report)


@dataclass
class Folder:
    """One result folder as read from disk."""

    path: Path
    label: str
    summary: dict[str, Any] | None = None
    sweep_rows: list[dict[str, str]] = field(default_factory=list)

    @property
    def metrics(self) -> dict[str, Any]:
        return (self.summary or {}).get("metrics", {})


def read_folder(path: Path) -> Folder:
    from ecmsim.core.errors import InputFileError

    path = Path(path)
    if not path.is_dir():
        raise InputFileError(f"{path}: no such result folder")
    if (path / "summary.json").is_file():
        try:
            summary = json.loads((path / "summary.json").read_text())
        except ValueError as err:
            raise InputFileError(f"{path / 'summary.json'}: not valid JSON ({err})") from None
        except RecursionError:
            raise InputFileError(f"{path / 'summary.json'}: nested too deeply to be an ecmsim summary") from None
        if not isinstance(summary, dict):
            raise InputFileError(f"{path / 'summary.json'}: a JSON {type(summary).__name__}, not the object of "
                                 "an ecmsim summary")
        for key in ("metrics", "materials", "mesh", "provenance", "scenario"):
            if not isinstance(summary.get(key, {}), dict):
                raise InputFileError(f"{path / 'summary.json'}: '{key}' is a JSON "
                                     f"{type(summary[key]).__name__}, not an object: not an ecmsim summary")
        return Folder(path, summary.get("title") or path.name, summary=summary)
    if (path / "sweep.csv").is_file():
        with (path / "sweep.csv").open() as fh:
            return Folder(path, f"sweep {path.name}", sweep_rows=list(csv.DictReader(fh)))
    raise InputFileError(f"{path}: not an ecmsim result folder (no summary.json) nor a sweep folder (no sweep.csv)")


# --- values ---------------------------------------------------------------------------------------------

#: Unit suffixes of metric names (longest first) -> how the value is shown: (scale, unit, format).
#: Wavelengths keep picometres (a 0.2 nm split of 1550 nm lines needs 7 significant digits).
UNIT_SUFFIXES = (
    ("_N_per_m", (1.0, "N/m", ".4g")), ("_N_m", (1.0, "N/m", ".4g")),
    ("_A_m2", (1.0, "A/m²", ".4g")), ("_J_per_mol", (1e-3, "kJ/mol", ".4g")),
    ("_Pa", (1e-6, "MPa", ".4g")), ("_nm", (1.0, "nm", ".3f")), ("_pm", (1.0, "pm", ".1f")),
    ("_m2", (1e12, "µm²", ".4g")), ("_m3", (1e18, "µm³", ".4g")),
    ("_mV", (1.0, "mV", ".4g")), ("_V", (1e3, "mV", ".4g")), ("_K", (1.0, "K", ".5g")),
    ("_s", (1.0, "s", ".4g")), ("_h", (1.0, "h", ".4g")),
)


def fmt_value(name: str, value: Any) -> str:
    """A metric for people, its unit read off its name: Pa as MPa, lengths in µm or mm,
    wavelengths in nm to the picometre, N/m, mV...; other numbers to 4 significant digits;
    lists value by value."""
    if value is None:
        return "—"
    if isinstance(value, (list, tuple)):
        return ", ".join(fmt_value(name, v) for v in value) if value else "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return html.escape(str(value))
    if isinstance(value, float) and value != value:
        return "NaN"
    for suffix, (scale, unit, spec) in UNIT_SUFFIXES:
        if name.endswith(suffix):
            return f"{value * scale:{spec}} {unit}"
    if name.endswith("_m"):
        if "wavelength" in name or "bragg" in name:
            return f"{value * 1e9:.3f} nm"
        if abs(value) >= 1e-3:
            return f"{value * 1e3:.4g} mm"
        return f"{value * 1e6:.4g} µm"
    if isinstance(value, int):
        return str(value)
    return f"{value:.4g}"


def _profile(folder: Folder):
    import numpy as np

    f = folder.path / "interface_profile.csv"
    if not f.is_file():
        return None
    d = np.loadtxt(f, delimiter=",", skiprows=1, ndmin=2)
    return d[:, 0], -d[:, 2], d[:, 4]      # x [m], compressive normal stress [Pa], weight [m]


def measured_comparison(runs: list[Folder]) -> tuple[list[str], list[list[str]]]:
    """Rows: measured quantity, value and source, then what each run folder gives for it."""
    data = tomllib.loads(MEASURED.read_text()) if MEASURED.is_file() else {}
    cell, li, lisn = data.get("cell", {}), data.get("li_pll", {}), data.get("lisn_pll", {})
    src = "G. Li et al., Adv. Mater. 2025"
    rows: list[list[str]] = []

    def per_run(fn) -> list[str]:
        out = []
        for r in runs:
            try:
                out.append(fn(r))
            except (KeyError, TypeError, ValueError):
                out.append("—")
        return out

    if "stack_pressure_Pa" in cell:
        rows.append(["stack pressure", f"{cell['stack_pressure_Pa'] / 1e6:g} MPa", f"{src}, Sec. 2.2",
                     *per_run(lambda r: f"{r.summary['scenario']['loading']['stack_pressure_Pa'] / 1e6:g} MPa")])
    if "temperature_K" in cell:
        rows.append(["cell temperature", f"{cell['temperature_K']:g} K", f"{src}, Sec. 2.2",
                     *per_run(lambda r: f"{r.summary['scenario']['loading']['temperature_K']:g} K")])

    def stress_range(r: Folder) -> str:
        from ecmsim.io.results import weighted_percentile

        x, s, w = _profile(r)
        when = "end of the run" if "time_s" in r.metrics else "static"
        return f"{weighted_percentile(s, w, 5) / 1e6:.3g} … {s.max() / 1e6:.3g} MPa (5th pct … max, {when})"

    if "simulated_interface_stress_range_Pa" in li:
        lo, hi = li["simulated_interface_stress_range_Pa"]
        rows.append(["interface normal stress along the interface, Li/PLL after 3 cycles",
                     f"{lo / 1e6:g} … {hi / 1e6:g} MPa", f"{src}, Fig. 3i (COMSOL on the cycled section)",
                     *per_run(stress_range)])

    def uniformity(r: Folder) -> str:
        m = r.metrics
        return (f"CV {m['interface_normal_stress_cv']:.3g}, centre/edge "
                f"{m['interface_normal_stress_centre_edge_ratio']:.3g}")

    rows.append(["stress uniformity: Li/PLL uneven, centre above edges; Li–Sn/PLL highly uniform",
                 "qualitative", f"{src}, Fig. 3i, 4j", *per_run(uniformity)])
    fbg_missing = "not in these results (needs the fibre in the cell)"
    if "peaks_after_pressurisation_m" in li:
        a, b = li["peaks_after_pressurisation_m"]
        rows.append(["Bragg peak splitting after pressurisation, Li/PLL", f"{(b - a) * 1e12:.0f} pm",
                     f"{src}, Fig. 3c", *per_run(lambda r: _fbg_value(r, "splitting_m", 1e12, "pm") or fbg_missing)])
    if "pressure_sensitivity_m_per_Pa" in data.get("calibration", {}):
        rows.append(["pressure sensitivity of the embedded FBG",
                     f"{data['calibration']['pressure_sensitivity_m_per_Pa'] * 1e18:g} pm/MPa", f"{src}, Fig. 2e",
                     *[fbg_missing] * len(runs)])
    def of_cell(electrode: str, metric: str, missing: str):
        """A run's value of a cell-specific measurement: only for a run of that cell (its electrode)."""
        def value(r: Folder) -> str:
            if (r.summary.get("scenario", {}).get("materials", {}) or {}).get("electrode") != electrode:
                return "— (another cell)"
            return fmt_value(metric, r.metrics[metric]) if metric in r.metrics else missing
        return value

    for key, label, electrode in ((li, "Li/PLL", "Li"), (lisn, "Li–Sn/PLL", "LiSn")):
        if "max_stress_estimate_Pa" in key:
            rows.append([f"largest stress by eq. 1–2 from the spectrum, {label}, 3 cycles",
                         f"{key['max_stress_estimate_Pa'] / 1e6:g} MPa", f"{src}, Sec. 2.2–2.3",
                         *per_run(of_cell(electrode, "fbg_delta_sigma_max_Pa",
                                          fbg_missing.replace("the fibre", "cycling and the fibre")))])
        if "overpotential_V" in key:
            rows.append([f"overpotential at 0.2 mA/cm², {label}", f"{key['overpotential_V'] * 1e3:g} mV",
                         f"{src}, Sec. 2.3",
                         *per_run(of_cell(electrode, "cell_overpotential_V",
                                          "not in these results (needs a plating/stripping run: docs/electrochem.md)"))])
    header = ["quantity", "measured / reference", "source", *[r.label for r in runs]]
    return header, rows


def _fbg_value(r: Folder, key: str, scale: float, unit: str) -> str | None:
    fbg = (r.summary or {}).get("fbg") or {}
    value = fbg.get(key) if isinstance(fbg, dict) else None
    return f"{value * scale:.4g} {unit}" if isinstance(value, (int, float)) else None


# --- figures ---------------------------------------------------------------------------------------------

def png_data_uri(data: bytes) -> str:
    return "data:image/png;base64," + base64.b64encode(data).decode("ascii")


def profiles_figure(runs: list[Folder]) -> bytes | None:
    """Interface normal stress of every run folder on one axes (gaps where the interface is absent)."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fig, ax = plt.subplots(figsize=(9, 3.6))
    drawn = False
    for r in runs:
        prof = _profile(r)
        if prof is None:
            continue
        x, s, _ = prof
        x = x * 1e6
        gaps = np.flatnonzero(np.diff(x) > 0.5) + 1
        ax.plot(np.insert(x, gaps, np.nan), np.insert(s / 1e6, gaps, np.nan), lw=0.9, label=r.label)
        drawn = True
    if not drawn:
        plt.close(fig)
        return None
    ax.set_xlabel("x along the window [µm]")
    ax.set_ylabel("compressive normal stress [MPa]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    fig.tight_layout()
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110)
    plt.close(fig)
    return buf.getvalue()


# --- HTML ------------------------------------------------------------------------------------------------

CSS = """
body{font-family:system-ui,-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px auto;max-width:1400px;
color:#1d2733;padding:0 16px;line-height:1.4}
h1{font-size:1.6em;margin-bottom:.2em}h2{border-bottom:2px solid #d0d7de;padding-bottom:.2em;margin-top:1.6em}
table{border-collapse:collapse;margin:.6em 0;font-size:.9em}th,td{border:1px solid #d0d7de;padding:4px 8px;
text-align:left;vertical-align:top}th{background:#f3f5f7}td.num{text-align:right;font-variant-numeric:tabular-nums}
.grid{display:grid;gap:16px}.grid figure{margin:0}figure img{width:100%;border:1px solid #e1e4e8}
figcaption{font-size:.85em;color:#57606a}pre{background:#f6f8fa;padding:8px;overflow:auto;font-size:.8em;
max-height:420px}.tw{overflow-x:auto;max-width:100%}.meta{color:#57606a;font-size:.9em}code{font-size:.9em}
td.wrap{overflow-wrap:anywhere;word-break:break-word;max-width:60em}.full figure{max-width:1400px}
"""


def _table(header: list[str], rows: list[list[str]], numeric_from: int = 99, escape: bool = True,
           wrap_from: int = 99) -> str:
    """An HTML table; columns from ``numeric_from`` right-aligned, from ``wrap_from`` wrapped anywhere
    (hashes, paths)."""
    esc = html.escape if escape else (lambda s: s)

    def cls(i: int) -> str:
        names = (["num"] if i >= numeric_from else []) + (["wrap"] if i >= wrap_from else [])
        return f' class="{" ".join(names)}"' if names else ""

    out = ['<div class="tw"><table>', "<tr>" + "".join(f"<th>{html.escape(h)}</th>" for h in header) + "</tr>"]
    for row in rows:
        out.append("<tr>" + "".join(f"<td{cls(i)}>{esc(str(c))}</td>" for i, c in enumerate(row)) + "</tr>")
    out.append("</table></div>")
    return "\n".join(out)


def provenance_html(folders: list[Folder]) -> str:
    """Versions and platform once (a value that differs between runs listed per run), then each
    run's input hash: two narrow tables whose long values wrap, however many runs there are."""
    keys: list[str] = []
    for f in folders:
        keys += [k for k in f.summary.get("provenance", {}) if k not in keys]
    rows = []
    for k in keys:
        values = {f.label: str(f.summary.get("provenance", {}).get(k, "—")) for f in folders}
        if len(set(values.values())) == 1:
            rows.append([html.escape(k), f"<code>{html.escape(next(iter(values.values())))}</code>"])
        else:
            rows.append([html.escape(k), "<br>".join(f"{html.escape(label)}: <code>{html.escape(v)}</code>"
                                                     for label, v in values.items())])
    hashes = [[html.escape(f.label), f"<code>{html.escape(str(f.summary.get('input_hash_sha256', '—')))}</code>"]
              for f in folders]
    return (_table(["", "value (per run where the runs differ)"], rows, escape=False, wrap_from=1)
            + _table(["run", "input hash (SHA-256 of the scenario as run)"], hashes, escape=False, wrap_from=1))


def _img(data: bytes, caption: str) -> str:
    return (f'<figure><img alt="{html.escape(caption)}" src="{png_data_uri(data)}">'
            f"<figcaption>{html.escape(caption)}</figcaption></figure>")


def warnings_html(runs: list[Folder]) -> str:
    """The validity warnings of the runs (``summary.json`` -> ``warnings``: strains beyond the small-strain
    range, ...), one list per run that has any; empty when none has."""
    parts = [f"<h3>{html.escape(r.label)}</h3><ul>"
             + "".join(f"<li>{html.escape(str(w))}</li>" for w in r.summary.get("warnings", [])) + "</ul>"
             for r in runs if (r.summary or {}).get("warnings")]
    if not parts:
        return ""
    return ("<h2>Validity warnings</h2><p>Where a run left the range its model is valid in "
            "(also on stderr and in <code>summary.json</code>; docs/protocol.md).</p>" + "".join(parts))


def _toml_like(d: dict[str, Any]) -> str:
    """The scenario as run, in the TOML layout of a scenario file."""
    lines = []
    top = {k: v for k, v in d.items() if not isinstance(v, dict)}
    for k, v in top.items():
        lines.append(f"{k} = {json.dumps(v, ensure_ascii=False)}")
    for section, values in d.items():
        if isinstance(values, dict):
            lines.append(f"\n[{section}]")
            for k, v in values.items():
                lines.append(f"{k} = {json.dumps(v, ensure_ascii=False)}")
    return "\n".join(lines).strip()


def build_html(folders: list[Folder], title: str | None = None) -> str:
    from ecmsim.core.version import __version__

    runs = [f for f in folders if f.summary is not None]
    sweeps = [f for f in folders if f.summary is None]
    title = title or ("ecmsim report: " + " vs ".join(f.label for f in folders))
    cols = max(1, min(len(runs), 3))
    parts = [f"<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>{html.escape(title)}</title>",
             f"<style>{CSS}</style></head><body>", f"<h1>{html.escape(title)}</h1>",
             f"<p class=\"meta\">Made by ecmsim {html.escape(__version__)} on "
             f"{time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} from "
             + ", ".join(f"<code>{html.escape(str(f.path))}</code>" for f in folders) + ".</p>"]
    if runs:
        parts.append("<h2>Scenarios</h2>")
        rows = []
        for r in runs:
            s = r.summary
            scn = s.get("scenario", {})
            geo = scn.get("geometry", {})
            mats = scn.get("materials", {})
            rows.append([r.label, str(s.get("scenario_file", "")), geo.get("kind", ""),
                         f"{mats.get('electrode', '—')} / {mats.get('electrolyte', '—')}" if mats else "—",
                         fmt_value("stack_pressure_Pa", scn.get("loading", {}).get("stack_pressure_Pa")),
                         scn.get("interface", {}).get("model", ""), str(s.get("mesh", {}).get("cells", "")),
                         f"{sum(s.get('timings_s', {}).values()):.1f} s"])
        parts.append(_table(["run", "scenario file", "geometry", "electrode / electrolyte", "stack pressure",
                             "interface", "triangles", "run time"], rows))
        parts.append(warnings_html(runs))

        parts.append("<h2>Comparison with the measured values</h2>")
        parts.append("<p>Measured values of the reference experiment "
                     "(<code>validation/data/li2025_measured.toml</code>) "
                     "beside what each run gives, at the run's final state (a static window at its stack pressure, "
                     "or the end of a time-dependent run); quantities a run does not compute are marked as such.</p>")
        header, rows = measured_comparison(runs)
        parts.append(_table(header, rows))

        parts.append("<h2>Stress maps</h2>")
        # one per row at the page's width: two panels of a wide window are unreadable in a column
        parts.append('<div class="grid full" style="grid-template-columns:1fr">')
        for r in runs:
            shown = [(name, (r.path / name).read_bytes()) for name in STANDARD_FIGURES[:1] if (r.path / name).is_file()]
            plots_off = r.summary.get("scenario", {}).get("output", {}).get("plots") is False
            parts += [_img(data, f"{r.label}: {name}") for name, data in shown] or [
                f"<p>{html.escape(r.label)}: no stress map{' (output.plots = false)' if plots_off else ''}</p>"]
        parts.append("</div>")

        parts.append("<h2>Interface profiles</h2>")
        overlay = profiles_figure(runs)
        if overlay:
            parts.append(_img(overlay, "compressive interface normal stress along x, all runs"))
        for name in STANDARD_FIGURES[1:]:  # one row per kind of figure, one column per run
            if not any((r.path / name).is_file() for r in runs):
                continue
            parts.append(f'<div class="grid" style="grid-template-columns:repeat({cols},1fr)">')
            for r in runs:
                parts.append(_img((r.path / name).read_bytes(), f"{r.label}: {name}") if (r.path / name).is_file()
                             else f"<p>{html.escape(r.label)}: no {html.escape(name)}</p>")
            parts.append("</div>")

        others = {r.label: sorted(p for p in r.path.rglob("*.png") if p.name not in STANDARD_FIGURES) for r in runs}
        if any(others.values()):
            parts.append("<h2>FBG spectra and other figures</h2>")
            parts.append(f'<div class="grid" style="grid-template-columns:repeat({cols},1fr)">')
            for r in runs:
                parts += [_img(p.read_bytes(), f"{r.label}: {p.relative_to(r.path)}") for p in others[r.label]]
            parts.append("</div>")

        parts.append("<h2>Metrics</h2>")
        names: list[str] = []
        for r in runs:
            names += [k for k in r.metrics if k not in names]
        parts.append(_table(["metric", *[r.label for r in runs]],
                            [[n, *[fmt_value(n, r.metrics.get(n)) for r in runs]] for n in names], numeric_from=1))

        parts.append("<h2>Provenance</h2>")
        parts.append(provenance_html(runs))

        for r in runs:
            s = r.summary
            parts.append(f"<h2>{html.escape(r.label)}</h2>")
            parts.append(f"<p class=\"meta\">folder <code>{html.escape(str(r.path))}</code>, scenario file "
                         f"<code>{html.escape(str(s.get('scenario_file', '')))}</code></p>")
            mats = [[region, m.get("key", ""), fmt_value("youngs_modulus_Pa", m.get("youngs_modulus_Pa")),
                     fmt_value("", m.get("poissons_ratio")),
                     "; ".join(f"{k}: {v}" for k, v in (m.get("sources") or {}).items())]
                    for region, m in s.get("materials", {}).items()]
            parts.append(_table(["region", "material", "E", "ν", "sources"], mats))
            mesh = {k: v for k, v in s.get("mesh", {}).items() if not isinstance(v, (dict, list))}
            parts.append(_table(["mesh", "value"], [[k, fmt_value(k, v)] for k, v in mesh.items()]))
            parts.append("<details><summary>scenario as run</summary><pre>"
                         + html.escape(_toml_like(s.get("scenario", {}))) + "</pre></details>")

    for sw in sweeps:
        parts.append(f"<h2>{html.escape(sw.label)}</h2>")
        if (sw.path / "sweep.png").is_file():
            parts.append(_img((sw.path / "sweep.png").read_bytes(), f"{sw.label}: every metric against the first "
                                                                    "swept parameter"))
        if sw.sweep_rows:
            header = list(sw.sweep_rows[0])
            parts.append(_table(header, [[row.get(h, "") for h in header] for row in sw.sweep_rows]))
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"


def write_report(folders: list[str | Path], out: str | Path, title: str | None = None,
                 overwrite: bool = False) -> Path:
    """Read the folders (all first: a bad one stops before anything is written), write the page
    (ecmsim.io.folders.result_files: an existing file is replaced only if ecmsim's report wrote it)."""
    from ecmsim.io.folders import result_files

    report_path(out)  # a bad -o stops before the folders are read
    read = [read_folder(Path(f)) for f in folders]
    labels = [f.label for f in read]
    for f in read:  # two runs of the same scenario: tell them apart by folder name
        if labels.count(f.label) > 1:
            f.label = f"{f.label} ({f.path.name})"
    out = report_path(out)
    text = build_html(read, title)
    with result_files(out.parent, [out.name], command="report", overwrite=overwrite) as stage:
        (stage / out.name).write_text(text, encoding="utf-8")
    return out


def report_path(given: str | Path) -> Path:
    """``-o``: an ``.html`` file, or a folder to write ``report.html`` into."""
    from ecmsim.core.errors import OutputError

    out = Path(given)
    if out.is_dir() or str(given).endswith(("/", os.sep)):
        out = out / "report.html"
    if out.suffix.lower() not in (".html", ".htm"):
        raise OutputError(f"-o {given}: the report is an HTML page: name an .html file or a folder")
    return out


def _report(args: argparse.Namespace) -> int:
    out = write_report(args.folders, args.out, args.title, args.overwrite)
    print(f"[report] {out} ({out.stat().st_size / 1e6:.1f} MB)")
    return 0
