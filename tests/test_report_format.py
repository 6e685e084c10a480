"""Reports that read right: units from the metric names (N/m is not µm), wavelengths to the
picometre, headings said once, stress maps readable at the width a page gives them, a provenance
table that fits the page, no stale "no electrochemistry yet"."""

from __future__ import annotations

import json
import re

import pytest
from conftest import SCENARIOS, run_cli

from ecmsim.studies.report_html import Folder, build_html, fmt_value


@pytest.mark.parametrize("name, value, shown", [
    ("contact_force_N_per_m", 3232.0, "3232 N/m"),               # was "3.232e+09 µm"
    ("fbg_inverse_line_load_N_m", 1500.0, "1500 N/m"),
    ("fbg_peaks_nm", [1550.1234, 1550.3234], "1550.123 nm, 1550.323 nm"),   # a 0.2 nm split stays visible
    ("fbg_centroid_nm", 1550.2004, "1550.200 nm"),
    ("design_wavelength_m", 1550.2e-9, "1550.200 nm"),
    ("fbg_splitting_pm", 199.64, "199.6 pm"),
    ("interface_normal_stress_mean_Pa", -2.4e6, "-2.4 MPa"),
    ("interface_length_m", 40e-6, "40 µm"),
    ("grating_length_m", 0.01, "10 mm"),
    ("cell_overpotential_V", 0.1121, "112.1 mV"),
    ("time_s", 7200.0, "7200 s"),
    ("temperature_K", 333.15, "333.15 K"),
    ("fbg_peak_count", 3, "3"),
    ("interface_normal_stress_cv", 0.07385, "0.07385"),
])
def test_values_show_in_the_unit_their_name_carries(name, value, shown):
    assert fmt_value(name, value) == shown


def _run_folder(tmp_path, label: str, metrics: dict, provenance: dict, electrode: str = "Li") -> Folder:
    summary = {"title": label, "metrics": metrics, "scenario": {"loading": {"stack_pressure_Pa": 2.4e6},
                                                                "materials": {"electrode": electrode}},
               "provenance": provenance, "input_hash_sha256": "ab" * 32, "materials": {}, "mesh": {}}
    folder = tmp_path / label.replace(" ", "_")
    folder.mkdir()
    (folder / "summary.json").write_text(json.dumps(summary))
    return Folder(folder, label, summary=summary)


def test_report_page_formats_units_and_fills_the_electrochemistry_rows(tmp_path):
    prov = {"python": "3.12.1", "dolfinx": "0.11.0", "platform": "Linux-6.1-x86_64-with-glibc2.36 " * 3}
    runs = [_run_folder(tmp_path, "li cycling", {"cell_overpotential_V": 0.112, "contact_force_N_per_m": 3232.0,
                                                 "fbg_peaks_nm": [1542.008, 1542.227],
                                                 "fbg_delta_sigma_max_Pa": 23.3e6}, prov),
            _run_folder(tmp_path, "li static", {"contact_force_N_per_m": 96.0}, {**prov, "dolfinx": "0.11.1"})]
    page = build_html(runs)
    assert "electrochemistry yet" not in page
    assert "112 mV" in page and "23.3 MPa" in page          # the run's own overpotential and Δσ
    lisn_row = next(r for r in re.findall(r"<tr>(.*?)</tr>", page, flags=re.S) if "overpotential at 0.2 mA/cm², Li–Sn" in r)
    assert "112 mV" not in lisn_row and "another cell" in lisn_row      # a Li run's value is not the Li-Sn cell's
    assert "3232 N/m" in page and "3.232e+09" not in page
    assert "1542.008 nm, 1542.227 nm" in page
    # provenance: two narrow tables (whatever the number of runs), long values wrapped
    prov_html = page.split("<h2>Provenance</h2>")[1].split("<h2>")[0]
    tables = re.findall(r"<table>(.*?)</table>", prov_html, flags=re.S)
    assert len(tables) == 2
    for table in tables:
        assert all(row.count("<td") <= 2 for row in re.findall(r"<tr>(.*?)</tr>", table, flags=re.S))
    assert 'class="wrap"' in prov_html and "li static: <code>0.11.1</code>" in prov_html


def test_study_headings_name_the_cell_once(tmp_path):
    from ecmsim.studies.study import run_heading
    f = Folder(tmp_path, "li_cycling", summary={"title": "Li / PLL: 3 plating/stripping cycles"})
    assert run_heading("Li / PLL", f) == "Li / PLL: 3 plating/stripping cycles"
    g = Folder(tmp_path, "lisn_static", summary={"title": "Li-Sn / PLL after 3 cycles"})
    assert run_heading("Li–Sn / PLL", g) == "Li-Sn / PLL after 3 cycles"
    h = Folder(tmp_path, "x", summary={"title": "flat bilayer"})
    assert run_heading("Li / PLL", h) == "Li / PLL: flat bilayer"


def test_stress_map_of_a_wide_window_stays_readable(tmp_path):
    """A window twice as wide as tall: the two panels one above the other, each the figure's width
    (side by side they were 12 x 2.75 in: 1800 x 412 px, ~190 px tall in a report column)."""
    from PIL import Image

    out = tmp_path / "wide"
    proc = run_cli("run", str(SCENARIOS / "flat_bilayer.toml"), "-o", str(out), "-q", "--set", "geometry.width_m=80e-6",
                   "--set", "mesh.size_m=4e-6", "--set", "mesh.interface_size_m=4e-6", "--set", "output.fields=false")
    assert proc.returncode == 0, proc.stderr
    width, height = Image.open(out / "stress_map.png").size
    assert height > 0.9 * width, (width, height)


def test_a_missing_stress_map_is_explained_only_by_what_the_run_says(tmp_path):
    """A run with output.plots = false is said to be so; a folder without a mechanics scenario (an
    ``ecmsim fbg`` run) has no stress map and no materials, and the page does not invent a reason."""
    quiet = _run_folder(tmp_path, "no plots", {"contact_force_N_per_m": 96.0}, {})
    quiet.summary["scenario"]["output"] = {"plots": False}
    fbg_dir = tmp_path / "fbg"
    fbg_dir.mkdir()
    fbg = Folder(fbg_dir, "fbg", summary={"title": "fbg", "metrics": {"fbg_peak_count": 1}})
    page = build_html([quiet, fbg])
    assert "no plots: no stress map (output.plots = false)" in page
    assert "fbg: no stress map</p>" in page
    assert "None / None" not in page
