"""``ecmsim fbg`` end to end, in a subprocess: files, metrics, time series, and exit code 2 with
one line on stderr for every kind of bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from ecmsim import materials

ROOT = Path(__file__).resolve().parents[1]
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def ecmsim(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "ecmsim", "fbg", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=120)


def write(path, text):
    path.write_text(text)
    return path


def test_single_profile(tmp_path):
    """A birefringent profile at 60 C: spectrum.csv, summary.json with the metrics, a PNG."""
    profile = write(tmp_path / "cell.csv", "z_m,exx,eyy,ezz,exy,T_K\n"
                                            "0,3.4e-4,-6.8e-4,0,0,333.15\n0.012,3.4e-4,-6.8e-4,0,0,333.15\n")
    run = ecmsim(profile, "-o", tmp_path / "out", "--set", "grating.apodization=gaussian", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = tmp_path / "out"
    header = (out / "spectrum.csv").read_text().splitlines()[0]
    assert header == "wavelength_nm,R_x,R_y,R"
    data = np.loadtxt(out / "spectrum.csv", delimiter=",", skiprows=1)
    assert data.shape[1] == 4 and np.all(np.diff(data[:, 0]) > 0)
    assert (out / "spectrum.png").read_bytes()[:8] == PNG_SIGNATURE
    summary = json.loads((out / "summary.json").read_text())
    m = summary["metrics"]
    for key in ("fbg_peaks_nm", "fbg_peak_count", "fbg_splitting_pm", "fbg_fwhm_pm", "fbg_shift_pm"):
        assert key in m, key
    assert m["fbg_peak_count"] == 2 and len(m["fbg_peaks_nm"]) == 2
    assert 200 < m["fbg_splitting_pm"] < 260
    # 40 K above the reference temperature: the strain-free reference grating takes it out again
    assert abs(m["fbg_estimated_delta_T_K"] - 40.0) < 0.05
    assert abs(m["fbg_shift_pm"] - m["fbg_reference_shift_pm"] - m["fbg_compensated_shift_pm"]) < 1.0
    assert summary["inputs"]["parameters"]["grating"]["apodization"] == "gaussian"
    assert summary["inputs"]["fibre"]["key"] == "silica"
    assert "2 peak(s)" in run.stdout


def test_design_wavelength_override(tmp_path):
    profile = write(tmp_path / "p.csv", "z_m,exx,eyy,ezz\n0,0,0,0\n0.01,0,0,0\n")
    run = ecmsim(profile, "-o", tmp_path / "o", "--set", "grating.design_wavelength_m=1588.35e-9", "-q", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    assert run.stdout == ""
    m = json.loads((tmp_path / "o" / "summary.json").read_text())["metrics"]
    assert m["fbg_peak_count"] == 1 and abs(m["fbg_peaks_nm"][0] - 1588.35) < 1e-3


def test_time_series_from_a_step_column(tmp_path):
    rows = ["step,z_m,exx,eyy,ezz"]
    loads = [0.0, 2e-4, 4e-4, 6e-4]
    for step, load in enumerate(loads):
        rows += [f"{step},0,{load},{-2 * load},0", f"{step},0.01,{load},{-2 * load},0"]
    profile = write(tmp_path / "series.csv", "\n".join(rows) + "\n")
    run = ecmsim(profile, "-o", tmp_path / "s", "--set", "grating.apodization=gaussian", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = tmp_path / "s"
    assert (out / "waterfall.png").read_bytes()[:8] == PNG_SIGNATURE
    peaks = (out / "peaks.csv").read_text().splitlines()
    assert peaks[0] == "step_index,label,track,wavelength_nm,reflectance,shift_pm,fwhm_pm,stress_eq12_Pa"
    steps = [int(line.split(",")[0]) for line in peaks[1:]]
    assert sorted(set(steps)) == [0, 1, 2, 3]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["series"]["fbg_peak_count"][0] == 1 and summary["series"]["fbg_peak_count"][-1] == 2
    # e_x - e_y = 3 load: splitting lambda (n^2/2)(p12 - p11) 3 load. The interrogator (peak
    # detection on the summed spectrum) resolves it from ~250 pm on and reads 136 pm as one broader
    # peak; the model-based decomposition finds both lines at every step, within 2 %
    silica = materials.get("silica")
    n, p11, p12 = silica.get("effective_index"), silica.get("p11"), silica.get("p12")
    expected = [1550e-9 * n * n / 2 * (p12 - p11) * 3 * load * 1e12 for load in loads]
    series = summary["series"]
    assert series["fbg_splitting_pm"][0] == 0.0  # unloaded: one peak
    for got, want in zip(series["fbg_splitting_pm"][2:], expected[2:]):
        assert abs(got - want) < 1.0
    assert abs(expected[1] - 136.0) < 1.0
    assert series["fbg_decomposed_peak_count"] == [1, 2, 2, 2]
    for got, want in zip(series["fbg_decomposed_splitting_pm"][1:], expected[1:]):
        assert abs(got - want) < 0.02 * want
    spectra = np.loadtxt(out / "spectra.csv", delimiter=",", skiprows=1)
    assert spectra.shape[1] == 5


def test_time_series_from_a_directory_and_measured_comparison(tmp_path):
    folder = tmp_path / "steps"
    folder.mkdir()
    for i in (1, 2, 10):
        write(folder / f"t{i}.csv", f"z_m,exx,eyy,ezz\n0,0,0,{i * 1e-5}\n0.01,0,0,{i * 1e-5}\n")
    first = ecmsim(folder, "-o", tmp_path / "d", "--no-decompose", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    spectrum = np.loadtxt(tmp_path / "d" / "spectrum.csv", delimiter=",", skiprows=1)
    measured = write(tmp_path / "measured.csv", "wavelength_nm,R\n" +
                     "\n".join(f"{w:.6f},{r:.8g}" for w, r in spectrum[:, [0, 3]]) + "\n")
    run = ecmsim(folder, "-o", tmp_path / "d2", "--measured", measured, cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    summary = json.loads((tmp_path / "d2" / "summary.json").read_text())
    assert summary["inputs"]["steps"] == ["t1", "t2", "t10"]
    assert summary["metrics"]["fbg_spectral_correlation"] > 0.999999
    assert abs(summary["metrics"]["fbg_peak_offsets_pm"][0]) < 0.5
    m = summary["metrics"]
    assert m["fbg_measured_decomposed_peak_count"] == m["fbg_decomposed_peak_count"] == 1
    assert abs(m["fbg_measured_decomposed_peaks_nm"][0] - m["fbg_decomposed_peaks_nm"][0]) < 1e-3


def test_help_lists_the_keys_and_the_cli_module_loads_no_numpy(tmp_path):
    run = subprocess.run([sys.executable, "-m", "ecmsim", "fbg", "--help"], capture_output=True, text=True,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=tmp_path)
    assert run.returncode == 0
    assert "grating.length_m = 0.01 [m]" in run.stdout and "interrogator.resolution_m" in run.stdout
    probe = subprocess.run([sys.executable, "-c", "import sys, ecmsim.cli.fbg; print('numpy' in sys.modules)"],
                           capture_output=True, text=True, env=dict(os.environ, PYTHONPATH=str(ROOT)), cwd=tmp_path)
    assert probe.stdout.strip() == "False"


GOOD = "z_m,exx,eyy,ezz\n0,0,0,0\n0.01,0,0,0\n"
BAD = {
    "missing column": ("z_m,exx,eyy\n0,0,0\n0.01,0,0\n", [], "missing column ezz"),
    "non-numeric": ("z_m,exx,eyy,ezz\n0,0,0,0\n0.01,0,zero,0\n", [], "is not a number"),
    "NaN": ("z_m,exx,eyy,ezz\n0,0,0,nan\n0.01,0,0,0\n", [], "must be a finite number"),
    "z not increasing": ("z_m,exx,eyy,ezz\n0.01,0,0,0\n0,0,0,0\n", [], "does not increase"),
    "shorter than grating": ("z_m,exx,eyy,ezz\n0,0,0,0\n0.004,0,0,0\n", [], "shorter than the grating"),
    "unknown key": (GOOD, ["--set", "grating.lenght_m=0.01"], "unknown key 'grating.lenght_m'"),
    "value out of range": (GOOD, ["--set", "grating.delta_n=0.5"], "grating.delta_n = 0.5: must be in"),
    "too many sections": (GOOD, ["--set", "grating.sections=9000"], "grating.sections = 9000"),
    "bad measured file": (GOOD, ["--measured", "nothere.csv"], "nothere.csv: spectrum file not found"),
}


@pytest.mark.parametrize("case", sorted(BAD))
def test_bad_input_exits_2_with_one_line(tmp_path, case):
    text, extra, message = BAD[case]
    profile = write(tmp_path / "profile.csv", text)
    run = ecmsim(profile, "-o", tmp_path / "out", *extra, cwd=tmp_path)
    assert run.returncode == 2
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1, run.stderr
    assert lines[0].startswith("ecmsim: error: ") and message in lines[0]
    assert "Traceback" not in run.stderr


def test_missing_profile_file_exits_2(tmp_path):
    run = ecmsim(tmp_path / "absent.csv", "-o", tmp_path / "out", cwd=tmp_path)
    assert run.returncode == 2 and run.stderr.count("\n") == 1
    assert "absent.csv: profile file not found" in run.stderr
