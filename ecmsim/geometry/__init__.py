"""Geometry: labelled regions of an interface window, in metres.

A :class:`Geometry` is a rectangular window ``[0, width_m] x [0, height_m]`` filled by labelled
polygonal regions (``electrode``, ``electrolyte``, later ``fibre``). Whatever the window holds
that no region covers is void: its boundary becomes the ``void`` facets of the mesh. Regions
meet along shared polylines; :mod:`ecmsim.mesh` makes those curves shared in gmsh and tags them
(``interface`` between electrode and electrolyte). Generators and the image pipeline produce a
Geometry; nothing here depends on gmsh or dolfinx.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ecmsim.core.errors import GeometryError

#: Region labels the rest of ecmsim knows about (cell tag names of the mesh).
REGION_LABELS = ("electrode", "electrolyte", "fibre", "particle", "dead_li", "separator")


@dataclass
class Region:
    """One polygonal piece of a labelled region.

    Attributes:
        label: region name, one of :data:`REGION_LABELS`.
        outer: (N, 2) vertices of the outer boundary [m], not repeating the first vertex.
        holes: (M, 2) vertex arrays of boundaries of holes inside ``outer`` [m].
    """

    label: str
    outer: np.ndarray
    holes: list[np.ndarray] = field(default_factory=list)

    def __post_init__(self) -> None:
        if self.label not in REGION_LABELS:
            raise GeometryError(f"region label '{self.label}' not one of {', '.join(REGION_LABELS)}")
        self.outer = _as_loop(self.outer, f"{self.label} outer boundary")
        self.holes = [_as_loop(h, f"{self.label} hole") for h in self.holes]

    @property
    def area_m2(self) -> float:
        """Area of the piece (outer minus holes) [m^2]."""
        return abs(polygon_area(self.outer)) - sum(abs(polygon_area(h)) for h in self.holes)


@dataclass
class Geometry:
    """Labelled regions filling (part of) the window ``[0, width_m] x [0, height_m]``.

    Attributes:
        width_m, height_m: window size [m]; the electrolyte bottom is y = 0.
        regions: the polygonal pieces.
        description: what produced it (generator and parameters, image file...).
    """

    width_m: float
    height_m: float
    regions: list[Region]
    description: str = ""

    def __post_init__(self) -> None:
        if not (self.width_m > 0 and self.height_m > 0):
            raise GeometryError(f"window must have positive size (got {self.width_m} x {self.height_m} m)")
        tol = 1e-9 * max(self.width_m, self.height_m)
        for r in self.regions:
            for loop in (r.outer, *r.holes):
                if (loop[:, 0].min() < -tol or loop[:, 0].max() > self.width_m + tol
                        or loop[:, 1].min() < -tol or loop[:, 1].max() > self.height_m + tol):
                    raise GeometryError(f"a {r.label} region leaves the window "
                                        f"[0, {self.width_m:g}] x [0, {self.height_m:g}] m")

    def area_m2(self, label: str) -> float:
        """Total area of one label [m^2]."""
        return sum(r.area_m2 for r in self.regions if r.label == label)

    @property
    def void_area_m2(self) -> float:
        """Window area covered by no region [m^2]."""
        return self.width_m * self.height_m - sum(r.area_m2 for r in self.regions)

    def to_json(self, path: str | Path) -> None:
        """Save as JSON (metres)."""
        data = {"width_m": self.width_m, "height_m": self.height_m, "description": self.description,
                "regions": [{"label": r.label, "outer": r.outer.tolist(),
                             "holes": [h.tolist() for h in r.holes]} for r in self.regions]}
        Path(path).write_text(json.dumps(data))

    @classmethod
    def from_json(cls, path: str | Path) -> Geometry:
        """Read what :meth:`to_json` wrote."""
        data = json.loads(Path(path).read_text())
        regions = [Region(r["label"], np.array(r["outer"]), [np.array(h) for h in r["holes"]])
                   for r in data["regions"]]
        return cls(data["width_m"], data["height_m"], regions, data.get("description", ""))


def polygon_area(loop: np.ndarray) -> float:
    """Signed area of a closed polygon (shoelace), positive when counter-clockwise [m^2]."""
    x, y = loop[:, 0], loop[:, 1]
    return 0.5 * float(np.dot(x, np.roll(y, -1)) - np.dot(y, np.roll(x, -1)))


def _as_loop(points, what: str) -> np.ndarray:
    pts = np.asarray(points, dtype=float)
    if pts.ndim != 2 or pts.shape[1] != 2 or len(pts) < 3:
        raise GeometryError(f"{what}: need at least 3 points of (x, y), got shape {pts.shape}")
    if not np.all(np.isfinite(pts)):
        raise GeometryError(f"{what}: non-finite coordinates")
    if np.array_equal(pts[0], pts[-1]):  # exactly repeated only: np.allclose's 1e-8 is 10 nm here
        pts = pts[:-1]
    return pts
