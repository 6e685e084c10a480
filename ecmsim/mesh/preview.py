"""A PNG of a mesh drawn over the image it came from (or alone): triangles coloured by region,
tagged facets in colour. For checking a segmentation by eye."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:   # for the annotation only: report draws its previews with this module
    from ecmsim.mesh.report import MeshArrays

#: Facet colours of the preview.
FACET_COLOURS = {"interface": "#e41a1c", "void": "#ffd92f", "island": "#e7298a"}
REGION_COLOURS = {"electrode": "#ff7f00", "electrolyte": "#377eb8", "fibre": "#4daf4a", "particle": "#984ea3",
                  "dead_li": "#a65628", "separator": "#f781bf"}


def preview_png(path: str | Path, mesh: MeshArrays, grey: np.ndarray | None = None, title: str = "",
                width_m: float | None = None, height_m: float | None = None) -> Path:
    """Write the preview; ``grey`` (row 0 at the top) fills the window [0, width] x [0, height]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.collections import LineCollection

    um = 1e6
    pts = mesh.points * um
    W = (width_m if width_m is not None else mesh.points[:, 0].max()) * um
    H = (height_m if height_m is not None else mesh.points[:, 1].max()) * um
    fig, ax = plt.subplots(figsize=(10, 10 * H / W + 1.0))
    if grey is not None:
        # 16 grey levels are plenty to judge a segmentation and keep the PNG small
        lo, hi = np.percentile(grey, [0.5, 99.5])
        shown = np.floor(np.clip((grey - lo) / max(hi - lo, 1e-12), 0, 0.999) * 16) / 15
        ax.imshow(shown, cmap="gray", vmin=0, vmax=1, extent=(0, W, 0, H), origin="upper",
                  interpolation="nearest")
    for ident, name in mesh.cell_names.items():
        tri = mesh.triangles[mesh.triangle_tags == ident]
        colour = REGION_COLOURS.get(name, "#999999")
        ax.triplot(pts[:, 0], pts[:, 1], tri, color=colour, lw=0.25, alpha=0.8)
    handles = []
    for ident, name in mesh.facet_names.items():
        if name not in FACET_COLOURS:
            continue
        seg = pts[mesh.facets[mesh.facet_tags == ident]]
        ax.add_collection(LineCollection(seg, colors=FACET_COLOURS[name], linewidths=1.2))
        handles.append(plt.Line2D([], [], color=FACET_COLOURS[name], lw=2, label=name))
    handles += [plt.Line2D([], [], color=REGION_COLOURS.get(n, "#999"), lw=1, label=f"{n} cells")
                for n in mesh.cell_names.values()]
    ax.legend(handles=handles, loc="upper right", fontsize=8, framealpha=0.8)
    ax.set_xlim(0, W)
    ax.set_ylim(0, H)
    ax.set_aspect("equal")
    ax.set_xlabel("x [µm]")
    ax.set_ylabel("y [µm]")
    from ecmsim.core.figures import plain_text
    ax.set_title(plain_text(title), fontsize=9)
    fig.tight_layout()
    path = Path(path)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return path
