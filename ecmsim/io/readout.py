"""Files of the fibre read-out through the cycles: spectra_history.csv, peak_tracks.csv,
delta_sigma.csv, section_pressures.csv, fibre_library.csv, fibre_readout.json, and the waterfall,
peak-track and stress figures (docs/fibre_readout.md)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ecmsim.core.figures import draw_or_warn, pyplot
from ecmsim.fibre.readout import STRAIN_KEYS, Readout, eq12_stress


def write_outputs(folder: Path, r: Readout, fibre, title: str = "", plots: bool = True,
                  cycles: np.ndarray | None = None) -> list[str]:
    """spectra_history.csv, peak_tracks.csv, delta_sigma.csv, section_pressures.csv, fibre_library.csv,
    fibre_readout.json and the PNGs; returns the file names."""
    folder = Path(folder)
    lam_nm = r.wavelength_m * 1e9
    header = "step,time_s," + ",".join(f"{w:.4f}" for w in lam_nm)
    rows = np.column_stack([r.steps, r.times_s, np.array([s.R for s in r.spectra])])
    np.savetxt(folder / "spectra_history.csv", rows, delimiter=",", header=header, comments="", fmt="%.6g")
    lines = ["step,time_s,peak_count,track,wavelength_nm,reflectance,fwhm_pm,reference_nm,delta_lambda_pm,"
             "delta_sigma_Pa"]
    for i, rep in enumerate(r.reports):
        ref, shift, stress = r.delta[i]
        for k, p in enumerate(rep.peaks):
            lines.append(f"{r.steps[i]},{float(r.times_s[i])!r},{rep.count},{r.tracks[i][k]},{p.wavelength_m * 1e9:.6f},"
                         f"{p.reflectance:.6g},{p.fwhm_m * 1e12:.4f},{ref[k] * 1e9:.6f},{shift[k] * 1e12:.4f},"
                         f"{stress[k]:.6g}")
    (folder / "peak_tracks.csv").write_text("\n".join(lines) + "\n")
    lines = ["step,time_s,peak_count,delta_sigma_max_abs_Pa,delta_sigma_max_Pa,delta_sigma_min_Pa,centroid_nm,"
             "delta_sigma_centroid_Pa"]
    c0 = r.reports[0].centroid_m
    for i, rep in enumerate(r.reports):
        st = r.delta[i][2]
        big = float(np.max(np.abs(st))) if st.size else float("nan")
        hi = float(st.max()) if st.size else float("nan")
        lo = float(st.min()) if st.size else float("nan")
        lines.append(f"{r.steps[i]},{float(r.times_s[i])!r},{rep.count},{big:.6g},{hi:.6g},{lo:.6g},{rep.centroid_m * 1e9:.6f},"
                     f"{float(eq12_stress(rep.centroid_m - c0, c0, fibre)):.6g}")
    (folder / "delta_sigma.csv").write_text("\n".join(lines) + "\n")
    n = r.pressures_Pa.shape[1]
    np.savetxt(folder / "section_pressures.csv", np.column_stack([r.steps, r.times_s, r.pressures_Pa]),
               delimiter=",", header="step,time_s," + ",".join(f"section_{j}_Pa" for j in range(n)),
               comments="", fmt="%.8g")
    lib = r.library
    if lib is not None:
        np.savetxt(folder / "fibre_library.csv",
                   np.column_stack([lib.pressures_Pa] + [lib.cores[k] for k in STRAIN_KEYS]),
                   delimiter=",", header="stack_pressure_Pa,exx,eyy,ezz,exy", comments="", fmt="%.10g")
    if r.loads_N_per_m is not None:
        np.savetxt(folder / "section_loads.csv", np.column_stack([r.steps, r.times_s, r.loads_N_per_m]),
                   delimiter=",", header="step,time_s," + ",".join(f"section_{j}_N_per_m" for j in range(n)),
                   comments="", fmt="%.8g")
    (folder / "fibre_readout.json").write_text(json.dumps(r.metrics, indent=2) + "\n")
    files = ["spectra_history.csv", "peak_tracks.csv", "delta_sigma.csv", "section_pressures.csv",
             "fibre_readout.json"] + (["fibre_library.csv"] if lib is not None else []) \
        + (["section_loads.csv"] if r.loads_N_per_m is not None else [])
    if plots:
        for name, fn in (("waterfall.png", lambda p: plot_waterfall(p, r, title)),
                         ("peak_tracks.png", lambda p: plot_peak_tracks(p, r, title)),
                         ("delta_sigma.png", lambda p: plot_delta_sigma(p, r, title))):
            if draw_or_warn(folder / name, fn):
                files.append(name)
    return files


def plot_waterfall(path: Path, r: Readout, title: str = "", max_lines: int = 40) -> None:
    """3D stack of spectra (wavelength, time, reflectance), like the reference paper's stack view."""
    plt = pyplot()
    # evenly spaced in time (the accepted steps crowd at the start of each protocol step)
    marks = np.linspace(r.times_s[0], r.times_s[-1], min(max_lines, len(r.times_s)))
    idx = np.unique(np.abs(r.times_s[None, :] - marks[:, None]).argmin(axis=1))
    fig = plt.figure(figsize=(8, 6))
    ax = fig.add_subplot(projection="3d")
    lam = r.wavelength_m * 1e9
    cmap = plt.get_cmap("viridis")
    t_end = max(float(r.times_s[-1]), 1.0)
    for i in idx:
        t_h = r.times_s[i] / 3600
        ax.plot(lam, np.full_like(lam, t_h), r.spectra[i].R, lw=0.8, color=cmap(r.times_s[i] / t_end))
    ax.set_xlabel("wavelength [nm]")
    ax.set_ylabel("time [h]")
    ax.set_zlabel("reflectance")
    ax.view_init(elev=28, azim=-62)
    ax.set_title(f"{title}\nFBG spectra through the cycles ({len(idx)} of {len(r.times_s)} times)", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_peak_tracks(path: Path, r: Readout, title: str = "") -> None:
    """Peak wavelengths against time (colour: reflectance) over a spectrogram."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4))
    t_h = r.times_s / 3600
    R = np.array([s.R for s in r.spectra])
    lam = r.wavelength_m * 1e9
    if len(t_h) > 1:
        ax.pcolormesh(t_h, lam, R.T, shading="nearest", cmap="Greys", alpha=0.5)
    pts = [(t_h[i], p.wavelength_m * 1e9, p.reflectance) for i, rep in enumerate(r.reports) for p in rep.peaks]
    if pts:
        a = np.array(pts)
        sc = ax.scatter(a[:, 0], a[:, 1], c=a[:, 2], s=6, cmap="plasma", vmin=0)
        fig.colorbar(sc, ax=ax, label="peak reflectance")
    ax.set_xlabel("time [h]")
    ax.set_ylabel("peak wavelength [nm]")
    ax.set_title(f"{title}: peak tracks", fontsize=9)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def plot_delta_sigma(path: Path, r: Readout, title: str = "") -> None:
    """Eq. 1-2 stress of every peak and the largest |delta sigma| against time; section pressures below."""
    plt = pyplot()
    fig, (ax, bx) = plt.subplots(2, 1, figsize=(8, 6), sharex=True)
    t_h = r.times_s / 3600
    for i, (_, _, st) in enumerate(r.delta):
        ax.plot(np.full(st.size, t_h[i]), st / 1e6, ".", ms=3, color="0.6")
    big = [float(np.max(np.abs(st))) if st.size else np.nan for _, _, st in r.delta]
    ax.plot(t_h, np.array(big) / 1e6, "-", color="C3", lw=1.2, label="largest |Δσ| of the peaks")
    ax.plot([], [], ".", color="0.6", label="Δσ of each peak (nearest pre-cycling peak)")
    ax.set_ylabel("Δσ by eq. 1-2 [MPa]")
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    ax.set_title(f"{title}: stress read from the peak shifts", fontsize=9)
    for j in range(r.pressures_Pa.shape[1]):
        bx.plot(t_h, r.pressures_Pa[:, j] / 1e6, lw=0.8)
    bx.set_ylabel("section pressure [MPa]")
    bx.set_xlabel("time [h]")
    bx.grid(alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["write_outputs", "plot_waterfall", "plot_peak_tracks", "plot_delta_sigma"]
