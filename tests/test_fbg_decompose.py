"""Model-based peak decomposition: overlapping reflections made by the forward model as diametral
line loads, five lines 240 pm apart, a chirped grating, uncertainties, and the interrogator's
own reading beside it."""

import math

import numpy as np
import pytest

from ecmsim.fbg import Grating, Interrogator, StrainProfile, simulate
from ecmsim.fbg.analysis import find_peaks
from ecmsim.fbg.decompose import LineShape, decompose, estimate_noise
from ecmsim.fbg.inverse import line_load_strains
from ecmsim.fbg.optics import Fibre

FIBRE = Fibre.from_material("silica")
N, P11, P12 = FIBRE.effective_index, FIBRE.p11, FIBRE.p12
L = 10e-3


def true_splitting(f):
    """lambda_D (n^2/2)(p12 - p11)(e_x - e_y) for a diametral line load f [N/m] (plane strain),
    strains by hand from sigma_x = 2f/(pi D), sigma_y = -6f/(pi D), sigma_z = nu (sigma_x + sigma_y)."""
    D, E, nu = FIBRE.diameter_m, FIBRE.youngs_modulus_Pa, FIBRE.poissons_ratio
    sx, sy = 2 * f / (math.pi * D), -6 * f / (math.pi * D)
    ex_minus_ey = (1 + nu) * (sx - sy) / E
    return 1550e-9 * N * N / 2 * (P12 - P11) * ex_minus_ey


@pytest.mark.parametrize("noise", [0.0, 0.005])
@pytest.mark.parametrize("load_N_m", [1000.0, 2000.0, 3000.0, 4000.0])
def test_overlapping_reflections_of_a_line_load(load_N_m, noise):
    """1-4 N/mm across a uniform 10 mm grating: splittings 77-309 pm, where the two reflections
    overlap (the interrogator reads 0, 111, 200, 288 pm without noise). Decomposed: two peaks,
    splitting within 2 % (in fact < 0.2 pm), the true value inside 4 standard uncertainties."""
    ex, ey = line_load_strains(load_N_m, FIBRE)
    spectrum, interrogator_reading = simulate(StrainProfile.uniform(L, exx=float(ex), eyy=float(ey)), Grating(),
                                              Interrogator(noise_rms=noise, seed=1), workers=1)
    truth = true_splitting(load_N_m)
    assert 76e-12 < truth < 310e-12
    d = decompose(spectrum.wavelength_m, spectrum.R)
    assert d.count == 2
    assert not d.chirped               # the grating's own line shape explains them (no fallback)
    assert abs(d.splitting_m - truth) < 0.02 * truth
    assert abs(d.splitting_m - truth) < 0.5e-12
    if noise:
        assert abs(d.noise_estimate - noise) < 0.1 * noise            # the noise is read off the data
        assert abs(d.splitting_m - truth) < 4 * d.splitting_uncertainty_m + 0.05e-12
        assert 0.8 < d.chi2_per_dof < 1.2
    # each component is half the grating's line (unpolarised source, one eigenmode each)
    assert all(abs(c.amplitude - 0.5) < 0.02 for c in d.components)
    # the interrogator's reading of the same spectrum is off where the lines overlap (noiseless:
    # low, the lines pull each other's maxima; noisy: a side lobe may be read as the other line)
    assert abs(interrogator_reading.splitting_m - truth) > 5e-12
    if not noise:
        assert interrogator_reading.splitting_m < truth - 5e-12


