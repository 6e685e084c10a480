"""Measured spectra as interrogators export them: header variants, dB/dBm/linear, delimiters and
preambles read to the same spectrum; drawn over the simulated one by ``ecmsim fbg --measured``; and
decomposed with a generic line shape (Gaussian, Lorentzian, pseudo-Voigt) when the grating's own
shape does not fit, chosen by the same information criterion."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import ROOT, run_cli

from ecmsim.fbg.decompose import decompose
from ecmsim.fbg.measured import read_measured_csv

LAM_NM = np.round(np.arange(1549.2, 1551.6, 0.002), 4)
CENTRES_NM = 1550.39 + np.array([-270.0, -90.0, 60.0, 240.0]) * 1e-3
HEIGHTS = (0.5, 0.8, 0.6, 0.4)
FWHM_NM = 0.160


def gaussian(lam, c, w):
    return np.exp(-4 * np.log(2) * ((lam - c) / w) ** 2)


def lorentzian(lam, c, w):
    return 1 / (1 + 4 * ((lam - c) / w) ** 2)


def four_lines(shape, noise=0.004, seed=5):
    """Four overlapping lines of a shape other than the grating's, 150-180 pm apart, FWHM 160 pm."""
    R = sum(h * shape(LAM_NM, c, FWHM_NM) for h, c in zip(HEIGHTS, CENTRES_NM))
    return R + np.random.default_rng(seed).normal(0, noise, LAM_NM.size) + 0.01


R_LINEAR = np.clip(four_lines(gaussian), 1e-3, None)   # a power trace has no negative samples
DBM = 10 * np.log10(R_LINEAR) - 20.0     # an interrogator's trace: dBm at an unknown level

EXPORTS = {
    "interrogator csv": ("Wavelength (nm),Power (dBm)\n", ",", DBM, "."),
    "preamble, semicolons, decimal comma": ("Instrument;FBG interrogator\nDate;2025-03-01\nWavelength [nm];Reflection [dB]\n",
                                            ";", DBM, ","),
    "tabs and channels": ("Wavelength (nm)\tCH1 (dBm)\tCH2 (dBm)\n", "\t", DBM, "."),
    "OSA, spaces, mW": ("# optical spectrum analyser\nWavelength (nm)   Power (mW)\n", "   ", 10 ** (DBM / 10), "."),
    "our own names": ("wavelength_nm,power_dBm\n", ",", DBM, "."),
    "linear percent, micrometres": ("Lambda (um),Reflectance (%)\n", ",", 100 * R_LINEAR, "."),
}


@pytest.mark.parametrize("name", sorted(EXPORTS))
def test_interrogator_exports_read_to_the_same_spectrum(tmp_path, name):
    header, sep, values, decimal = EXPORTS[name]
    lam = LAM_NM * (1e-3 if "(um)" in header else 1.0)
    lines = []
    for w, v in zip(lam, values):
        fields = [f"{w:.7f}", f"{v:.9g}"] + ([f"{v - 3:.9g}"] if "CH2" in header else [])
        lines.append(sep.join(f.replace(".", decimal) for f in fields))
    path = tmp_path / "export.csv"
    path.write_text(header + "\n".join(lines) + "\n")
    m = read_measured_csv(path)
    assert np.allclose(m.wavelength_m, LAM_NM * 1e-9, rtol=0, atol=1e-16)
    normalised = m.reflectance / m.reflectance.max()
    assert np.allclose(normalised, R_LINEAR / R_LINEAR.max(), rtol=1e-5, atol=0)
    assert m.column.startswith(("Power", "Reflection", "CH1", "power", "Reflectance"))


@pytest.mark.parametrize("shape, name", [(gaussian, "gaussian"), (lorentzian, "lorentzian")])
def test_overlapping_lines_of_another_shape_are_placed_right(shape, name):
    """The grating's own line shape does not fit these lines: before the generic shapes existed the
    decomposition placed one of the four 40-159 pm from the truth. Now the information criterion
    picks the generic family, with four lines each within 2 pm and 4 standard uncertainties."""
    R = four_lines(shape)
    d = decompose(LAM_NM * 1e-9, R / R.max(), baseline=True)
    assert d.line_shape in (name, "pseudo_voigt") and d.count == 4
    if d.line_shape == "pseudo_voigt":        # the mixing says which: ~0 Gaussian, ~1 Lorentzian
        assert abs(d.mixing - (0.0 if name == "gaussian" else 1.0)) < 0.1
    found = np.array([c.wavelength_m for c in d.components]) * 1e9
    errors = np.abs(found - CENTRES_NM)
    assert np.all(errors < 2e-3), errors
    assert all(e * 1e-9 < 4 * c.uncertainty_m + 0.2e-12 for e, c in zip(errors, d.components))
    assert np.allclose([c.fwhm_m * 1e9 for c in d.components], FWHM_NM, rtol=0.03, atol=0)
    assert 0.8 < d.chi2_per_dof < 1.3
    families = {family for _, family, _, _ in d.candidates}
    assert {"grating", "gaussian", "lorentzian", "pseudo_voigt"} <= families
    assert d.metrics()["fbg_decomposed_line_shape"] == d.line_shape


def test_fbg_measured_draws_and_decomposes_a_dbm_export(tmp_path):
    """``ecmsim fbg --measured`` with an interrogator's dBm export: read (column and unit in the
    summary), drawn over the simulated spectrum (its green curve in spectrum.png), and decomposed
    into its four lines (measured_decomposition.png)."""
    from PIL import Image

    measured = tmp_path / "measured_dBm.csv"
    measured.write_text("Instrument,FBG interrogator\nWavelength (nm),Power (dBm)\n"
                        + "\n".join(f"{w:.4f},{p:.3f}" for w, p in zip(LAM_NM, DBM)) + "\n")
    profile = ROOT / "examples" / "fbg_profile.csv"
    runs = {}
    for label, extra in (("plain", ["--no-decompose"]), ("measured", ["--measured", str(measured)])):
        proc = run_cli("fbg", str(profile), "-o", str(tmp_path / label), "--workers", "1", "-q", *extra)
        assert proc.returncode == 0, proc.stderr
        runs[label] = json.loads((tmp_path / label / "summary.json").read_text())
    summary = runs["measured"]
    assert summary["inputs"]["measured"]["column"] == "Power (dBm)" and summary["inputs"]["measured"]["unit"] == "dbm"
    m = summary["metrics"]
    assert m["fbg_measured_decomposed_line_shape"] in ("gaussian", "pseudo_voigt")
    assert m["fbg_measured_decomposed_peak_count"] == 4
    assert np.all(np.abs(np.array(m["fbg_measured_decomposed_peaks_nm"]) - CENTRES_NM) < 2e-3)
    assert "measured_decomposition.png" in summary["files"]

    def green_pixels(folder):
        rgb = np.asarray(Image.open(tmp_path / folder / "spectrum.png").convert("RGB")).astype(int)
        return int(np.sum(np.all(np.abs(rgb - [44, 160, 44]) < 12, axis=-1)))

    assert green_pixels("plain") == 0 and green_pixels("measured") > 500
