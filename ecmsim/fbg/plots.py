"""PNG figures of the virtual FBG: one spectrum, and a time series as a waterfall.

matplotlib with the Agg backend (no display needed); every axis names its quantity and unit.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib
import matplotlib.ticker

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)
import numpy as np  # noqa: E402

from ecmsim.fbg.analysis import PeakReport  # noqa: E402
from ecmsim.fbg.optics import LocalBragg  # noqa: E402
from ecmsim.fbg.spectra import Spectrum  # noqa: E402


def plot_spectrum(path: str | Path, spectrum: Spectrum, report: PeakReport,
                  sections: LocalBragg | None = None, title: str = "", measured=None) -> None:
    """Reflectance vs wavelength (R_x, R_y, R, peaks, design wavelength); below it, if
    ``sections`` is given, the local Bragg wavelength of each polarisation along the grating.
    ``measured`` (a :class:`~ecmsim.fbg.measured.MeasuredSpectrum`) is drawn over it, scaled so
    that its maximum over the simulated range is the simulated maximum (its level is unknown)."""
    rows = 2 if sections is not None else 1
    fig, axes = plt.subplots(rows, 1, figsize=(8, 4.5 * rows), squeeze=False,
                             gridspec_kw={"height_ratios": [3, 2][:rows]})
    ax = axes[0, 0]
    lam_nm = spectrum.wavelength_m * 1e9
    ax.plot(lam_nm, spectrum.R_x, lw=0.8, ls="--", color="tab:blue", label="R_x (x eigenmode)")
    ax.plot(lam_nm, spectrum.R_y, lw=0.8, ls="--", color="tab:orange", label="R_y (y eigenmode)")
    ax.plot(lam_nm, spectrum.R, lw=1.4, color="black", label="R (interrogator)")
    for p in report.peaks:
        ax.plot(p.wavelength_m * 1e9, p.reflectance, "v", color="tab:red", ms=6)
        ax.annotate(f"{p.wavelength_m * 1e9:.3f}", (p.wavelength_m * 1e9, p.reflectance),
                    textcoords="offset points", xytext=(0, 8), ha="center", fontsize=8)
    if measured is not None:
        lo, hi = spectrum.wavelength_m[0], spectrum.wavelength_m[-1]
        inside = (measured.wavelength_m >= lo) & (measured.wavelength_m <= hi)
        top = measured.reflectance[inside].max() if inside.any() else measured.reflectance.max()
        ax.plot(measured.wavelength_m * 1e9, measured.reflectance / top * spectrum.R.max(), lw=1.2, color="tab:green",
                label=f"measured ({Path(measured.source).name}, {measured.column}), scaled to the simulated max")
        ax.set_xlim(lam_nm[0], lam_nm[-1])
    ax.axvline(report.reference_wavelength_m * 1e9, color="grey", ls=":", lw=1, label="design (unloaded)")
    ax.set_xlabel("Wavelength [nm]")
    ax.set_ylabel("Reflectance [-]")
    ax.set_title(title or spectrum.label)
    # the eigenmode curves reach twice the unpolarised R: keep all three inside the axes
    top = max(1e-12, float(max(spectrum.R.max(), spectrum.R_x.max(), spectrum.R_y.max())))
    ax.set_ylim(bottom=min(0.0, float(spectrum.R.min())), top=top * 1.15)
    ax.legend(fontsize=8, loc="best")
    ax.ticklabel_format(axis="x", useOffset=False)
    if sections is not None:
        ax2 = axes[1, 0]
        z_mm = sections.z_m * 1e3
        ax2.plot(z_mm, sections.bragg_m[0] * 1e9, color="tab:blue", label="x eigenmode")
        ax2.plot(z_mm, sections.bragg_m[1] * 1e9, color="tab:orange", label="y eigenmode")
        ax2.set_xlabel("Position along the grating from its centre, z [mm]")
        ax2.set_ylabel("Local Bragg wavelength [nm]")
        ax2.ticklabel_format(axis="y", useOffset=False)
        ax2.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_decomposition(path: str | Path, wavelength_m: np.ndarray, R: np.ndarray, decomposition,
                       title: str = "") -> None:
    """A spectrum (normalised), the decomposition's model and each component, residual below."""
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, gridspec_kw={"height_ratios": [3, 1]})
    lam_nm = wavelength_m * 1e9
    d = decomposition
    ax.plot(lam_nm, R, lw=1.0, color="black", label="spectrum (normalised to its maximum)")
    ax.plot(lam_nm, d.model, lw=1.4, color="tab:red", label=f"model: {d.count} {d.line_shape.replace('_', '-')} "
                                                             f"line(s), chi2/dof {d.chi2_per_dof:.2f}")
    for k, (c, curve) in enumerate(zip(d.components, d.component_models)):
        ax.plot(lam_nm, curve + d.baseline, lw=0.8, ls="--", color=plt.cm.tab10(k % 10))
        ax.annotate(f"{c.wavelength_m * 1e9:.3f}\n± {c.uncertainty_m * 1e12:.1f} pm",
                    (c.wavelength_m * 1e9, c.height + d.baseline), textcoords="offset points", xytext=(0, 6),
                    ha="center", fontsize=7)
    ax.set_ylabel("Reflectance [-] (normalised)")
    ax.set_title(title or "Decomposition")
    ax.legend(fontsize=8, loc="upper right")
    ax.set_ylim(top=1.25 * max(float(np.max(R)), float(np.max(d.model))))
    ax2.plot(lam_nm, R - d.model, lw=0.8, color="grey")
    ax2.axhline(0, color="black", lw=0.5)
    ax2.set_ylabel("residual [-]")
    ax2.set_xlabel("Wavelength [nm]")
    ax2.ticklabel_format(axis="x", useOffset=False)
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_waterfall(path: str | Path, spectra: Sequence[Spectrum], reports: Sequence[PeakReport],
                   labels: Sequence[str], tracks: Sequence[Sequence[int]]) -> None:
    """Left: the spectra stacked upwards in series order (the reference paper's Fig. 3b style);
    right: every peak's wavelength against the step, one colour per track."""
    fig, (ax, ax2) = plt.subplots(1, 2, figsize=(12, 6), gridspec_kw={"width_ratios": [3, 2]})
    top = max(float(s.R.max()) for s in spectra) or 1.0
    offset = 0.5 * top
    colours = plt.cm.viridis(np.linspace(0, 0.9, len(spectra)))
    for i, (s, r, c) in enumerate(zip(spectra, reports, colours)):
        ax.plot(s.wavelength_m * 1e9, s.R + i * offset, color=c, lw=1)
        for p in r.peaks:
            ax.plot(p.wavelength_m * 1e9, p.reflectance + i * offset, "v", color="tab:red", ms=3)
    ticks = np.arange(len(spectra)) * offset
    step = max(1, len(spectra) // 12)
    ax.set_yticks(ticks[::step], [labels[i] for i in range(0, len(spectra), step)], fontsize=7)
    ax.set_xlabel("Wavelength [nm]")
    ax.set_ylabel(f"Step (spectra offset by {offset:.2g} reflectance)")
    ax.ticklabel_format(axis="x", useOffset=False)
    ax.set_title("Reflected spectra")
    cmap = plt.get_cmap("tab10")
    by_track: dict[int, list[tuple[float, int]]] = {}
    for i, (r, ids) in enumerate(zip(reports, tracks)):
        for p, t in zip(r.peaks, ids):
            by_track.setdefault(t, []).append((p.wavelength_m * 1e9, i))
    for t, points in by_track.items():
        x, y = zip(*points)
        ax2.plot(x, y, "o-", color=cmap(t % 10), ms=4, lw=1)
    ax2.xaxis.set_major_locator(matplotlib.ticker.MaxNLocator(5))
    ax2.set_xlabel("Peak wavelength [nm]")
    ax2.set_ylabel("Step index [-]")
    ax2.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(integer=True))
    ax2.ticklabel_format(axis="x", useOffset=False)
    ax2.set_title("Peak tracking (colour = track)")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)


