"""Files of a fibre-cell run: the local states along the grating (states.csv) and the contact
pressure on the fibre rim (fibre_contact.csv, fibre_contact.png)."""

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
    rows = []
    for name, t in result.profiles.items():
        for th, pr, w in zip(t.theta_rad, t.pressure_Pa, t.weight_m):
            rows.append((name, float(np.degrees(th)), float(pr), float(w)))
    rows.sort(key=lambda r: r[1])
    lines = ["body,theta_deg,contact_pressure_Pa,weight_m"] + [f"{b},{a!r},{p!r},{w!r}" for b, a, p, w in rows]
    path.write_text("\n".join(lines) + "\n")


def plot_contact(path: Path, result, title: str) -> None:
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(7, 3.5))
    for name, t in result.profiles.items():
        order = np.argsort(t.theta_rad)
        ax.plot(np.degrees(t.theta_rad[order]), t.pressure_Pa[order] / 1e6, ".", ms=2, label=name)
    ax.set_xlabel("angle on the fibre rim from +x [deg] (90: top, -90: bottom)")
    ax.set_ylabel("contact pressure [MPa]")
    m = result.metrics
    ax.set_title(f"{title}: fibre load {m['fibre_line_load_N_per_m'] / 1e3:.3g} N/mm", fontsize=9)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["write_states", "write_contact", "plot_contact"]
