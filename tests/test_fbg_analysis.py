"""Interrogator model: peaks, widths, noise, grid, eq. 1-2 stress estimate, temperature compensation."""

import math

import numpy as np
import pytest

from ecmsim.core.errors import ScenarioError
from ecmsim.fbg import Grating, Interrogator, StrainProfile, simulate
from ecmsim.fbg.analysis import (compensate_temperature, find_peaks, strain_from_shift, stress_from_shift,
                                 track_peaks, wavelength_grid)
from ecmsim.fbg.optics import Fibre

FIBRE = Fibre.from_material("silica")
L = 10e-3


def test_eq12_stress_by_hand():
    """The reference paper's eq. 1-2 with its printed constants (n 1.45, nu 0.17, P11 0.113,
    P12 0.252, E 69.9 GPa), for its own two Li-cell peaks 1542.18 and 1542.37 nm read as a shift:

        p_e = 1.45^2/2 (0.252 - 0.17 (0.113 + 0.252)) = 1.05125 * 0.18995 = 0.19968...
        eps = (0.19 / 1542.18) / (1 - 0.19968) = 1.23202e-4 / 0.800315 = 1.53942e-4
        sigma = 69.9e9 * 1.53942e-4 = 10.76 MPa
    """
    lam0, lam = 1542.18e-9, 1542.37e-9
    p_e = 1.45 ** 2 / 2 * (0.252 - 0.17 * (0.113 + 0.252))
    assert abs(p_e - 0.19968) < 1e-5
    by_hand = 69.9e9 * ((lam - lam0) / lam0) / (1 - p_e)
    assert abs(by_hand - 10.76e6) < 0.01e6
    assert abs(stress_from_shift(lam - lam0, lam0, FIBRE) - by_hand) < 1e-6 * by_hand
    assert abs(strain_from_shift(lam - lam0, lam0, FIBRE) - by_hand / 69.9e9) < 1e-12


def test_eq12_inverts_the_forward_model_for_axial_stress():
    """Eq. 1-2 assume a free fibre under axial stress: there the forward model and the estimate
    agree (to second order in strain, here 2e-4 relative)."""
    sigma = 20e6
    E, nu = FIBRE.youngs_modulus_Pa, FIBRE.poissons_ratio
    profile = StrainProfile.uniform(L, exx=-nu * sigma / E, eyy=-nu * sigma / E, ezz=sigma / E)
    _, report = simulate(profile)
    estimate = stress_from_shift(report.peaks[0].wavelength_m - 1550e-9, 1550e-9, FIBRE)
    assert abs(estimate - sigma) < 1e-3 * sigma


def test_temperature_compensation_with_a_reference_grating():
    """Sensing grating: strain + dT; reference grating: dT only. Compensation recovers the
    strain-only shift of the same grating at the reference temperature, and dT."""
    dT, strain = 35.0, 4e-4
    nu = FIBRE.poissons_ratio
    strained = dict(exx=-nu * strain, eyy=-nu * strain, ezz=strain)
    _, hot = simulate(StrainProfile.uniform(L, T_K=293.15 + dT, **strained))
    _, cold = simulate(StrainProfile.uniform(L, **strained))
    _, reference = simulate(StrainProfile.uniform(L, T_K=293.15 + dT))
    shift, estimated_dT = compensate_temperature(hot.peaks[0].wavelength_m, 1550e-9,
                                                 reference.peaks[0].wavelength_m, 1550e-9, FIBRE)
    assert abs(shift - (cold.peaks[0].wavelength_m - 1550e-9)) < 0.02e-12
    assert abs(estimated_dT - dT) < 0.01
    assert abs(hot.shift_m - cold.shift_m) > 300e-12       # the temperature did move the peak


def gaussian(lam, centre, sigma, height):
    return height * np.exp(-0.5 * ((lam - centre) / sigma) ** 2)


def test_peak_finder_positions_widths_threshold_prominence():
    step = 1e-12
    lam = np.arange(1549e-9, 1551e-9, step)
    sig = 40e-12
    R = (gaussian(lam, 1549.7003e-9, sig, 0.8) + gaussian(lam, 1550.2507e-9, sig, 0.5)
         + gaussian(lam, 1550.6e-9, sig, 0.2))                     # below a 0.35 threshold
    report = find_peaks(lam, R, Interrogator(), 1550e-9)
    assert report.count == 2
    first, second = report.peaks
    assert abs(first.wavelength_m - 1549.7003e-9) < 0.05 * step
    assert abs(second.wavelength_m - 1550.2507e-9) < 0.05 * step
    assert abs(first.fwhm_m - 2 * math.sqrt(2 * math.log(2)) * sig) < 0.01 * first.fwhm_m
    assert abs(report.splitting_m - 0.5504e-9) < 0.1 * step
    assert report.strongest is first
    three = find_peaks(lam, R, Interrogator(threshold_fraction=0.1), 1550e-9)
    assert three.count == 3
    assert abs(three.splitting_m - 0.5504e-9) < 0.1 * step     # still the two strongest


