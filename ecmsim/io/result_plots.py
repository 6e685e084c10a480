"""Figures of a result read back (``ecmsim.results.load(DIR).plot(...)``, ``ecmsim.run(...).plot(...)``).

matplotlib on the axes given, or on a new figure with the backend in use (inline in a notebook,
Agg without a screen). Lengths in µm, stresses in MPa, wavelengths in nm on the axes; the data
stay SI.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecmsim.core.errors import InputFileError

#: ``component`` of plot("stress") -> (cell array, component index or None, axis label).
STRESS_COMPONENTS = {
    "von_mises": ("von_mises_Pa", None, "von Mises stress [MPa]"),
    "xx": ("stress_Pa", 0, r"$\sigma_{xx}$ [MPa]"), "yy": ("stress_Pa", 1, r"$\sigma_{yy}$ [MPa]"),
    "zz": ("stress_Pa", 2, r"$\sigma_{zz}$ [MPa]"), "xy": ("stress_Pa", 3, r"$\sigma_{xy}$ [MPa]"),
    "sigma_1": ("principal_stress_Pa", 0, r"largest principal stress $\sigma_1$ [MPa]"),
    "sigma_2": ("principal_stress_Pa", 1, r"middle principal stress $\sigma_2$ [MPa]"),
    "sigma_3": ("principal_stress_Pa", 2, r"smallest principal stress $\sigma_3$ [MPa]"),
}


def plot_result(r, what: str = "stress", ax=None, **kwargs):
    """Draw one view of a :class:`ecmsim.io.results.Results` (see ``Results.plot``); returns the axes."""
    views = {"stress": _stress, "interface": _interface, "history": _history, "spectrum": _spectrum}
    if what not in views:
        raise InputFileError(f"plot({what!r}): choose one of {', '.join(views)}")
    if ax is None:
        import matplotlib.pyplot as plt
        _, ax = plt.subplots(figsize=(8, 4))
    views[what](r, ax, **kwargs)
    return ax


def _stress(r, ax, component: str = "von_mises", time_s: float | None = None, cmap: str | None = None) -> None:
    """A cell field on the mesh (flat per cell), the interface drawn over it."""
    if component not in STRESS_COMPONENTS:
        raise InputFileError(f"plot('stress', component={component!r}): choose one of {', '.join(STRESS_COMPONENTS)}")
    grid = r.fields_at(time_s)
    name, k, label = STRESS_COMPONENTS[component]
    if name not in grid.cell_data:
        raise InputFileError(f"{r.folder}: the fields hold no {name} (a run with output.fields = false?)")
    values = np.asarray(grid.cell_data[name])
    values = (values if k is None else values[:, k]) * 1e-6
    cells = grid.cells_dict
    tri = next((c for t, c in cells.items() if int(t) in (5, 22)), None)   # (quadratic) triangles
    if tri is None:
        raise InputFileError(f"{r.folder}: plot('stress') draws 2D windows; open a 3D one in ParaView or pyvista")
    import matplotlib.tri as mtri

    xy = grid.points[:, :2] * 1e6
    triangulation = mtri.Triangulation(xy[:, 0], xy[:, 1], tri[:, :3])
    from ecmsim.io.plots import colour_range

    centred = component != "von_mises"     # stress components: 0 white, compression blue
    lo, hi, extend = colour_range(values, centred)
    pc = ax.tripcolor(triangulation, facecolors=values, cmap=cmap or ("RdBu_r" if centred else "viridis"),
                      vmin=lo, vmax=hi)
    ax.figure.colorbar(pc, ax=ax, label=label, extend=extend)
    if r.interface:
        ax.plot(r.interface["x_m"] * 1e6, r.interface["y_m"] * 1e6, ".", color="k", ms=1.0)
    ax.set_aspect("equal")
    ax.set_xlabel("x [µm]")
    ax.set_ylabel("y [µm]")
    import textwrap

    t = r.times
    when = f", t = {t[np.argmin(np.abs(t - time_s))]:.4g} s" if time_s is not None and t.size else ""
    ax.set_title(textwrap.fill(_title(r) + when, 60), fontsize=9)


def _interface(r, ax, label: str | None = None) -> None:
    if not r.interface:
        raise InputFileError(f"{r.folder}: no interface_profile.csv (a window without an electrode?)")
    ax.plot(r.interface["x_m"] * 1e6, -r.interface["normal_stress_Pa"] * 1e-6, lw=1.0, label=label or _title(r))
    ax.set_xlabel("x along the interface [µm]")
    ax.set_ylabel("compressive normal stress [MPa]")
    _plain_axis(ax, -r.interface["normal_stress_Pa"] * 1e-6)
    ax.grid(alpha=0.3)
    if label:
        ax.legend(fontsize=8)


def _history(r, ax, column: str = "electrode_von_mises_max_Pa", label: str | None = None) -> None:
    if r.history is None:
        raise InputFileError(f"{r.folder}: no history.csv (a run without [protocol])")
    if column not in r.history:
        raise InputFileError(f"{r.folder}/history.csv: no column {column!r} (columns: {', '.join(r.history)})")
    scale, unit = (1e-6, "MPa") if column.endswith("_Pa") else (1.0, "")
    ax.plot(r.history["time_s"] / 3600.0, r.history[column] * scale, marker=".", label=label or _title(r))
    ax.set_xlabel("time [h]")
    ax.set_ylabel(f"{column.removesuffix('_Pa')}" + (f" [{unit}]" if unit else ""))
    _plain_axis(ax, r.history[column] * scale)
    ax.grid(alpha=0.3)
    if label:
        ax.legend(fontsize=8)


def _spectrum(r, ax, step: int = -1, measured: str | Path | None = None, label: str | None = None) -> None:
    if r.spectra is None:
        raise InputFileError(f"{r.folder}: no spectrum (a run without the fibre)")
    s = r.spectra
    ax.plot(s.wavelength_nm, s.R[step], lw=1.2, label=label or f"{_title(r)}, t = {s.time_s[step]:.4g} s")
    if measured is not None:
        from ecmsim.fbg.spectra import read_measured_csv
        m = read_measured_csv(measured)
        ax.plot(m.wavelength_m * 1e9, m.reflectance / m.reflectance.max() * s.R[step].max(), lw=1.0, color="k",
                ls="--", label=f"measured ({Path(m.source).name}), scaled to the simulated maximum")
    ax.set_xlabel("wavelength [nm]")
    ax.set_ylabel("reflectance [-]")
    ax.ticklabel_format(axis="x", useOffset=False)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)


def _plain_axis(ax, y) -> None:
    """No offset notation ("1e-12 + 3") on the y axis; a uniform value gets +-5 % around it."""
    ax.ticklabel_format(axis="y", useOffset=False)
    lo, hi = float(np.min(y)), float(np.max(y))
    if hi - lo <= 1e-6 * max(abs(lo), abs(hi)):
        pad = 0.05 * max(abs(hi), 1e-12)
        bottom, top = ax.get_ylim() if len(ax.lines) > 1 else (np.inf, -np.inf)
        ax.set_ylim(min(lo - pad, bottom), max(hi + pad, top))
        ax.set_autoscaley_on(True)       # a curve drawn on these axes later widens them again


def _title(r) -> str:
    """The scenario's title and the overrides of the run, as on the run's own figures."""
    from ecmsim.core.figures import run_title
    return run_title(r.summary.get("title") or Path(r.folder).name, r.summary.get("overrides"))


__all__ = ["plot_result", "STRESS_COMPONENTS"]
