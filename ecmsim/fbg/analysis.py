"""What an interrogator makes of a reflected spectrum: grid, noise, peaks, widths, stress estimate.

- Wavelength grid: steps of ``interrogator.resolution_m`` on multiples of that step, so that the
  grids of a time series coincide.
- Peaks as an interrogator finds them: local maxima above ``threshold_fraction`` of the
  spectrum's maximum that stand out by ``prominence_fraction`` of it (scipy.signal.find_peaks),
  each placed between samples by the vertex of the parabola through the three highest samples
  (noiseless) or of a least-squares parabola over the top of the peak (noisy spectra).
- Per peak: FWHM, the width where the reflectance first falls below half the peak's height on
  each side (linear interpolation between samples).
- Spectrum: thresholded centroid sum(lambda w) / sum(w), w = max(R - threshold, 0); envelope
  width from the first to the last crossing of half the maximum.
- Stress estimate of the reference paper (eqs. 1-2, free fibre under axial stress):
  d(lambda)/lambda_0 = (1 - n^2 [p12 - nu (p11 + p12)] / 2) eps,  sigma = E eps.
- Temperature compensation with a strain-free reference grating at the same temperature:
  the model's temperature factor 1 + (alpha + xi) dT multiplies every wavelength, so
  lambda_strain = lambda lambda_ref,0 / lambda_ref removes it exactly.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ecmsim.core.errors import InputFileError, ScenarioError
from ecmsim.fbg.optics import Fibre
from ecmsim.fbg.parameters import Interrogator

#: Most samples in one spectrum (memory and time stay small).
MAX_GRID_POINTS = 2_000_001


def wavelength_grid(interrogator: Interrogator, lowest_m: float, highest_m: float) -> np.ndarray:
    """Sampling wavelengths [m] of the interrogator.

    ``interrogator.start_m``/``stop_m`` if set, else [lowest - margin, highest + margin]; the
    ends are rounded outwards to multiples of ``resolution_m``.
    """
    step = interrogator.resolution_m
    if interrogator.start_m is not None:
        lo, hi = interrogator.start_m, interrogator.stop_m
    else:
        lo, hi = lowest_m - interrogator.margin_m, highest_m + interrogator.margin_m
    i0, i1 = math.floor(lo / step + 1e-9), math.ceil(hi / step - 1e-9)
    count = i1 - i0 + 1
    if count > MAX_GRID_POINTS:
        raise ScenarioError(f"interrogator.resolution_m = {step:g}: {count} samples over {lo:.6g}-{hi:.6g} m "
                            f"exceed {MAX_GRID_POINTS}; use a coarser resolution or a narrower window")
    return np.arange(i0, i1 + 1) * step


def add_noise(reflectance: np.ndarray, interrogator: Interrogator, seed_offset: int = 0) -> np.ndarray:
    """Reflectance with white Gaussian noise of RMS ``noise_rms`` (a copy; unchanged if 0)."""
    if interrogator.noise_rms == 0.0:
        return np.array(reflectance, dtype=float)
    rng = np.random.default_rng(interrogator.seed + seed_offset)
    return reflectance + rng.normal(0.0, interrogator.noise_rms, size=np.shape(reflectance))


@dataclass(frozen=True)
class Peak:
    """One reflection peak: ``wavelength_m`` [m], ``reflectance`` [-], ``fwhm_m`` [m],
    ``prominence`` [-] (height above the higher of its two surrounding minima)."""

    wavelength_m: float
    reflectance: float
    fwhm_m: float
    prominence: float


@dataclass(frozen=True)
class PeakReport:
    """The peaks of one spectrum and the numbers derived from them.

    Attributes:
        peaks: peaks in increasing wavelength.
        reference_wavelength_m: unloaded peak wavelength lambda_0 the shifts refer to [m].
        centroid_m: thresholded centroid, weights max(R - threshold, 0) [m] (nan if R = 0).
        max_reflectance: largest sample of the spectrum [-].
        envelope_width_m: from the first to the last half-maximum crossing [m].
    """

    peaks: tuple[Peak, ...]
    reference_wavelength_m: float
    centroid_m: float
    max_reflectance: float
    envelope_width_m: float
    strongest: Peak | None = field(default=None)

    @property
    def count(self) -> int:
        """Number of peaks."""
        return len(self.peaks)

    @property
    def splitting_m(self) -> float:
        """Separation of the two strongest peaks [m]; 0 with fewer than two peaks."""
        if len(self.peaks) < 2:
            return 0.0
        first, second = sorted(self.peaks, key=lambda p: p.reflectance, reverse=True)[:2]
        return abs(first.wavelength_m - second.wavelength_m)

    @property
    def shift_m(self) -> float:
        """Centroid shift from the unloaded peak [m]."""
        return self.centroid_m - self.reference_wavelength_m

    def metrics(self, fibre: Fibre) -> dict[str, object]:
        """Plain metrics with units in their names (summary.json)."""
        lam0 = self.reference_wavelength_m
        peak_shifts = [p.wavelength_m - lam0 for p in self.peaks]
        return {
            "fbg_peaks_nm": [p.wavelength_m * 1e9 for p in self.peaks],
            "fbg_peak_count": self.count,
            "fbg_peak_reflectance": [p.reflectance for p in self.peaks],
            "fbg_peak_fwhm_pm": [p.fwhm_m * 1e12 for p in self.peaks],
            "fbg_peak_shifts_pm": [s * 1e12 for s in peak_shifts],
            "fbg_splitting_pm": self.splitting_m * 1e12,
            "fbg_fwhm_pm": None if self.strongest is None else self.strongest.fwhm_m * 1e12,
            "fbg_envelope_width_pm": self.envelope_width_m * 1e12,
            "fbg_centroid_nm": self.centroid_m * 1e9,
            "fbg_shift_pm": self.shift_m * 1e12,
            "fbg_max_reflectance": self.max_reflectance,
            "fbg_reference_wavelength_nm": lam0 * 1e9,
            "fbg_stress_eq12_Pa": [float(stress_from_shift(s, lam0, fibre)) for s in peak_shifts],
            "fbg_centroid_stress_eq12_Pa": float(stress_from_shift(self.shift_m, lam0, fibre)),
        }


def find_peaks(wavelength_m: np.ndarray, reflectance: np.ndarray, interrogator: Interrogator,
               reference_wavelength_m: float, *, fit_fraction: float | None = None) -> PeakReport:
    """Peaks, widths and centroid of a sampled spectrum (see the module docstring).

    ``fit_fraction``: each peak is placed at the vertex of a least-squares parabola through the
    samples within fit_fraction x FWHM / 2 of its highest sample; 0 uses the three highest samples
    only (exact for a smooth noiseless peak). None: 0 for a noiseless interrogator, 0.5 when
    ``interrogator.noise_rms`` > 0 (three noisy samples would place the peak anywhere on its top).
    """
    if fit_fraction is None:
        fit_fraction = 0.0 if interrogator.noise_rms == 0.0 else 0.5
    from ecmsim.fbg.profile import as_real_array
    lam = as_real_array(wavelength_m, "wavelength_m", "find_peaks")
    R = as_real_array(reflectance, "reflectance", "find_peaks")
    if lam.ndim != 1 or lam.shape != R.shape:
        raise InputFileError(f"find_peaks: wavelength_m (shape {lam.shape}) and reflectance (shape {R.shape}) must "
                             "be one-dimensional and of the same length")
    top = float(R.max()) if R.size else 0.0
    if not top > 0.0:
        return PeakReport((), reference_wavelength_m, math.nan, top, 0.0)
    from scipy.signal import find_peaks as scipy_find_peaks   # ~0.5 s to import: only when needed
    from scipy.signal import peak_widths
    # pad with the minimum so that a peak on the first or last sample is still seen
    padded = np.concatenate([[R.min()], R, [R.min()]])
    threshold = max(interrogator.prominence_fraction * top, 5 * interrogator.noise_rms)
    # candidates down to half the prominence threshold; the threshold itself is applied to the
    # prominence of the refined (sub-sample) top and valleys, so that the count does not flip
    # with the sampling step when a prominence sits near the threshold
    idx, props = scipy_find_peaks(padded, height=interrogator.threshold_fraction * top, prominence=0.5 * threshold)
    # each peak's own width at half its prominence (its FWHM when it stands alone on a zero
    # baseline; the width of a weaker peak on a stronger one's flank, not of the whole group)
    widths = peak_widths(padded, idx, rel_height=0.5, prominence_data=(props["prominences"], props["left_bases"],
                                                                       props["right_bases"]))[0] if idx.size else []
    step = float(lam[1] - lam[0]) if lam.size > 1 else 0.0
    candidates = []
    for j, i in enumerate(idx):
        where, height = parabolic_vertex(lam, R, int(i) - 1)
        valley = max(_valley(lam, R, int(props["left_bases"][j]) - 1), _valley(lam, R, int(props["right_bases"][j]) - 1))
        prominence = height - valley
        if prominence >= threshold:
            candidates.append((int(i) - 1, float(prominence), float(widths[j]) * step))
    peaks: list[Peak] = []
    for i, prom, own_width in sorted(candidates, key=lambda c: -R[c[0]]):
        where, height = parabolic_vertex(lam, R, i)
        if fit_fraction > 0.0:
            window = fit_fraction * 0.5 * own_width
            where, height = _fitted_vertex(lam, R, i, window)
            # two noise maxima on one top fit the same parabola: keep the stronger only
            if any(abs(where - p.wavelength_m) <= window for p in peaks):
                continue
        peaks.append(Peak(wavelength_m=where, reflectance=height, fwhm_m=own_width, prominence=prom))
    peaks.sort(key=lambda p: p.wavelength_m)
    # weights R - threshold: a sample entering or leaving the sum does so with weight 0, so the
    # centroid moves smoothly as the spectrum slides along the grid
    weight = np.clip(R - interrogator.threshold_fraction * top, 0.0, None)
    centroid = float(np.sum(lam * weight) / np.sum(weight)) if weight.any() else float(lam[np.argmax(R)])
    half = np.flatnonzero(R >= 0.5 * top)
    envelope = (_crossing(lam, R, half[-1], +1, 0.5 * top) - _crossing(lam, R, half[0], -1, 0.5 * top))
    strongest = max(peaks, key=lambda p: p.reflectance) if peaks else None
    return PeakReport(tuple(peaks), reference_wavelength_m, centroid, top, float(envelope), strongest)


def parabolic_vertex(lam: np.ndarray, R: np.ndarray, i: int) -> tuple[float, float]:
    """Wavelength [m] and height of the parabola through samples i-1, i, i+1 (uniform grid)."""
    if i == 0 or i == R.size - 1:
        return float(lam[i]), float(R[i])
    left, mid, right = R[i - 1], R[i], R[i + 1]
    curvature = left - 2.0 * mid + right
    if curvature >= 0.0:
        return float(lam[i]), float(mid)
    offset = 0.5 * (left - right) / curvature           # in samples, within [-1/2, 1/2]
    step = lam[i + 1] - lam[i]
    return float(lam[i] + offset * step), float(mid - 0.25 * (left - right) * offset)


def _fitted_vertex(lam: np.ndarray, R: np.ndarray, i: int, half_window_m: float) -> tuple[float, float]:
    """Vertex of the least-squares parabola through the samples within half_window_m of sample i
    (at least one on each side), kept inside that window."""
    step = lam[1] - lam[0]
    h = max(1, int(round(half_window_m / step)))
    j = np.arange(max(0, i - h), min(R.size, i + h + 1))
    if j.size < 3:
        return parabolic_vertex(lam, R, i)
    x = lam[j] - lam[i]
    a, b, c = np.polyfit(x / step, R[j], 2)
    if a >= 0.0:
        return float(lam[i]), float(R[i])
    x0 = float(np.clip(-b / (2.0 * a), x[0] / step, x[-1] / step))
    return float(lam[i] + x0 * step), float(c + b * x0 + a * x0 * x0)


def _valley(lam: np.ndarray, R: np.ndarray, i: int) -> float:
    """Lowest value of the parabola through samples i-1, i, i+1 around a minimum (sample i's value
    at the ends of the window or where the samples do not curve upwards)."""
    i = min(max(i, 0), R.size - 1)
    if i == 0 or i == R.size - 1:
        return float(R[i])
    left, mid, right = R[i - 1], R[i], R[i + 1]
    curvature = left - 2.0 * mid + right
    if curvature <= 0.0:
        return float(mid)
    offset = 0.5 * (left - right) / curvature
    return float(mid - 0.25 * (left - right) * offset)


def _crossing(lam: np.ndarray, R: np.ndarray, i: int, direction: int, level: float) -> float:
    """Wavelength where R first drops below ``level`` walking from sample i in ``direction``."""
    j = i
    while 0 <= j + direction < R.size and R[j + direction] >= level:
        j += direction
    k = j + direction
    if not 0 <= k < R.size:
        return float(lam[j])                            # still above the level at the window's edge
    frac = (R[j] - level) / (R[j] - R[k])
    return float(lam[j] + frac * (lam[k] - lam[j]))


def _width_at(lam: np.ndarray, R: np.ndarray, i: int, level: float) -> float:
    return _crossing(lam, R, i, +1, level) - _crossing(lam, R, i, -1, level)


# ---- the reference paper's stress estimate and temperature compensation ----------------------

def strain_from_shift(shift_m, wavelength0_m: float, fibre: Fibre):
    """Axial strain from a Bragg shift by the reference paper's eq. 1 [-].

    eps = (d(lambda) / lambda_0) / (1 - n^2 [p12 - nu (p11 + p12)] / 2): exact to first order
    for a free fibre under axial stress only; a transverse load (the cell's stack pressure)
    shifts and splits the peak by other amounts (see docs/fbg.md).
    """
    return np.asarray(shift_m) / wavelength0_m / (1.0 - fibre.effective_photoelastic)


def stress_from_shift(shift_m, wavelength0_m: float, fibre: Fibre):
    """Stress sigma = E eps from a Bragg shift, the reference paper's eqs. 1-2 [Pa]."""
    return fibre.youngs_modulus_Pa * strain_from_shift(shift_m, wavelength0_m, fibre)


def compensate_temperature(wavelength_m, wavelength0_m: float, reference_m, reference0_m: float,
                           fibre: Fibre):
    """Remove the temperature from a peak wavelength with a strain-free reference grating.

    Args:
        wavelength_m: peak of the sensing grating [m]; wavelength0_m: its unloaded peak [m].
        reference_m: peak of the strain-free reference grating at the same temperature [m];
            reference0_m: its peak at the reference temperature [m].

    Returns:
        (strain-only shift [m], temperature change estimated from the reference [K]):
        lambda_strain = lambda lambda_ref,0 / lambda_ref, dT = (lambda_ref / lambda_ref,0 - 1) / (alpha + xi).
    """
    ratio = np.asarray(reference_m) / reference0_m
    shift = np.asarray(wavelength_m) / ratio - wavelength0_m
    return shift, (ratio - 1.0) / fibre.thermal_sensitivity_per_K


def track_peaks(reports: list[PeakReport], max_jump_m: float) -> list[list[int]]:
    """Track number of every peak of a time series.

    Peaks of consecutive steps are paired nearest first; a pair further apart than
    ``max_jump_m`` is not made, and an unpaired peak starts a new track (a peak that splits
    keeps its track on the nearer branch).
    """
    tracks: list[list[int]] = []
    previous: list[tuple[float, int]] = []
    next_id = 0
    for report in reports:
        ids = [-1] * report.count
        pairs = sorted((abs(p.wavelength_m - w), i, t) for i, p in enumerate(report.peaks) for w, t in previous)
        used = set()
        for distance, i, t in pairs:
            if distance > max_jump_m:
                break
            if ids[i] == -1 and t not in used:
                ids[i] = t
                used.add(t)
        for i in range(len(ids)):
            if ids[i] == -1:
                ids[i] = next_id
                next_id += 1
        tracks.append(ids)
        previous = [(p.wavelength_m, t) for p, t in zip(report.peaks, ids)]
    return tracks
