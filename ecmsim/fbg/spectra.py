"""Spectra: the simulated :class:`Spectrum`, its CSV, measured spectra and their comparison.

Simulated spectra are written as ``wavelength_nm, R_x, R_y, R`` (R_x, R_y: the two
polarisation eigenmodes; R: what the interrogator sees, with the source's polarisation and
the interrogator's noise).

Measured spectra are read as interrogators export them (``Wavelength (nm),Power (dBm)``, dB or
linear, header variants, preambles, delimiters: :mod:`ecmsim.fbg.measured`). An interrogator's
dBm trace has an unknown absolute level, so comparisons use spectra normalised to their maximum.
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ecmsim.core.errors import InputFileError
from ecmsim.fbg.analysis import PeakReport, find_peaks, stress_from_shift
from ecmsim.fbg.csvfile import read_numeric_csv
from ecmsim.fbg.measured import MeasuredSpectrum, read_measured_csv
from ecmsim.fbg.parameters import Interrogator

@dataclass(frozen=True)
class Spectrum:
    """A reflected spectrum.

    Attributes:
        wavelength_m: sampling wavelengths, increasing [m].
        R_x, R_y: reflectance of the "x" and "y" polarisation eigenmodes [-].
        R: reflectance the interrogator reads [-] (source polarisation and noise applied).
        label: what it is the spectrum of (profile file, step).
    """

    wavelength_m: np.ndarray
    R_x: np.ndarray
    R_y: np.ndarray
    R: np.ndarray
    label: str = ""

    def write_csv(self, path: str | Path) -> None:
        """``wavelength_nm, R_x, R_y, R`` with full float precision."""
        with Path(path).open("w", newline="") as fh:
            writer = csv.writer(fh)
            writer.writerow(["wavelength_nm", "R_x", "R_y", "R"])
            for row in zip(self.wavelength_m * 1e9, self.R_x, self.R_y, self.R):
                writer.writerow([repr(float(v)) for v in row])


def read_spectrum_csv(path: str | Path) -> Spectrum | MeasuredSpectrum:
    """A spectrum file: ours (``wavelength_nm, R_x, R_y, R``) gives a :class:`Spectrum`, any
    other accepted layout a :class:`MeasuredSpectrum` (see the module docstring)."""
    path = Path(path)
    try:
        header, columns = _read_numeric_csv(path)
    except InputFileError:
        return read_measured_csv(path)      # not our layout: a measured export (preamble, delimiters)
    if all(c in header for c in ("wavelength_nm", "R_x", "R_y", "R")):
        lam = columns["wavelength_nm"] * 1e-9
        _check_increasing(path, lam)
        return Spectrum(lam, columns["R_x"], columns["R_y"], columns["R"], label=str(path))
    return read_measured_csv(path)


def _read_numeric_csv(path: Path) -> tuple[list[str], dict[str, np.ndarray]]:
    table = read_numeric_csv(path, "spectrum")
    if table.lines.size < 3:
        raise InputFileError(f"{path}: a spectrum needs a header line and at least three samples")
    return table.header, table.columns


def _check_increasing(path: Path, lam: np.ndarray) -> None:
    back = np.flatnonzero(np.diff(lam) <= 0)
    if back.size:
        raise InputFileError(f"{path}: wavelengths must increase strictly (sample {back[0] + 2}: "
                             f"{lam[back[0] + 1]:.9g} m after {lam[back[0]]:.9g} m)")


def compare(simulated: Spectrum, measured: MeasuredSpectrum, interrogator: Interrogator,
            reference_wavelength_m: float) -> dict[str, object]:
    """Compare a simulated spectrum with a measured one over their common wavelengths.

    Both are normalised to their maximum there. Returns metrics: the measured peaks, the offset
    of each measured peak from the nearest simulated one (measured - simulated) [pm], the Pearson
    correlation of the two spectra, their RMS difference, and the shift of the simulated spectrum
    that maximises the correlation (sub-sample by a parabola through the best three) [pm].
    """
    lo = max(simulated.wavelength_m[0], measured.wavelength_m[0])
    hi = min(simulated.wavelength_m[-1], measured.wavelength_m[-1])
    keep = (measured.wavelength_m >= lo) & (measured.wavelength_m <= hi)
    if keep.sum() < 3:
        raise InputFileError(f"{measured.source}: its wavelengths {measured.wavelength_m[0] * 1e9:.3f}-"
                             f"{measured.wavelength_m[-1] * 1e9:.3f} nm hardly overlap the simulated "
                             f"{simulated.wavelength_m[0] * 1e9:.3f}-{simulated.wavelength_m[-1] * 1e9:.3f} nm")
    lam = measured.wavelength_m[keep]
    meas = _normalised(measured.reflectance[keep])
    sim = _normalised(np.interp(lam, simulated.wavelength_m, simulated.R))
    sim_report = find_peaks(simulated.wavelength_m, simulated.R, interrogator, reference_wavelength_m)
    meas_report = find_peaks(lam, meas, interrogator, reference_wavelength_m, fit_fraction=0.5)
    offsets = _nearest_offsets(meas_report, sim_report)
    return {
        "fbg_measured_peaks_nm": [p.wavelength_m * 1e9 for p in meas_report.peaks],
        "fbg_measured_peak_count": meas_report.count,
        "fbg_peak_offsets_pm": [o * 1e12 for o in offsets],
        "fbg_mean_abs_peak_offset_pm": float(np.mean(np.abs(offsets)) * 1e12) if offsets else None,
        "fbg_spectral_correlation": _correlation(sim, meas),
        "fbg_spectral_rms_difference": float(np.sqrt(np.mean((sim - meas) ** 2))),
        "fbg_best_shift_pm": _best_shift(simulated, lam, meas) * 1e12,
        "fbg_compared_range_nm": [lo * 1e9, hi * 1e9],
    }


def _normalised(values: np.ndarray) -> np.ndarray:
    top = np.max(values)
    return values / top if top > 0 else values


def _correlation(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a - a.mean(), b - b.mean()
    denominator = math.sqrt(float(np.dot(a, a) * np.dot(b, b)))
    return float(np.dot(a, b) / denominator) if denominator > 0 else math.nan


def _nearest_offsets(measured: PeakReport, simulated: PeakReport) -> list[float]:
    if not simulated.peaks:
        return []
    sim = np.array([p.wavelength_m for p in simulated.peaks])
    return [float(p.wavelength_m - sim[np.argmin(np.abs(sim - p.wavelength_m))]) for p in measured.peaks]


def _best_shift(simulated: Spectrum, lam: np.ndarray, meas: np.ndarray) -> float:
    """Shift s [m] maximising the correlation of R_sim(lambda - s) with R_meas(lambda).

    Coarse: the FFT cross-correlation of both resampled on a uniform grid of the measured median
    step, searched within +-1/4 of the compared range. Fine: the correlation on the measured
    samples as a continuous function of s (simulated spectrum interpolated), maximised within
    one step of the coarse answer.
    """
    from scipy.optimize import minimize_scalar               # scipy loads only when needed
    from scipy.signal import correlate
    step = float(np.median(np.diff(lam)))
    grid = np.arange(lam[0], lam[-1], step)
    a = np.interp(grid, simulated.wavelength_m, simulated.R)
    b = np.interp(grid, lam, meas)
    corr = correlate(b - b.mean(), a - a.mean(), mode="full", method="fft")
    lags = np.arange(-(grid.size - 1), grid.size)
    window = np.abs(lags) <= max(1, grid.size // 4)
    coarse = float(lags[window][np.argmax(corr[window])] * step)

    def minus_correlation(shift: float) -> float:
        return -_correlation(np.interp(lam - shift, simulated.wavelength_m, simulated.R), meas)

    fine = minimize_scalar(minus_correlation, bounds=(coarse - step, coarse + step), method="bounded",
                           options={"xatol": 1e-4 * step})
    return float(fine.x)


def write_peaks_csv(path: Path, results, labels, tracks, fibre) -> None:
    """peaks.csv: one row per peak of every (spectrum, report) in ``results``, with its track id, shift,
    width and the eq. 1-2 stress estimate."""
    lines = ["step_index,label,track,wavelength_nm,reflectance,shift_pm,fwhm_pm,stress_eq12_Pa"]
    for i, ((_, report), label, ids) in enumerate(zip(results, labels, tracks)):
        lam0 = report.reference_wavelength_m
        for p, t in zip(report.peaks, ids):
            shift = p.wavelength_m - lam0
            lines.append(f"{i},{label.replace(',', ';')},{t},{p.wavelength_m * 1e9:.6f},{p.reflectance:.6g},"
                         f"{shift * 1e12:.3f},{p.fwhm_m * 1e12:.3f},{float(stress_from_shift(shift, lam0, fibre)):.6g}")
    path.write_text("\n".join(lines) + "\n")


