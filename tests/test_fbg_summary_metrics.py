"""The FBG summary metrics against closed forms and against the written spectrum itself.

A free fibre under uniform axial stress (e_zz = eps, e_xx = e_yy = -nu eps, at the reference
temperature) reflects one peak shifted by lambda_0 (1 - p_e) eps (the reference paper's eq. 1,
first order in eps); eq. 1-2 then give back sigma = E eps. The peak's FWHM is measured again
on spectrum.csv (linear interpolation of the half-maximum crossings).
"""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import run_cli

from ecmsim import materials

EPS = 1e-4


@pytest.fixture(scope="module")
def axial(tmp_path_factory):
    folder = tmp_path_factory.mktemp("fbg_axial")
    nu = materials.get("silica").poissons_ratio
    (folder / "p.csv").write_text(f"z_m,exx,eyy,ezz\n0,{-nu * EPS},{-nu * EPS},{EPS}\n0.01,{-nu * EPS},"
                                  f"{-nu * EPS},{EPS}\n")
    proc = run_cli("fbg", str(folder / "p.csv"), "-o", str(folder / "out"), "-q")
    assert proc.returncode == 0, proc.stderr
    summary = json.loads((folder / "out" / "summary.json").read_text())
    spectrum = np.loadtxt(folder / "out" / "spectrum.csv", delimiter=",", skiprows=1)
    return summary["metrics"], spectrum


def test_axial_stress_shift_and_eq12_stress(axial):
    m, _ = axial
    silica = materials.get("silica")
    n, p11, p12, nu = (silica.get("effective_index"), silica.get("p11"), silica.get("p12"), silica.poissons_ratio)
    pe = n * n / 2 * (p12 - nu * (p11 + p12))
    lam0 = m["fbg_reference_wavelength_nm"] * 1e-9
    shift_pm = lam0 * (1 - pe) * EPS * 1e12
    assert m["fbg_peak_count"] == 1 and m["fbg_splitting_pm"] == 0.0
    assert m["fbg_peak_shifts_pm"][0] == pytest.approx((m["fbg_peaks_nm"][0] - lam0 * 1e9) * 1e3, rel=1e-9, abs=0)
    assert m["fbg_peak_shifts_pm"][0] == pytest.approx(shift_pm, rel=2e-3, abs=0)
    assert m["fbg_shift_pm"] == pytest.approx(shift_pm, rel=2e-3, abs=0)
    E = silica.youngs_modulus_Pa
    assert m["fbg_stress_eq12_Pa"][0] == pytest.approx(E * EPS, rel=2e-3, abs=0)
    assert m["fbg_centroid_stress_eq12_Pa"] == pytest.approx(E * EPS, rel=2e-3, abs=0)


def test_fwhm_and_reflectance_from_the_written_spectrum(axial):
    m, spectrum = axial
    wl, R = spectrum[:, 0], spectrum[:, 3]
    i = int(np.argmax(R))
    half = R[i] / 2
    lo = i - np.argmax(R[i::-1] < half)            # first sample below half, left of the peak
    hi = i + np.argmax(R[i:] < half)
    left = np.interp(half, [R[lo], R[lo + 1]], [wl[lo], wl[lo + 1]])
    right = np.interp(half, [R[hi], R[hi - 1]], [wl[hi], wl[hi - 1]])
    assert m["fbg_fwhm_pm"] == pytest.approx((right - left) * 1e3, rel=0.02, abs=0)
    assert m["fbg_max_reflectance"] == pytest.approx(R.max(), rel=0.01, abs=0)
    assert m["fbg_peaks_nm"][0] == pytest.approx(wl[i], abs=2 * (wl[1] - wl[0]))
