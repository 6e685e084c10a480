"""The virtual FBG sensor: strain profile -> sections -> spectrum -> peaks.

The Python entry points for the mechanics side::

    from ecmsim import fbg
    profile = fbg.StrainProfile(z_m=z, exx=exx, eyy=eyy, ezz=ezz, exy=exy)
    spectrum, report = fbg.simulate(profile, fbg.Grating(length_m=10e-3), fbg.Interrogator())
    report.peaks, report.splitting_m, report.shift_m

:func:`simulate_series` does the same for a time series on one common wavelength grid.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from ecmsim.core.errors import InputFileError, ScenarioError
from ecmsim.fbg import tmm
from ecmsim.fbg.analysis import (PeakReport, add_noise, compensate_temperature, find_peaks, parabolic_vertex,
                                 stress_from_shift, wavelength_grid)
from ecmsim.fbg.optics import Fibre, LocalBragg, local_bragg, section_count
from ecmsim.fbg.parameters import Grating, Interrogator, Source
from ecmsim.fbg.profile import StrainProfile
from ecmsim.fbg.spectra import Spectrum


def grating_sections(profile: StrainProfile, grating: Grating, fibre: Fibre) -> LocalBragg:
    """Local optics of the grating's sections, the profile averaged over each section.

    The grating spans ``grating.centre_m`` +- L/2 (default centre: the middle of the profile);
    raises InputFileError if the profile does not cover it.
    """
    M = section_count(grating, fibre)
    z0, z1 = profile.span_m
    centre = grating.centre_m if grating.centre_m is not None else 0.5 * (z0 + z1)
    lo, hi = centre - 0.5 * grating.length_m, centre + 0.5 * grating.length_m
    slack = 1e-9 * grating.length_m                      # rounding of positions written as text
    if lo < z0 - slack or hi > z1 + slack:
        where = "grating.centre_m" if grating.centre_m is not None else "the profile's middle"
        raise InputFileError(
            f"{profile.source}: z_m covers {z0:.6g}-{z1:.6g} m but the grating (grating.length_m = "
            f"{grating.length_m:g} m centred at {where}, {centre:.6g} m) spans {lo:.6g}-{hi:.6g} m: "
            f"the profile is shorter than the grating")
    edges = np.clip(np.linspace(lo, hi, M + 1), z0, z1)
    means = profile.section_means(edges)
    centres = 0.5 * (edges[:-1] + edges[1:]) - centre
    return local_bragg(fibre, grating, centres, means["exx"], means["eyy"], means["ezz"], means["exy"],
                       T_K=means["T_K"], dz_m=grating.length_m / M)


def _check_strength(grating: Grating, lowest_wavelength_m: float) -> None:
    kappa_L = math.pi * grating.visibility * grating.delta_n * grating.length_m / lowest_wavelength_m
    if kappa_L > tmm.MAX_KAPPA_L:
        raise ScenarioError(f"grating.delta_n = {grating.delta_n:g} with grating.length_m = {grating.length_m:g} m "
                            f"gives kappa L = {kappa_L:.3g} > {tmm.MAX_KAPPA_L:g}: the grating reflects 100 % "
                            f"to machine precision; use a smaller delta_n or length")


def spectrum_of(sections: LocalBragg, wavelength_m: np.ndarray, interrogator: Interrogator, source: Source,
                label: str = "", seed_offset: int = 0, workers: int | None = None) -> Spectrum:
    """Spectrum of given sections on given wavelengths (polarisations combined, noise added);
    ``workers`` processes share the wavelengths (None: every CPU, see :func:`tmm.reflectance`)."""
    R = tmm.reflectance(wavelength_m, sections.bragg_m, sections.index, sections.coupling, sections.dz_m,
                        workers=workers)
    angle = float(np.mean(sections.angle_rad))
    combined = tmm.combine_polarisations(R[0], R[1], source.polarisation_angle_rad, angle)
    return Spectrum(wavelength_m, R[0], R[1], add_noise(combined, interrogator, seed_offset), label=label)


def simulate(profile: StrainProfile, grating: Grating | None = None, interrogator: Interrogator | None = None,
             *, fibre: Fibre | None = None, source: Source | None = None,
             wavelength_m: np.ndarray | None = None, seed_offset: int = 0,
             workers: int | None = None) -> tuple[Spectrum, PeakReport]:
    """Reflected spectrum and peak report of one strain profile.

    Args:
        profile: strain (and temperature) along the fibre.
        grating, interrogator, source: defaults as documented in :mod:`ecmsim.fbg.parameters`
            (10 mm, 1550 nm, delta_n 1e-4, 1 pm sampling, unpolarised).
        fibre: fibre constants (default: the library's ``silica``).
        wavelength_m: sampling wavelengths [m] instead of the interrogator's window.
        seed_offset: added to the interrogator's noise seed (a series passes its step).
        workers: processes sharing the wavelengths (None: every CPU this process may use; 1:
            this process only, the best choice on a machine that is busy anyway).

    Returns:
        (Spectrum, PeakReport); shifts refer to the design wavelength.
    """
    grating = grating or Grating()
    interrogator = interrogator or Interrogator()
    source = source or Source()
    fibre = fibre or Fibre.from_material("silica")
    sections = grating_sections(profile, grating, fibre)
    if wavelength_m is None:
        wavelength_m = wavelength_grid(interrogator, float(sections.bragg_m.min()), float(sections.bragg_m.max()))
    _check_strength(grating, float(np.min(wavelength_m)))
    spectrum = spectrum_of(sections, wavelength_m, interrogator, source, profile.source, seed_offset, workers)
    return spectrum, find_peaks(spectrum.wavelength_m, spectrum.R, interrogator, grating.design_wavelength_m)


def simulate_series(profiles: Sequence[StrainProfile], grating: Grating | None = None,
                    interrogator: Interrogator | None = None, *, fibre: Fibre | None = None,
                    source: Source | None = None, workers: int | None = None) -> list[tuple[Spectrum, PeakReport]]:
    """:func:`simulate` for each profile of a time series, all on one wavelength grid (the union
    of their windows), noise seeded by the step's position in the series."""
    grating = grating or Grating()
    interrogator = interrogator or Interrogator()
    fibre = fibre or Fibre.from_material("silica")
    all_sections = [grating_sections(p, grating, fibre) for p in profiles]
    lo = min(float(s.bragg_m.min()) for s in all_sections)
    hi = max(float(s.bragg_m.max()) for s in all_sections)
    grid = wavelength_grid(interrogator, lo, hi)
    return [simulate(p, grating, interrogator, fibre=fibre, source=source, wavelength_m=grid, seed_offset=i,
                     workers=workers) for i, p in enumerate(profiles)]


def summary_metrics(spectrum: Spectrum, report: PeakReport, sections: LocalBragg, fibre: Fibre,
                    reference: PeakReport | None = None) -> dict[str, object]:
    """Every metric of one spectrum, units in the names (for summary.json).

    ``reference``: peak report of a strain-free reference grating at the same temperatures; when
    given, the centroid shift is also reported with the temperature removed.
    """
    metrics = report.metrics(fibre)
    for name, R in (("x", spectrum.R_x), ("y", spectrum.R_y)):
        i = int(np.argmax(R))
        metrics[f"fbg_peak_{name}_nm"] = parabolic_vertex(spectrum.wavelength_m, R, i)[0] * 1e9
        metrics[f"fbg_local_bragg_{name}_range_nm"] = [float(sections.bragg_m[0 if name == "x" else 1].min() * 1e9),
                                                       float(sections.bragg_m[0 if name == "x" else 1].max() * 1e9)]
    # the two polarisation eigenmodes' own peaks: what a polarisation-resolved reading would give,
    # beside the interrogator's reading of the unpolarised spectrum (fbg_splitting_pm)
    metrics["fbg_eigen_splitting_pm"] = abs(metrics["fbg_peak_x_nm"] - metrics["fbg_peak_y_nm"]) * 1e3
    angles = np.degrees(sections.angle_rad)
    metrics["fbg_principal_angle_mean_deg"] = float(np.mean(angles))
    metrics["fbg_principal_angle_range_deg"] = [float(angles.min()), float(angles.max())]
    metrics["fbg_sections"] = int(sections.z_m.size)
    metrics["fbg_section_length_m"] = sections.dz_m
    if reference is not None and report.count and reference.count:
        lam0 = report.reference_wavelength_m
        shift, dT = compensate_temperature(report.centroid_m, lam0, reference.centroid_m,
                                           reference.reference_wavelength_m, fibre)
        metrics["fbg_reference_shift_pm"] = reference.shift_m * 1e12
        metrics["fbg_estimated_delta_T_K"] = float(dT)
        metrics["fbg_compensated_shift_pm"] = float(shift) * 1e12
        metrics["fbg_compensated_stress_eq12_Pa"] = float(stress_from_shift(shift, lam0, fibre))
    return metrics

def reading_bias(splittings_m, grating: Grating | None = None, interrogator: Interrogator | None = None,
                 fibre: Fibre | None = None) -> list[dict[str, float]]:
    """How an interrogator reads a birefringent splitting: for each eigenmode splitting [m] (a uniform
    transverse strain difference along the whole grating, no mean shift), the interrogator's
    reading of the unpolarised spectrum (``fbg_splitting_pm``: the two strongest peaks; 0 when it
    sees one peak) beside the eigenmode peaks' own separation, and the number of peaks it sees.

    The strain difference for an eigenmode splitting s is s / (lambda n^2 (p12 - p11) / 2)
    (digest eq. of the splitting), half on x and half on y with opposite signs."""
    grating = grating or Grating()
    fibre = fibre or Fibre.from_material("silica")
    n = fibre.effective_index
    rows = []
    for s in np.atleast_1d(np.asarray(splittings_m, dtype=float)):
        d_eps = s / (grating.design_wavelength_m * 0.5 * n * n * (fibre.p12 - fibre.p11))
        profile = StrainProfile.uniform(grating.length_m, exx=0.5 * d_eps, eyy=-0.5 * d_eps, ezz=0.0)
        spectrum, report = simulate(profile, grating, interrogator, fibre=fibre, workers=1)
        sections = grating_sections(profile, grating, fibre)
        m = summary_metrics(spectrum, report, sections, fibre)
        rows.append({"eigen_splitting_pm": m["fbg_eigen_splitting_pm"], "read_splitting_pm": m["fbg_splitting_pm"],
                     "peaks_read": m["fbg_peak_count"], "strain_difference": d_eps})
    return rows
