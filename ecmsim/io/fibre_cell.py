"""Files of a fibre-cell run: the local states along the grating (states.csv), the contact pressure
on the fibre rim (fibre_contact.csv, fibre_contact.png) and, for an embedding in time, the spectra
of every step (spectra_history.csv) and the history of splitting, peaks and load (fibre_history.png)."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecmsim.core.figures import pyplot


def write_states(path: Path, states: list[dict]) -> None:
    keys = [k for k, v in states[0].items() if isinstance(v, (int, float))]
    lines = [",".join(keys)] + [",".join(repr(float(s[k])) for k in keys) for s in states]
    path.write_text("\n".join(lines) + "\n")


def write_contact(path: Path, result) -> None:
    """Pressure on the fibre rim (half model and its mirror image) against the angle."""
    write_rim(path, *[t for _, t in sorted(result.profiles.items())], names=sorted(result.profiles))


def write_rim(path: Path, *tractions, names=("foil", "membrane")) -> None:
    """fibre_contact.csv: body, angle from +x [deg], pressure [Pa], arc weight [m] of rim tractions."""
    rows = []
    for name, t in zip(names, tractions):
        for th, pr, w in zip(t.theta_rad, t.pressure_Pa, t.weight_m):
            rows.append((name, float(np.degrees(th)), float(pr), float(w)))
    rows.sort(key=lambda r: r[1])
    lines = ["body,theta_deg,contact_pressure_Pa,weight_m"] + [f"{b},{a!r},{p!r},{w!r}" for b, a, p, w in rows]
    path.write_text("\n".join(lines) + "\n")


def plot_contact(path: Path, result, title: str) -> None:
    names = sorted(result.profiles)
    plot_rim(path, *[result.profiles[n] for n in names], title, names=names,
             load_N_per_m=result.metrics["fibre_line_load_N_per_m"])


def plot_rim(path: Path, *args, names=("foil", "membrane"), load_N_per_m: float | None = None) -> None:
    """Contact pressure against the angle on the fibre rim: ``plot_rim(path, tractions..., title)``."""
    *tractions, title = args
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, t in zip(names, tractions):
        order = np.argsort(t.theta_rad)
        ax.plot(np.degrees(t.theta_rad[order]), t.pressure_Pa[order] / 1e6, ".", ms=2, label=name)
    if load_N_per_m is None:
        load_N_per_m = float(abs(np.sum(tractions[-1].pressure_Pa * tractions[-1].weight_m
                                        * np.sin(tractions[-1].theta_rad))))
    ax.set_xlabel("angle on the fibre rim from +x [deg] (90: top, -90: bottom)")
    ax.set_ylabel("contact pressure [MPa]")
    ax.set_title(f"{title}: fibre load {load_N_per_m / 1e3:.3g} N/mm", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


def write_spectra_history(path: Path, spectra) -> None:
    """spectra_history.csv: one row per step (step, time [s], reflectance R at each wavelength [nm] of
    the header); ``spectra``: (step, time_s, Spectrum, ...) on one wavelength grid."""
    lam_nm = spectra[0][2].wavelength_m * 1e9
    header = "step,time_s," + ",".join(f"{w:.4f}" for w in lam_nm)
    rows = np.column_stack([[s[0] for s in spectra], [s[1] for s in spectra], np.array([s[2].R for s in spectra])])
    np.savetxt(path, rows, delimiter=",", header=header, comments="", fmt="%.6g")


def plot_embedding_history(path: Path, history: list[dict], title: str) -> None:
    """Read and eigenmode splitting, peak count, fibre load and depths against time."""
    plt = pyplot()
    t = np.array([r["time_s"] for r in history])
    t = np.where(t > 0, t, np.nan)
    get = lambda key: np.array([r.get(key, np.nan) for r in history], dtype=float)  # noqa: E731
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(13, 3.8))
    ax1.semilogx(t, get("fbg_splitting_pm"), "o-", ms=3, label="read (interrogator)")
    ax1.semilogx(t, get("fbg_eigen_splitting_pm"), "s--", ms=3, label="eigenmode peaks")
    ax1.set_ylabel("splitting [pm]")
    ax2.semilogx(t, get("fibre_line_load_N_per_m") / 1e3, "o-", ms=3, color="tab:red")
    ax2.set_ylabel("fibre line load [N/mm]")
    ax3.semilogx(t, get("fibre_depth_in_electrode_m") * 1e6, label="depth in the foil")
    ax3.semilogx(t, get("fibre_depth_in_electrolyte_m") * 1e6, label="depth in the membrane")
    ax3.semilogx(t, get("fibre_standoff_m") * 1e6, ":", label="standoff")
    ax3.set_ylabel("[um]")
    for ax in (ax1, ax2, ax3):
        ax.set_xlabel("time since the load [s]")
        ax.grid(alpha=0.3)
    ax1.legend(fontsize=8)
    ax3.legend(fontsize=8)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["write_states", "write_contact", "plot_contact", "write_rim", "plot_rim", "write_spectra_history",
           "plot_embedding_history"]