def plot_inverse(path: str | Path, inversion, reflectance, title: str = "", diameter_m: float = 125e-6) -> None:
    """Top: the spectrum, the inverse model's fit and the residual; bottom: the recovered levels
    (line load against position, bars one level wide, error bars one standard uncertainty)."""
    fig, (ax, ax2) = plt.subplots(2, 1, figsize=(8, 8), gridspec_kw={"height_ratios": [3, 2]})
    lam_nm = inversion.wavelength_m * 1e9
    ax.plot(lam_nm, reflectance, lw=1.0, color="black", label="spectrum")
    ax.plot(lam_nm, inversion.model, lw=1.2, color="tab:red", ls="--",
            label=f"inverse model, {len(inversion.levels)} level(s), chi2/dof {inversion.chi2_per_dof:.2f}")
    ax.plot(lam_nm, np.asarray(reflectance) - inversion.model, lw=0.6, color="tab:grey", label="residual")
    for lv in inversion.levels:
        for b in (lv.bragg_x_m, lv.bragg_y_m):
            ax.axvline(b * 1e9, color="tab:blue", lw=0.6, ls=":")
    ax.set_xlabel("Wavelength [nm]")
    ax.set_ylabel("Reflectance [-]")
    ax.set_title(title or "Inverse FBG: fit against the spectrum (dotted: local Bragg lines)")
    ax.legend(fontsize=8, loc="upper right")
    ax.ticklabel_format(axis="x", useOffset=False)
    rows = inversion.rows()
    for r in rows:
        ax2.bar(r["z_m"] * 1e3, r["line_load_N_m"] / 1e3, width=r["length_m"] * 1e3, color="tab:blue",
                alpha=0.6, edgecolor="black", yerr=r["line_load_uncertainty_N_m"] / 1e3, capsize=3)
    ax2.set_xlabel("Position along the grating [mm] (order along z not determined by the spectrum)")
    ax2.set_ylabel("Diametral line load [N/mm]")
    sec = ax2.secondary_yaxis("right", functions=(lambda f: f * 8e3 / (np.pi * diameter_m) / 1e6,
                                                  lambda s: s * 1e6 * np.pi * diameter_m / 8e3))
    sec.set_ylabel(f"sigma1 - sigma2 [MPa] (fibre {diameter_m * 1e6:.0f} um)")
    fig.tight_layout()
    fig.savefig(path, dpi=130)
    plt.close(fig)