@pytest.mark.parametrize("noise", [0.0, 0.005])
def test_five_lines_240_pm_apart_are_all_found(noise):
    lam = np.arange(1548.5e-9, 1551.5e-9, 1e-12)
    shape = LineShape(Grating(), FIBRE, 1550e-9, 3e-9)
    centres = 1550e-9 + np.arange(-2, 3) * 240e-12
    R = sum(h * shape.value(lam, c) for h, c in zip((0.3, 0.25, 0.35, 0.2, 0.3), centres))
    R = R + np.random.default_rng(2).normal(0, noise, R.size)
    d = decompose(lam, R)
    assert d.count == 5
    found = np.array([c.wavelength_m for c in d.components])
    assert np.max(np.abs(found - centres)) < 0.5e-12
    if noise:
        assert all(0 < c.uncertainty_m < 0.5e-12 for c in d.components)
    # the interrogator, its fit window now following each peak's own width, finds each of them
    # (with noise it may add a side lobe that reaches its threshold)
    report = find_peaks(lam, R, Interrogator(noise_rms=noise), 1550e-9, fit_fraction=0.5)
    read = np.array([p.wavelength_m for p in report.peaks])
    assert all(np.min(np.abs(read - c)) < 25e-12 for c in centres)
    assert report.count == 5 or noise


def test_chirped_grating_has_no_ripple_peaks():
    """A linear axial strain gradient (1.2e-3 over 10 mm, delta_n 3e-4): the interrogator sees
    several "peaks" that are ripples of one chirped reflection; the decomposition finds one
    chirped component spanning the local Bragg range, centred on its middle."""
    nu, dn = FIBRE.poissons_ratio, 3e-4
    ezz = np.array([-0.6e-3, 0.6e-3])
    profile = StrainProfile(z_m=np.array([0.0, L]), exx=-nu * ezz, eyy=-nu * ezz, ezz=ezz)
    spectrum, report = simulate(profile, Grating(delta_n=dn), Interrogator(noise_rms=0.005, seed=3), workers=1)
    assert report.count >= 3                                     # ripples read as peaks
    d = decompose(spectrum.wavelength_m, spectrum.R, Grating(delta_n=dn))
    assert d.count == 1 and d.chirped
    p_e = FIBRE.effective_photoelastic
    bragg = 1550e-9 * (1 - p_e * ezz) * (1 + ezz)
    spread = (bragg[1] - bragg[0]) * (1 - 1 / 374)               # between the first and last section centres
    assert abs(d.components[0].span_m - spread) < 0.01 * spread
    assert abs(d.components[0].wavelength_m - bragg.mean()) < 1e-12


def test_noise_estimate_from_fourth_differences():
    rng = np.random.default_rng(0)
    lam = np.arange(1549e-9, 1551e-9, 1e-12)
    smooth = 0.9 * np.exp(-0.5 * ((lam - 1550e-9) / 60e-12) ** 2)
    assert estimate_noise(smooth) < 1e-6
    for sigma in (1e-3, 1e-2):
        assert abs(estimate_noise(smooth + rng.normal(0, sigma, lam.size)) - sigma) < 0.08 * sigma


def test_interrogator_width_is_the_peaks_own():
    """A weak peak on a strong one's flank: its FWHM is its own (~its Gaussian FWHM), not the
    width of the whole group; and the count does not flip with the sampling step when the
    weaker peak's prominence sits near the threshold."""
    def spectrum(step):
        lam = np.arange(1549e-9, 1551e-9, step)
        R = (0.9 * np.exp(-0.5 * ((lam - 1549.9e-9) / 100e-12) ** 2)
             + 0.5 * np.exp(-0.5 * ((lam - 1550.2e-9) / 40e-12) ** 2))
        return lam, R
    lam, R = spectrum(1e-12)
    report = find_peaks(lam, R, Interrogator(), 1550e-9)
    assert report.count == 2
    weak = min(report.peaks, key=lambda p: p.reflectance)
    assert 0.8 * 2.3548 * 40e-12 < weak.fwhm_m < 1.3 * 2.3548 * 40e-12
    counts = {find_peaks(*spectrum(step), Interrogator(prominence_fraction=0.3), 1550e-9).count
              for step in (0.5e-12, 1e-12, 2e-12, 3e-12, 5e-12)}
    assert len(counts) == 1
