"""``ecmsim study``: the study file's checks, running and resuming, the comparison table, the page."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import numpy as np
import pytest

from conftest import SCENARIOS, assert_one_line_error, chromium_or_skip, run_cli
from ecmsim.studies.report_html import Folder
from ecmsim.studies.study import comparison_rows, load

#: Coarse, quiet flat runs: a few seconds each, most of it start-up.
FAST = ["mesh.size_m=4e-6", "mesh.interface_size_m=2e-6", "output.fields=false", "solver.element_degree=1"]


def _write(path: Path, body: str) -> Path:
    path.write_text(body, encoding="utf-8")
    return path


def _run_entry(name: str, role: str | None = None, cell: str | None = None, extra: tuple[str, ...] = ()) -> str:
    sets = ", ".join(json.dumps(s) for s in (*FAST, *extra))
    lines = ["[[run]]", f'name = "{name}"', f'scenario = "{SCENARIOS / "flat_bilayer.toml"}"', f"set = [{sets}]"]
    if role:
        lines.append(f'role = "{role}"')
    if cell:
        lines.append(f'cell = "{cell}"')
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("body, fragment", [
    ('title = "x"\n', "needs at least one [[run]]"),
    ('colour = "x"\n' + '[[run]]\nname = "a"\nscenario = "s.toml"\n', "unknown top-level key"),
    ('[[run]]\nname = "a b"\nscenario = "s.toml"\n', "name = 'a b': must be"),
    ('[[run]]\nname = "a"\nscenario = "s.toml"\n[[run]]\nname = "a"\nscenario = "s.toml"\n', "used twice"),
    ('[[run]]\nname = "a"\nscenario = "s.toml"\nrole = "hero"\n', "role = 'hero': must be one of"),
    ('[[run]]\nname = "a"\nscenario = "s.toml"\ncell = "Na"\n', "cell = 'Na'"),
    ('[[run]]\nname = "a"\nscenario = "s.toml"\nset = ["mesh.size_m"]\n', "key=value"),
    ('[[run]]\nname = "a"\nscenario = "s.toml"\nrepeat = 3\n', "unknown key(s) ['repeat']"),
    ('[[run]]\nname = "a"\nscenario = "s.toml"\nrole = "static"\ncell = "Li"\n'
     '[[run]]\nname = "b"\nscenario = "s.toml"\nrole = "static"\ncell = "Li"\n', "appears twice"),
])
def test_bad_study_files_are_one_line_and_run_nothing(tmp_path, body, fragment):
    study = _write(tmp_path / "s.study.toml", body)
    proc = run_cli("study", str(study), "-o", str(tmp_path / "out"))
    assert_one_line_error(proc, fragment)
    assert not (tmp_path / "out").exists()


def test_a_bad_scenario_key_in_one_run_stops_before_any_run(tmp_path):
    body = _run_entry("good") + _run_entry("bad", extra=("loading.stack_pressure_Pa=-1",))
    proc = run_cli("study", str(_write(tmp_path / "s.toml", body)), "-o", str(tmp_path / "out"))
    assert_one_line_error(proc, "loading.stack_pressure_Pa", "run bad")
    assert not (tmp_path / "out").exists()


@pytest.fixture(scope="module")
def small_study(tmp_path_factory):
    """Two flat runs standing for the static windows of the two cells, run once for the module."""
    tmp = tmp_path_factory.mktemp("study")
    body = ('title = "A small study"\ndescription = "Two flat windows."\n'
            + _run_entry("li_flat", "static", "Li")
            + _run_entry("lisn_flat", "static", "LiSn", extra=("materials.electrode=LiSn",)))
    study = _write(tmp / "small.toml", body)
    out = tmp / "out"
    proc = run_cli("study", str(study), "-o", str(out), "-j", "2")
    return study, out, proc


def test_study_runs_every_run_and_writes_one_page(small_study):
    _, out, proc = small_study
    assert proc.returncode == 0, proc.stderr
    for name in ("li_flat", "lisn_flat"):
        assert json.loads((out / "runs" / name / "summary.json").read_text())["metrics"]
    page = (out / "report.html").read_text()
    assert "<title>A small study</title>" in page and "Simulated against measured" in page
    assert "Static windows of the cycled sections" in page
    # each run's stress map, and the page's own profile of both runs (compression +) instead of the
    # runs' interface_stress.png (sigma positive in tension): one sign convention on the page
    assert page.count("data:image/png;base64,") >= 3 and "interface_stress.png" not in page
    assert "compression positive" in page and "Validity:" in page
    assert "not in this study" in page                         # the fibre rows: no fibre run here
    assert json.loads((out / "study.json").read_text())["runs"][1]["cell"] == "LiSn"


def test_rerun_skips_finished_runs_and_reruns_a_changed_one(small_study):
    study, out, _ = small_study
    before = (out / "runs" / "li_flat" / "summary.json").read_bytes()
    proc = run_cli("study", str(study), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "2 finished before, 0 to run" in proc.stdout
    assert (out / "runs" / "li_flat" / "summary.json").read_bytes() == before
    changed = _write(study.with_name("changed.toml"), study.read_text().replace(
        '"materials.electrode=LiSn"', '"materials.electrode=LiSn", "loading.stack_pressure_Pa=3e6"'))
    proc = run_cli("study", str(changed), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "1 finished before, 1 to run" in proc.stdout


def test_a_foreign_folder_is_refused(tmp_path):
    (tmp_path / "mine").mkdir()
    (tmp_path / "mine" / "thesis.tex").write_text("x")
    proc = run_cli("study", str(_write(tmp_path / "s.toml", _run_entry("a"))), "-o", str(tmp_path / "mine"))
    assert_one_line_error(proc, "not an ecmsim study folder")
    assert (tmp_path / "mine" / "thesis.tex").read_text() == "x"


def _folder(tmp_path: Path, name: str, metrics: dict, pressures: np.ndarray | None = None) -> Folder:
    d = tmp_path / name
    d.mkdir()
    if pressures is not None:   # a cycling run's profiles: step 1 uniform, step 2 (the last) the given pressures
        x = np.linspace(0, 40e-6, len(pressures))
        rows = [[s, 3600.0 * s, xi, 0.0, 0.0, -(2.4e6 if s == 1 else p), 0, 0, 1] for s in (1, 2)
                for xi, p in zip(x, pressures)]
        np.savetxt(d / "interface_profiles.csv", rows, delimiter=",", comments="",
                   header="step,time_s,x_m,y_m,current_density_A_m2,normal_stress_Pa,plated_thickness_m,"
                          "dead_li_thickness_m,contact_activity")
    return Folder(d, name, summary={"metrics": metrics})


def test_comparison_table_reads_the_runs_it_is_given(tmp_path):
    li_fibre = _folder(tmp_path, "lf", {"fbg_peak_x_nm": 1542.37, "fbg_peak_y_nm": 1542.18, "fbg_splitting_pm": 193.0,
                                        "fbg_peaks_nm": [1542.18, 1542.37]})
    lisn_fibre = _folder(tmp_path, "sf", {"fbg_splitting_pm": 287.0})
    pressures = np.linspace(0.0, 30e6, 301)                  # uniform over the window: percentiles known
    li_cyc = _folder(tmp_path, "lc", {"fbg_peak_count_final": 5, "fbg_peak_spread_final_nm": 1.3,
                                      "fbg_delta_sigma_max_Pa": 80e6, "cell_overpotential_V": 0.2,
                                      "interface_sigma_nn_centre_Pa": -9e6, "interface_sigma_nn_edge_Pa": -3e6},
                     pressures)
    header, rows = comparison_rows({("fibre_cell", "Li"): li_fibre, ("fibre_cell", "LiSn"): lisn_fibre,
                                    ("cycling", "Li"): li_cyc})
    table = {r[0]: r[3:] for r in rows}
    assert header[3:] == ["Li / PLL", "Li–Sn / PLL"]
    # like for like: the interrogator's reading, the eigenmode separation beside it
    assert table["peak splitting at 2.4 MPa"] == ["193 pm read (eigenmodes 190 pm)", "287 pm read"]
    assert table["Bragg peaks at 2.4 MPa before cycling"][0] == "2: 1542.18, 1542.37 nm"
    assert table["FBG peaks after 3 cycles"] == ["5 peaks, spread 1.30 nm", "not in this study"]
    assert table["largest Δσ by eq. 1–2 during 3 cycles"][0] == "80 MPa"
    lo, hi = (float(v) for v in table["compressive interface normal stress after 3 cycles"][0]
              .split(" MPa")[0].split(" … "))
    assert abs(lo - 1.5) < 0.05 and abs(hi - 28.5) < 0.05         # a uniform 0-30 MPa profile
    assert table["compressive interface normal stress after 3 cycles"][0].endswith("max 30 MPa")
    assert table["centre of the interface above the edges (Li)"][0].startswith("centre 9 MPa, edges 3 MPa")
    assert table["cell overpotential at 0.2 mA/cm²"][0] == "200 mV"
    assert table["current distribution (CV of the interface current density)"] == ["not in this study"] * 2



def test_study_page_renders_in_headless_chromium(small_study, tmp_path):
    browser = chromium_or_skip()
    page = small_study[1] / "report.html"
    common = [browser, "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]
    dom = subprocess.run([*common, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert dom.returncode == 0, dom.stderr[-2000:]
    assert "Simulated against measured" in dom.stdout and dom.stdout.count("<img") >= 3


def test_a_study_file_given_to_run_says_to_use_study(tmp_path):
    proc = run_cli("run", str(SCENARIOS / "reference_study.toml"), "-o", str(tmp_path / "out"))
    assert_one_line_error(proc, "a study file", "ecmsim study")
    proc = run_cli("study", str(SCENARIOS / "flat_bilayer.toml"), "-o", str(tmp_path / "out"))
    assert_one_line_error(proc, "a scenario file, not a study", "ecmsim run")
    assert not (tmp_path / "out").exists()


def test_shipped_reference_study_is_valid():
    study = load(SCENARIOS / "reference_study.toml")
    assert {(r.role, r.cell) for r in study.runs} >= {("cycling", "Li"), ("cycling", "LiSn"),
                                                      ("fibre_cell", "Li"), ("fibre_cell", "LiSn")}
    assert all(r.scenario.is_file() for r in study.runs)


# --- verdicts, measured points and warnings on the page ------------------------------------------------

def test_verdicts_come_from_the_validation_cases_on_the_studys_own_runs(tmp_path):
    """A study run that is a validation case's run (the same scenario as run, output aside) gets that
    case's verdict, computed by the case's own check and judged by its tolerance; cases needing runs
    the study does not make are named, not filled in."""
    from ecmsim.studies import study_verdicts as sv
    from ecmsim.studies.cases import find_suite, load_case
    from ecmsim.studies.verdicts import Context, compute

    scenario = SCENARIOS / "li_pll_cycled_image.toml"
    folder = tmp_path / "li_static"
    proc = run_cli("run", str(scenario), "-o", str(folder), "--set", "interface.model=contact",
                   "--set", "output.plots=false")
    assert proc.returncode == 0, proc.stderr
    header, rows, missing, note = sv.verdicts([(scenario, ["interface.model=contact"], folder)])
    table = {r[0]: dict(zip(header, r)) for r in rows}
    assert set(table) == {"li_pll_high_stress", "li_pll_low_stress", "li_pll_centre_above_edges"}
    high = table["li_pll_high_stress"]
    assert high["class"] == "cross-code" and high["reference"] == "30 MPa (simulation)"
    suite = find_suite()
    case = load_case(suite.cases_dir / "li_pll_high_stress.toml", suite)
    from ecmsim.studies.checks import LI_STATIC
    value = compute(case, Context(tmp_path / "scratch", suite.root, {LI_STATIC: folder}))[0]
    assert high["this study"] == f"{value / 1e6:.6g} MPa" and high["ratio"] == f"{value / 30e6:.3g}"
    assert high["verdict"].startswith("PASS" if abs(value - 30e6) <= 15e6 else "FAIL")
    assert "li_peak_count_after_cycling" in missing and "lisn_vs_li_uniformity" in missing
    assert "predicted" in note


def _readout_folder(tmp_path: Path, name: str, summary: dict) -> Folder:
    d = tmp_path / name
    d.mkdir()
    (d / "peak_tracks.csv").write_text(
        "step,time_s,peak_count,track,wavelength_nm,reflectance,fwhm_pm,reference_nm,delta_lambda_pm,delta_sigma_Pa\n"
        "0,np.float64(0.0),2,0,1542.0,0.5,150,1542.0,0,0\n1,np.float64(3600.0),2,0,1542.1,0.5,150,1542.0,100,1e6\n")
    (d / "delta_sigma.csv").write_text(
        "step,time_s,peak_count,delta_sigma_max_abs_Pa,delta_sigma_max_Pa,delta_sigma_min_Pa,centroid_nm,"
        "delta_sigma_centroid_Pa\n0,0.0,2,0,0,0,1542,0\n1,3600.0,2,5e6,5e6,0,1542.1,1e6\n")
    lam = np.linspace(1541.5, 1542.5, 101)
    np.savetxt(d / "spectrum.csv", np.column_stack([lam, lam * 0, lam * 0, np.exp(-((lam - 1542) / 0.1) ** 2)]),
               delimiter=",", header="wavelength_nm,R_x,R_y,R", comments="")
    return Folder(d, name, summary=summary)


def test_page_draws_measured_points_and_puts_warnings_first(tmp_path):
    from ecmsim.studies import study_verdicts as sv
    from ecmsim.studies.study import _measured

    assert sv._numbers("np.float64(3600.0)") == 3600.0 and sv._numbers("7.5") == 7.5   # read-outs write both
    warned = _readout_folder(tmp_path, "li", {"metrics": {}, "warnings": ["the Li's von Mises stress reaches 9 %"]})
    figs = sv.measured_figures({("cycling", "Li"): warned, ("fibre_cell", "Li"): warned}, _measured())
    assert len(figs) == 3 and all(png[:4] == b"\x89PNG" for png, _ in figs)
    assert "measured" in figs[0][1] and "unloaded" in figs[2][1]
    # no read-out files: no figure, and nothing raises
    empty = tmp_path / "empty"
    empty.mkdir()
    assert sv.measured_figures({("cycling", "Li"): Folder(empty, "e", summary={})}, _measured()) == []
    top = sv.warnings_html([("li", warned)], ["lisn"])
    assert "von Mises stress reaches 9 %" in top and "lisn" in top and 'class="warn"' in top
    assert 'class="ok"' in sv.warnings_html([("e", Folder(empty, "e", summary={"warnings": []}))], [])


def test_comparison_table_shows_the_measured_values_in_their_units():
    """The measured column reads the reference experiment's values, converted once: 190 and 290 pm of
    splitting (Fig. 3c, 4d), the peaks in nm, 80 and 12 MPa, 286 and 163 mV, 69 pm/MPa and 9.3 pm/°C."""
    from ecmsim.studies.study import comparison_rows

    _, rows = comparison_rows({})
    measured = {row[0]: row[1] for row in rows}
    assert measured["peak splitting at 2.4 MPa"] == "Li 190 pm; Li–Sn 290 pm"
    assert measured["Bragg peaks at 2.4 MPa before cycling"] == "Li 1542.18, 1542.37 nm; Li–Sn 1588.35, 1588.64 nm"
    assert measured["largest Δσ by eq. 1–2 during 3 cycles"] == "Li ≈ 80 MPa; Li–Sn ≈ 12 MPa"
    assert measured["cell overpotential at 0.2 mA/cm²"] == "Li 286 mV; Li–Sn 163 mV"
    assert measured["pressure and temperature sensitivity of the embedded FBG"] == "69 pm/MPa, 9.3 pm/°C"
    assert all(row[3:] == ["not in this study", "not in this study"] for row in rows[:-1])


def test_processes_sharing_the_jit_cache_wait_for_each_others_compiles():
    """The runs of a study (and the test workers) share dolfinx's JIT cache: one that finds a form
    being compiled by another waits for it 300 s, not dolfinx's 10 s, which one compile can exceed
    on a loaded machine (ecmsim/core/fem.py)."""
    from ecmsim.core.fem import dolfinx

    assert dolfinx.jit.get_options()["timeout"] == 300
