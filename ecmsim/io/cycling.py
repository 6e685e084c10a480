"""Files of plating/stripping runs: the interface history (interface_profiles.csv) and cycling.png."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecmsim.core.figures import pyplot


def write_profiles(path: Path, rows: list[np.ndarray], header: str) -> None:
    """The long CSV of interface profiles (every accepted step); ``header``: its column names."""
    np.savetxt(path, np.concatenate(rows) if rows else np.zeros((0, len(header.split(",")))), delimiter=",",
               comments="", header=header, fmt="%.10g")


def cycling_plot(path: Path, history: list[dict], title: str = "") -> None:
    """Interface stress (range, heterogeneity) and current CV against time."""
    plt = pyplot()
    t = np.array([r["time_s"] for r in history]) / 3600.0
    get = lambda k: np.array([r.get(k, np.nan) for r in history], dtype=float)  # noqa: E731
    fig, (ax1, ax2, ax3) = plt.subplots(1, 3, figsize=(14, 4))
    ax1.plot(t, get("interface_sigma_nn_mean_Pa") * 1e-6, label="mean")
    ax1.fill_between(t, get("interface_sigma_nn_min_Pa") * 1e-6, get("interface_sigma_nn_max_Pa") * 1e-6,
                     alpha=0.3, label="min ... max")
    ax1.plot(t, get("interface_sigma_nn_centre_Pa") * 1e-6, "--", label="centre half")
    ax1.plot(t, get("interface_sigma_nn_edge_Pa") * 1e-6, ":", label="outer quarters")
    ax1.set_ylabel("interface normal stress [MPa]")
    ax2.plot(t, get("interface_sigma_nn_std_Pa") * 1e-6, label="std of sigma_nn along the interface")
    ax2.set_ylabel("interface stress heterogeneity [MPa]")
    cv = get("current_density_cv")
    ax3.plot(t, cv, ".", label="current CV")
    ax3.plot(t, get("interface_active_fraction"), "-", label="active fraction")
    ax3.set_ylabel("[-]")
    for ax in (ax1, ax2, ax3):
        ax.set_xlabel("time [h]")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle(title or "plating/stripping cycles")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["write_profiles", "cycling_plot"]
