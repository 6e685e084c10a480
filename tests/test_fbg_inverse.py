"""Inverse FBG: spectra made by the forward model from known diametral line loads, back to the
loads; and ``ecmsim fbg invert`` end to end."""

import json
import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest

from ecmsim.fbg import Grating, Interrogator, StrainProfile, simulate
from ecmsim.fbg.inverse import (invert, line_load_from_sigma_diff, line_load_strains,
                                sigma_diff_from_line_load)
from ecmsim.fbg.optics import Fibre

FIBRE = Fibre.from_material("silica")
L = 10e-3
ROOT = Path(__file__).resolve().parents[1]


def stepped_profile(loads_N_m):
    """Equal-length segments of the grating, each under its own diametral line load."""
    z, exx, eyy = [], [], []
    k = len(loads_N_m)
    for i, f in enumerate(loads_N_m):
        ex, ey = line_load_strains(f, FIBRE)
        z += [i * L / k + (1e-9 if i else 0.0), (i + 1) * L / k]
        exx += [float(ex)] * 2
        eyy += [float(ey)] * 2
    return StrainProfile(z_m=np.array(z), exx=np.array(exx), eyy=np.array(eyy), ezz=0.0)


def test_line_load_relations():
    """sigma_1 - sigma_2 = 8 f / (pi D) at the centre of a disc under a diametral load (Timoshenko
    & Goodier): 1 N/mm on 125 um is 20.37 MPa; e_1 - e_2 = (1 + nu)(sigma_1 - sigma_2) / E."""
    assert abs(sigma_diff_from_line_load(1000.0, FIBRE) - 8e3 / (math.pi * 125e-6)) < 1e-3
    assert abs(sigma_diff_from_line_load(1000.0, FIBRE) / 1e6 - 20.372) < 1e-3
    assert abs(line_load_from_sigma_diff(sigma_diff_from_line_load(1234.0, FIBRE), FIBRE) - 1234.0) < 1e-9
    e1, e2 = line_load_strains(1000.0, FIBRE)
    E, nu = FIBRE.youngs_modulus_Pa, FIBRE.poissons_ratio
    assert abs((e1 - e2) - (1 + nu) * sigma_diff_from_line_load(1000.0, FIBRE) / E) < 1e-18


def test_uniform_load_is_recovered_exactly():
    ex, ey = line_load_strains(2000.0, FIBRE)
    spectrum, _ = simulate(StrainProfile.uniform(L, exx=float(ex), eyy=float(ey)), workers=1)
    inv = invert(spectrum.wavelength_m, spectrum.R)
    assert len(inv.levels) == 1
    assert abs(inv.levels[0].line_load_N_m - 2000.0) < 1e-3            # 0.5 ppm
    assert abs(inv.levels[0].length_fraction - 1.0) < 1e-12
    assert abs(inv.shift_relative) < 1e-9 and abs(inv.scale - 1.0) < 1e-6
    rows = inv.rows()
    assert rows[0]["z_m"] == pytest.approx(L / 2) and rows[0]["sigma_diff_Pa"] == pytest.approx(
        sigma_diff_from_line_load(2000.0, FIBRE))


def test_three_level_profile_with_noise():
    """Thirds of the grating at 1.5, 4 and 2.5 N/mm (their reflections overlap), 0.5 % noise: three
    levels by BIC, each load within 10 % (in fact < 1 %), each length within 0.05 of 1/3."""
    truth = [1500.0, 4000.0, 2500.0]
    spectrum, _ = simulate(stepped_profile(truth), Grating(), Interrogator(noise_rms=0.005, seed=3), workers=1)
    inv = invert(spectrum.wavelength_m, spectrum.R)
    assert len(inv.levels) == 3
    got = sorted((lv.line_load_N_m, lv.length_fraction, lv.line_load_uncertainty_N_m) for lv in inv.levels)
    for (load, fraction, u), want in zip(got, sorted(truth)):
        assert abs(load - want) < 0.10 * want
        assert abs(load - want) < 0.01 * want
        assert abs(fraction - 1 / 3) < 0.05
        assert 0 < u < 0.05 * want
    assert 0.8 < inv.chi2_per_dof < 1.2