def test_prominence_separates_a_shoulder_from_a_peak():
    """Two overlapping peaks with a shallow dip between them: the weaker one stands out by ~2 % of
    the maximum, a peak for prominence_fraction 0.01 but not for the default 0.05."""
    lam = np.arange(1549e-9, 1551e-9, 1e-12)
    R = gaussian(lam, 1549.95e-9, 40e-12, 0.9) + gaussian(lam, 1550.054e-9, 40e-12, 0.6)
    assert find_peaks(lam, R, Interrogator(), 1550e-9).count == 1
    two = find_peaks(lam, R, Interrogator(prominence_fraction=0.01), 1550e-9)
    assert two.count == 2 and 0.01 < two.peaks[1].prominence / R.max() < 0.05


def test_noise_floor():
    """noise_rms adds seeded white noise of that RMS to R only; the peak survives 1 % noise."""
    interrogator = Interrogator(noise_rms=0.01, seed=4)
    clean, _ = simulate(StrainProfile.uniform(L))
    noisy, report = simulate(StrainProfile.uniform(L), interrogator=interrogator)
    again, _ = simulate(StrainProfile.uniform(L), interrogator=interrogator)
    residual = noisy.R - clean.R
    assert abs(residual.std() - 0.01) < 0.001
    assert np.array_equal(noisy.R, again.R) and np.array_equal(noisy.R_x, clean.R_x)
    assert report.count == 1 and abs(report.peaks[0].wavelength_m - 1550e-9) < 2e-12


def test_noise_does_not_multiply_peaks():
    """Two split peaks under 1 % noise, several seeds: two peaks each time (noise maxima on one
    top are one peak; a peak must stand 5 sigma out of the noise), splitting within a few pm."""
    profile = StrainProfile.uniform(L, exx=3.4e-4, eyy=-6.8e-4)
    grating = Grating(apodization="gaussian")
    _, clean = simulate(profile, grating)
    for seed in range(6):
        _, noisy = simulate(profile, grating, Interrogator(noise_rms=0.01, seed=seed))
        assert noisy.count == 2, seed
        assert abs(noisy.splitting_m - clean.splitting_m) < 5e-12


def test_wavelength_grid_is_aligned_and_bounded():
    grid = wavelength_grid(Interrogator(resolution_m=2e-12), 1549.99951e-9, 1550.2e-9)
    assert np.allclose(grid / 2e-12, np.round(grid / 2e-12), atol=1e-6)
    assert grid[0] <= 1549.99951e-9 - 1e-9 and grid[-1] >= 1550.2e-9 + 1e-9
    explicit = wavelength_grid(Interrogator(start_m=1540e-9, stop_m=1560e-9), 0, 0)
    assert explicit.size == 20001
    with pytest.raises(ScenarioError, match="interrogator.resolution_m"):
        wavelength_grid(Interrogator(resolution_m=1e-15, start_m=1500e-9, stop_m=1600e-9), 0, 0)


def test_track_peaks_follows_and_splits():
    def report(*wavelengths):
        lam = np.arange(1549e-9, 1552e-9, 1e-12)
        R = sum(gaussian(lam, w, 30e-12, 0.9) for w in wavelengths)
        return find_peaks(lam, R, Interrogator(), 1550e-9)
    reports = [report(1550.00e-9), report(1550.05e-9), report(1549.98e-9, 1550.30e-9), report(1551.5e-9)]
    tracks = track_peaks(reports, max_jump_m=0.12e-9)
    assert tracks[0] == [0] and tracks[1] == [0]
    assert tracks[2] == [0, 1]              # nearer branch keeps the track, the other starts one
    assert tracks[3] == [2]                 # a jump beyond 0.12 nm starts a new track


def test_grating_strength_limit_is_a_clear_error():
    with pytest.raises(ScenarioError, match="grating.delta_n"):
        simulate(StrainProfile.uniform(0.2), Grating(length_m=0.2, delta_n=5e-3))
