"""PNG figures a person can read: stress maps and the stress along the interface.

matplotlib (Agg, no screen). Lengths in µm and stresses in MPa on the axes; the data stay SI.
The stress map is an image: each rank samples its own cells at the pixel centres
(:mod:`ecmsim.io.raster`) and the images are gathered to one rank, which alone draws
(:func:`write_run_plots`: the last rank, so that rank 0 meanwhile writes the mesh file).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecmsim.core.figures import draw_or_warn, plain_text, pyplot

UM = 1e6
MPA = 1e-6


def write_run_plots(folder: Path, solution, profile, contact, stack_pressure_Pa: float, title: str,
                    comm, with_stress_map: bool = True, rank: int = 0):
    """The figures of ``ecmsim run`` (:func:`draw_or_warn` each), drawn on ``rank``.

    Collective: the stress map is sampled on every rank and its image gathered to ``rank`` now
    (``with_stress_map=False`` leaves it out: 3D windows). Returns ``draw``: a function without arguments that
    ``rank`` calls (at once or after other work; the other ranks need not wait for it) to draw the
    figures; it returns the names of the files drawn (empty on the other ranks)."""
    data = stress_map_data(solution, rank) if with_stress_map else None

    def draw() -> list[str]:
        if comm.rank != rank:
            return []
        drawings = {} if data is None else {"stress_map.png": lambda p: stress_map(p, data, profile, title)}
        if profile is not None:
            drawings["interface_stress.png"] = lambda p: interface_stress_plot(p, profile, stack_pressure_Pa, title)
        if contact is not None:
            drawings["contact.png"] = lambda p: contact_plot(p, contact, stack_pressure_Pa, title)
        return [name for name, drawing in drawings.items() if draw_or_warn(folder / name, drawing)]

    return draw


def owned_cell_values(solution, values_per_dof: np.ndarray):
    """This rank's owned triangles with the stress-space values at their vertices.

    Returns (corners (n, 3, 2) [m], values (n, 3, k), region id per cell (n,)).
    """
    from ecmsim.core.fem import dolfinx

    tm = solution.tmesh
    msh = tm.mesh
    n_owned = msh.topology.index_map(2).size_local
    cells = np.arange(n_owned, dtype=np.int32)
    nodes = dolfinx.mesh.entities_to_geometry(msh, 2, cells)[:, :3]   # the vertices (a P2 geometry: first 3)
    corners = msh.geometry.x[nodes.reshape(-1), :2].reshape(n_owned, 3, 2)
    S = solution.stress.function_space
    dofs = S.dofmap.list[:n_owned]  # (n, ndofs per cell); DG1 order = cell vertex order, DG0 one dof
    vals = values_per_dof[dofs]
    if vals.shape[1] == 1:
        vals = np.repeat(vals, 3, axis=1)
    vals = vals[:, :3].reshape(n_owned, 3, -1)   # higher degree: its vertex dofs come first (basix)
    region = np.zeros(n_owned, dtype=np.int32)
    region_tags = tm.cell_tags
    owned = region_tags.indices < n_owned
    region[region_tags.indices[owned]] = region_tags.values[owned]
    return corners, vals, region


#: Pixels across a stress-map panel: a window wider than tall (panels one above the other, 10 in at
#: 150 dpi, less the colour bar) and one at least as tall as wide (side by side) [-]
MAP_PIXELS_WIDE, MAP_PIXELS_TALL, MAP_PIXELS_MAX_HIGH = 1200, 700, 1300


def stress_map_data(solution, root: int = 0):
    """What :func:`stress_map` draws, on rank ``root`` (collective; None on the other ranks): a dict
    with ``grid`` (:class:`ecmsim.io.raster.PixelGrid` [m]), ``image`` (ny, nx, 2): sigma_yy and
    von Mises [Pa] at the pixel centres (NaN outside the cells), ``range`` (2, 2): the fields' true
    (min, max) over every cell vertex [Pa].

    Each rank samples its own cells (:func:`ecmsim.io.raster.rasterize`); only the images are
    gathered, so the cost does not grow with the mesh beyond the sampling itself."""
    from ecmsim.core.fem import MPI
    from ecmsim.io.raster import PixelGrid, merge, rasterize
    from ecmsim.mechanics.elasticity import von_mises

    comm = solution.tmesh.comm
    s = solution.stress.x.array.reshape(-1, 4)
    corners, vals, _ = owned_cell_values(solution, np.column_stack([s[:, 1], von_mises(s)]))
    flat = vals.reshape(-1, 2)
    # (x, y, sigma_yy, von Mises) over every rank: the box the image covers and the fields' true range
    lo, hi = np.full(4, np.inf), np.full(4, -np.inf)
    if len(flat):
        lo = np.r_[corners.reshape(-1, 2).min(axis=0), flat.min(axis=0)]
        hi = np.r_[corners.reshape(-1, 2).max(axis=0), flat.max(axis=0)]
    comm.Allreduce(MPI.IN_PLACE, lo, op=MPI.MIN)
    comm.Allreduce(MPI.IN_PLACE, hi, op=MPI.MAX)
    aspect = (hi[1] - lo[1]) / (hi[0] - lo[0])
    grid = PixelGrid.covering(lo[:2], hi[:2], MAP_PIXELS_WIDE if aspect < 1.0 else MAP_PIXELS_TALL,
                              MAP_PIXELS_MAX_HIGH)
    images = comm.gather(rasterize(corners, vals, grid), root=root)
    if comm.rank != root:
        return None
    return {"grid": grid, "image": merge(images), "range": np.array([lo[2:], hi[2:]])}


def stress_map(path: Path, data, profile, title: str = "") -> None:
    """Two panels, sigma_yy and von Mises [MPa], with the interface drawn on top; ``data`` from
    :func:`stress_map_data`."""
    grid, image, true_range = data["grid"], data["image"], data["range"]
    plt = pyplot()
    x0, x1, y0, y1 = grid.extent
    aspect = (y1 - y0) / (x1 - x0)
    if aspect < 1.0:
        # a window wider than tall: the panels one above the other, each the full width (side by
        # side they were strips ~190 px tall once a report scaled the figure to its column)
        fig, axes = plt.subplots(2, 1, figsize=(10, 2 * max(2.6, 8.2 * aspect + 1.2)), constrained_layout=True)
    else:
        fig, axes = plt.subplots(1, 2, figsize=(12, 5.5 * min(1.5, aspect)), constrained_layout=True)
    panels = [(0, r"$\sigma_{yy}$ [MPa] (compression < 0)", "RdBu_r", True),
              (1, "von Mises stress [MPa]", "viridis", False)]
    for ax, (c, label, cmap, centred) in zip(axes, panels, strict=True):
        v = image[:, :, c] * MPA
        field_lo, field_hi = true_range[0, c] * MPA, true_range[1, c] * MPA
        lo, hi, extend = colour_range(v[np.isfinite(v)], centred, (field_lo, field_hi))
        label = f"{label}\nfield range {field_lo:.3g} to {field_hi:.3g}"
        # sampled at the pixel centres (ecmsim.io.raster): NaN (voids, outside) left blank
        pc = ax.imshow(v, origin="lower", extent=(x0 * UM, x1 * UM, y0 * UM, y1 * UM), cmap=cmap, vmin=lo, vmax=hi,
                       interpolation="nearest", aspect="equal")
        fig.colorbar(pc, ax=ax, label=label, shrink=0.9, extend=extend)
        if profile is not None:   # windows without an electrode have no interface
            ax.plot(profile.x_m * UM, profile.y_m * UM, ".", color="k", ms=1.0, label="interface")
        ax.set_xlabel("x [µm]")
        ax.set_ylabel("y [µm]")
    if title:
        fig.suptitle(plain_text(title))
    fig.savefig(path, dpi=150)
    plt.close(fig)


def colour_range(values: np.ndarray, centred: bool, true_range: tuple[float, float] | None = None
                 ) -> tuple[float, float, str]:
    """Colour limits that show the field, not its few singular points.

    Corners, void tips and filament ends carry stress singularities whose peak grows with mesh
    refinement; a scale set by them paints everything else one colour. The limits are the 0.5
    and 99.5 percentiles (symmetric about 0 when ``centred``), with colour-bar arrows where
    values go beyond; the true range is printed in the colour-bar label. ``true_range``: the field's
    (min, max) where ``values`` are samples of it (a stress map's pixels): the arrows follow it.
    """
    if len(values) == 0:   # no sample (a map without a covered pixel): the field's range alone
        values = np.asarray(true_range if true_range is not None else (0.0, 0.0), dtype=float)
    lo, hi = (float(q) for q in np.percentile(values, [0.5, 99.5]))
    if centred:
        m = max(abs(lo), abs(hi)) or 1.0
        lo, hi = -m, m
    if hi - lo < 1e-9 * max(1.0, abs(hi)):
        lo, hi = lo - 0.5, hi + 0.5
    slack = 1e-3 * (hi - lo)  # round-off beyond the limits draws no arrow
    vmin, vmax = (np.min(values), np.max(values)) if true_range is None else true_range
    below, above = bool(vmin < lo - slack), bool(vmax > hi + slack)
    extend = {(False, False): "neither", (True, False): "min", (False, True): "max", (True, True): "both"}
    return lo, hi, extend[(below, above)]


def interface_stress_plot(path: Path, profile, stack_pressure_Pa: float, title: str = "") -> None:
    """Normal and shear traction along the interface [MPa] against x [µm]."""
    plt = pyplot()
    fig, ax = plt.subplots(figsize=(8, 4.5), constrained_layout=True)
    profile = profile.merged()  # one value per point: no zig-zag between the two facets' values
    x = profile.x_m * UM
    mean = profile.mean(profile.normal_stress_Pa)
    ax.plot(x, profile.normal_stress_Pa * MPA, "-", lw=1.2, label=r"normal $\sigma_n$ (compression < 0)")
    ax.plot(x, profile.shear_stress_Pa * MPA, "-", lw=0.8, alpha=0.7, label=r"shear $\tau$")
    ax.axhline(mean * MPA, color="k", ls="--", lw=0.8, label=f"mean $\\sigma_n$ = {mean * MPA:.3g} MPa")
    ax.axhline(-stack_pressure_Pa * MPA, color="tab:red", ls=":", lw=1.0,
               label=f"$-p$ (stack pressure {stack_pressure_Pa * MPA:.3g} MPa)")
    ax.set_xlabel("x along the window [µm]")
    ax.set_ylabel("traction on the interface [MPa]")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8, loc="best")
    if title:
        ax.set_title(plain_text(title))
    fig.savefig(path, dpi=150)
    plt.close(fig)


def contact_plot(path: Path, profile, stack_pressure_Pa: float, title: str = "") -> None:
    """Contact pressure [MPa] and gap [nm] along the interface against x [µm], contact zones shaded."""
    plt = pyplot()
    fig, (ax_p, ax_g) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, constrained_layout=True)
    x = profile.x_m * UM
    metrics = profile.metrics()
    ax_p.plot(x, profile.contact_pressure_Pa * MPA, ".", ms=2, label="contact pressure (Nitsche)")
    ax_p.axhline(stack_pressure_Pa * MPA, color="tab:red", ls=":", lw=1.0,
                 label=f"stack pressure {stack_pressure_Pa * MPA:.3g} MPa")
    ax_p.set_ylabel("contact pressure [MPa]")
    ax_p.set_title(f"contact fraction {metrics['contact_fraction']:.3f}", fontsize=10)
    if title:
        fig.suptitle(plain_text(title), fontsize=10)
    ax_p.legend(fontsize=8, loc="best")
    ax_g.plot(x, profile.gap_m * 1e9, ".", ms=2, color="tab:green")
    ax_g.axhline(0.0, color="k", lw=0.6)
    ax_g.set_ylabel("gap [nm] (> 0 open)")
    ax_g.set_xlabel("x along the window [µm]")
    for ax in (ax_p, ax_g):
        ax.grid(alpha=0.3)
    fig.savefig(path, dpi=150)
    plt.close(fig)


def current_plot(path: Path, profile, metrics: dict, title: str = "") -> None:
    """Local plating current density [mA/cm²] and electrolyte potential [mV] along the interface
    against x [µm]; separated facets (no current) marked."""
    plt = pyplot()
    fig, (ax_i, ax_phi) = plt.subplots(2, 1, figsize=(8, 6), sharex=True, constrained_layout=True)
    order = np.argsort(profile.x_m, kind="stable")
    x = profile.x_m[order] * UM
    i = profile.current_density_A_m2[order] * 0.1  # A/m² -> mA/cm²
    open_ = profile.active[order] == 0
    ax_i.plot(x, i, ".", ms=2, label="local current density (+ plating)")
    if open_.any():
        ax_i.plot(x[open_], i[open_], "x", ms=3, color="tab:red", label="separated: no current")
    applied = metrics["applied_current_density_A_m2"] * 0.1
    ax_i.axhline(applied, color="k", ls="--", lw=0.8, label=f"applied {applied:.3g} mA/cm²")
    ax_i.set_ylabel("current density [mA/cm²]")
    ax_i.set_title(f"CV {metrics['current_density_cv']:.3g}, max/mean "
                   f"{metrics['current_density_max_A_m2'] / metrics['current_density_mean_A_m2']:.3g}, "
                   f"window voltage {metrics['window_voltage_V'] * 1e3:.3g} mV", fontsize=10)
    ax_i.legend(fontsize=8, loc="best")
    ax_phi.plot(x, profile.potential_V[order] * 1e3, ".", ms=2, color="tab:purple")
    ax_phi.set_ylabel("electrolyte potential at the interface [mV]")
    ax_phi.set_xlabel("x along the window [µm]")
    for ax in (ax_i, ax_phi):
        ax.grid(alpha=0.3)
    if title:
        fig.suptitle(title, fontsize=10)
    fig.savefig(path, dpi=150)
    plt.close(fig)