def ecmsim(*args, cwd):
    env = dict(os.environ, PYTHONPATH=str(ROOT) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    return subprocess.run([sys.executable, "-m", "ecmsim", "fbg", *map(str, args)], cwd=cwd, env=env,
                          capture_output=True, text=True, timeout=300)


def test_invert_cli_single_and_series(tmp_path):
    """``ecmsim fbg`` writes a series; ``ecmsim fbg invert`` reads its spectrum.csv (one step) and
    spectra.csv (every step) back to loads."""
    rows = ["step,z_m,exx,eyy,ezz"]
    for step, f in enumerate((1000.0, 3000.0)):
        ex, ey = line_load_strains(f, FIBRE)
        rows += [f"{step},0,{float(ex)!r},{float(ey)!r},0", f"{step},0.01,{float(ex)!r},{float(ey)!r},0"]
    (tmp_path / "series.csv").write_text("\n".join(rows) + "\n")
    fwd = ecmsim(tmp_path / "series.csv", "-o", tmp_path / "fwd", "--no-decompose", "--workers", "1", cwd=tmp_path)
    assert fwd.returncode == 0, fwd.stderr
    run = ecmsim("invert", tmp_path / "fwd" / "spectrum.csv", "-o", tmp_path / "inv", cwd=tmp_path)
    assert run.returncode == 0, run.stderr
    out = tmp_path / "inv"
    text = (out / "inverse_profile.csv").read_text()
    assert "order of segments along z" in text
    header = [line for line in text.splitlines() if not line.startswith("#")][0].split(",")
    for column in ("z_m", "sigma_diff_Pa", "line_load_N_m", "line_load_uncertainty_N_m"):
        assert column in header
    summary = json.loads((out / "summary.json").read_text())
    assert summary["metrics"]["fbg_inverse_levels"] == 1
    assert abs(summary["metrics"]["fbg_inverse_line_load_N_m"][0] - 3000.0) < 1.0
    assert (out / "inverse_fit.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    series = ecmsim("invert", tmp_path / "fwd" / "spectra.csv", "-o", tmp_path / "inv2", "-q", cwd=tmp_path)
    assert series.returncode == 0, series.stderr
    loads = json.loads((tmp_path / "inv2" / "summary.json").read_text())["series"]["fbg_inverse_line_load_N_m"]
    assert abs(loads[0][0] - 1000.0) < 1.0 and abs(loads[1][0] - 3000.0) < 1.0
    bad = ecmsim("invert", tmp_path / "missing.csv", "-o", tmp_path / "x", cwd=tmp_path)
    assert bad.returncode == 2 and len(bad.stderr.strip().splitlines()) == 1 and "missing.csv" in bad.stderr


@pytest.mark.slow
def test_inverse_of_a_1000_section_5000_wavelength_spectrum_under_a_minute():
    spectrum, _ = simulate(stepped_profile([1500.0, 4000.0, 2500.0]), Grating(sections=1000),
                           Interrogator(resolution_m=0.45e-12, noise_rms=0.005), workers=1)
    assert spectrum.wavelength_m.size >= 5000
    t0 = time.perf_counter()
    inv = invert(spectrum.wavelength_m, spectrum.R)
    assert time.perf_counter() - t0 < 60.0
    assert len(inv.levels) == 3


def test_a_uniform_mean_strain_is_read_as_the_shift_and_mean_strain():
    """The load of the uniform test plus a transverse strain e0 on both axes (ezz = 0): the lines move
    together by d(lambda)/lambda = -(n^2/2)(p11 + p12) e0, which the inversion reports as the mean
    shift, and the level's mean strain is the load's (e1 + e2)/2 plus e0."""
    ex, ey = line_load_strains(2000.0, FIBRE)
    e0 = -2e-4
    spectrum, _ = simulate(StrainProfile.uniform(L, exx=float(ex) + e0, eyy=float(ey) + e0), workers=1)
    inv = invert(spectrum.wavelength_m, spectrum.R)
    assert len(inv.levels) == 1
    n = FIBRE.effective_index
    relative = -0.5 * n * n * (FIBRE.p11 + FIBRE.p12) * e0
    m = inv.metrics()
    assert m["fbg_inverse_mean_shift_pm"] == pytest.approx(relative * inv.design_wavelength_m * 1e12, rel=1e-3, abs=0)
    assert inv.levels[0].mean_strain == pytest.approx(0.5 * (ex + ey) + e0, rel=1e-3, abs=0)
    assert inv.levels[0].line_load_N_m == pytest.approx(2000.0, rel=1e-3, abs=0)
