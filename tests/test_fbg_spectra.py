"""Spectra: CSV round trip, measured spectra in reflectance or dBm, comparison."""

import numpy as np
import pytest

from ecmsim.core.errors import InputFileError
from ecmsim.fbg import Grating, Interrogator, Spectrum, StrainProfile, compare, read_spectrum_csv, simulate
from ecmsim.fbg.spectra import MeasuredSpectrum, read_measured_csv


@pytest.fixture(scope="module")
def birefringent():
    """Two peaks ~230 pm apart, like the reference paper's Li cell at 2.4 MPa."""
    profile = StrainProfile.uniform(10e-3, exx=3.4e-4, eyy=-6.8e-4)
    return simulate(profile, Grating(apodization="gaussian"))


def test_spectrum_csv_round_trip(tmp_path, birefringent):
    spectrum, _ = birefringent
    spectrum.write_csv(tmp_path / "s.csv")
    assert (tmp_path / "s.csv").read_text().splitlines()[0] == "wavelength_nm,R_x,R_y,R"
    back = read_spectrum_csv(tmp_path / "s.csv")
    assert isinstance(back, Spectrum)
    assert np.allclose(back.wavelength_m, spectrum.wavelength_m, rtol=1e-15, atol=0)
    for name in ("R_x", "R_y", "R"):
        assert np.array_equal(getattr(back, name), getattr(spectrum, name))


def write_measured(path, lam_m, values, column):
    lines = [f"wavelength_nm,{column}"] + [f"{w * 1e9:.6f},{v:.9g}" for w, v in zip(lam_m, values)]
    path.write_text("\n".join(lines) + "\n")


def test_measured_dbm_spectrum_compared_with_simulation(tmp_path, birefringent):
    """A 'measured' dBm trace made from the simulation, shifted by +37 pm and at an arbitrary power
    level: the comparison finds the two peaks 37 pm off, the best shift 37 pm, and an unshifted
    copy correlates to 1."""
    spectrum, report = birefringent
    lam = spectrum.wavelength_m[::2]
    R = np.interp(lam, spectrum.wavelength_m, spectrum.R)
    shift = 37e-12
    write_measured(tmp_path / "m.csv", lam + shift, 10 * np.log10(np.maximum(R, 1e-9)) - 23.0, "power_dBm")
    measured = read_spectrum_csv(tmp_path / "m.csv")
    assert isinstance(measured, MeasuredSpectrum)
    result = compare(spectrum, measured, Interrogator(), 1550e-9)
    assert result["fbg_measured_peak_count"] == 2
    assert np.allclose(result["fbg_peak_offsets_pm"], 37.0, atol=0.5)
    assert abs(result["fbg_best_shift_pm"] - 37.0) < 0.5
    assert result["fbg_spectral_correlation"] < 0.99
    write_measured(tmp_path / "same.csv", lam, R, "R")
    same = compare(spectrum, read_measured_csv(tmp_path / "same.csv"), Interrogator(), 1550e-9)
    assert same["fbg_spectral_correlation"] > 1 - 1e-9
    assert abs(same["fbg_best_shift_pm"]) < 0.05 and same["fbg_spectral_rms_difference"] < 1e-6


@pytest.mark.parametrize("text, pattern", [
    ("wavelength_nm,power\n1550,1\n1551,2\n1552,3\n", r"column 'power' has no unit"),
    ("wavelength_nm,channel\n1550,1\n1551,2\n1552,3\n", r"missing a signal column"),
    ("lambda,R\n1550,1\n1551,2\n1552,3\n", r"column 'lambda': no unit"),
    ("position_nm,R\n1550,1\n1551,2\n1552,3\n", r"missing a wavelength column"),
    ("Wavelength (nm),Power (furlongs)\n1550,1\n1551,2\n1552,3\n", r"unknown unit 'furlongs'"),
    ("1550,1\n1551,2\n1552,3\n", r"no header line"),
    ("wavelength_m,R\n1550,1\n1551,2\n1552,3\n", r"not an optical wavelength range"),
    ("wavelength_nm,R\n1550,1\n1549,2\n1552,3\n", r"wavelengths must increase strictly"),
    ("wavelength_nm,R\n1550,1\n1551,x\n1552,3\n", r"line 3: column R = 'x' is not a number"),
    ("wavelength_nm,R\n1550,1\n", r"at least three samples"),
])
def test_bad_measured_spectra(tmp_path, text, pattern):
    path = tmp_path / "m.csv"
    path.write_text(text)
    with pytest.raises(InputFileError, match=pattern):
        read_measured_csv(path)
