"""Cross-section of the FBG cell normal to the fibre (architecture level D): its parts in metres
(meshed by :mod:`ecmsim.mesh.cell`).

The reference cell (a 14 mm Swagelok cell): the bottom electrode foil lies on the bottom
plunger, the 125 um silica fibre lies across it at the electrode/electrolyte interface, the
electrolyte membrane and the counter electrode go on top, and the top plunger presses. The
cross-section normal to the fibre is modelled over half its width (the plane x = 0 through the
fibre axis is a plane of symmetry), in plane strain, mm scale::

      y
      ^   counter electrode (region "counter", same material as the electrode), pressure on "top"
      |   ------------------------------------------------------------------- t_m + t_c
      |   electrolyte membrane (region "electrolyte")
      |   --.                                                                  t_m ... 0
      |  (fibre) hole  <- membrane groove, depth d_m (facets "fibre_electrolyte")
      |   --'  ======= "interface" (split, contact, initial gap h0) ==========  y = 0
      |   electrode foil (region "electrode"), groove depth d_f ("fibre_electrode")
      |   -------------------------------------------------------------------  y = -t_e
      |   "bottom": on the bottom plunger (fixed)
      +----------------------------------------------------------------------> x (0: symmetry, "left"; W: "right")

**Embedded state.** The fibre (radius R) is not meshed. Assembly at 60 C lets Li and the
polymer flow around it: the fibre sits in a groove of depth ``d_f`` in the foil and of depth
``d_m`` in the membrane, both grooves conformal to the fibre (circular arcs of radius R). The
fibre axis is at y_c = R - d_f above the flat foil surface. If d_f + d_m < D = 2R, the membrane
is held off the foil by the *standoff* h0 = D - d_f - d_m next to the fibre: far from the
fibre it closes that gap by bending, and the fibre carries the load of the strip where it does
not. With d_f = d_m = R the fibre is fully embedded (h0 = 0).

**Mesh coordinates.** The membrane and counter electrode are meshed shifted down by h0, so that
foil and membrane share the flat line y = 0 (a split interface whose initial gap is h0); their
groove arcs are the fibre circle seen from each body: centre (0, y_c) from the foil,
(0, y_c - h0) from the membrane. :class:`CellLayout` carries both centres for the contact solve.

**Local interface state** (what differs between sections along the grating): the depths, the
foil thickness and an optional void under the fibre (``void_width_m``: the bottom of the foil
groove replaced by a flat chord of that width, so the foil does not touch the fibre there).

Tags: cells ``electrode``, ``electrolyte``, ``counter``; facets ``bottom``, ``top``, ``left``,
``right``, ``interface``, ``counter_electrolyte`` (bonded), ``fibre_electrode``,
``fibre_electrolyte``. Nothing here imports dolfinx or gmsh.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace

from ecmsim.core.errors import GeometryError

#: Keys of :class:`CellSection` that may differ between sections along the grating.
LOCAL_STATE_KEYS = ("fibre_depth_in_electrode_m", "fibre_depth_in_electrolyte_m", "electrode_thickness_m",
                    "void_width_m", "standoff_length_m")


@dataclass(frozen=True)
class CellSection:
    """One cross-section of the cell normal to the fibre, in metres.

    Attributes:
        fibre_diameter_m: cladding diameter D [m] (125 um in the reference cells).
        electrode_thickness_m: bottom electrode foil t_e [m] (Li foil 100 um).
        electrolyte_thickness_m: membrane t_m [m].
        counter_electrode_thickness_m: top electrode t_c [m], bonded to the membrane; 0: none.
        width_m: modelled half width W from the fibre axis [m] (electrode radius 6 mm at most).
        fibre_depth_in_electrode_m: groove depth d_f of the fibre in the foil [m], (0, R].
        fibre_depth_in_electrolyte_m: groove depth d_m of the fibre in the membrane [m], (0, R].
        void_width_m: width of a void under the fibre at the bottom of the foil groove [m]
            (0: none); must be narrower than the groove.
        standoff_length_m: the membrane, draped over the fibre at assembly, lands on the foil
            this far from the edge of the grooves [m]: the initial gap between foil and membrane
            is h0 (1 - 3 s^2 + 2 s^3), s = (x - x_groove) / standoff_length_m, 0 beyond (the shape
            of a plate draped over a step, zero slope at both ends); 0: the gap is h0 everywhere.
    """

    fibre_diameter_m: float = 125e-6
    electrode_thickness_m: float = 100e-6
    electrolyte_thickness_m: float = 100e-6
    counter_electrode_thickness_m: float = 100e-6
    width_m: float = 3e-3
    fibre_depth_in_electrode_m: float = 30e-6
    fibre_depth_in_electrolyte_m: float = 30e-6
    void_width_m: float = 0.0
    standoff_length_m: float = 0.0

    def __post_init__(self) -> None:
        R = self.radius_m
        for name in ("fibre_diameter_m", "electrode_thickness_m", "electrolyte_thickness_m", "width_m",
                     "fibre_depth_in_electrode_m", "fibre_depth_in_electrolyte_m"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v > 0):
                raise GeometryError(f"geometry.{name} = {v!r}: must be a finite number > 0 [m]")
        for name in ("counter_electrode_thickness_m", "void_width_m", "standoff_length_m"):
            v = getattr(self, name)
            if not (isinstance(v, (int, float)) and math.isfinite(v) and v >= 0):
                raise GeometryError(f"geometry.{name} = {v!r}: must be a finite number >= 0 [m]")
        for name in ("fibre_depth_in_electrode_m", "fibre_depth_in_electrolyte_m"):
            if getattr(self, name) > R * (1 + 1e-12):
                raise GeometryError(f"geometry.{name} = {getattr(self, name):g}: must be <= the fibre radius "
                                    f"({R:g} m): a deeper groove would overhang the fibre [m]")
        if self.fibre_depth_in_electrode_m >= self.electrode_thickness_m:
            raise GeometryError(f"geometry.fibre_depth_in_electrode_m = {self.fibre_depth_in_electrode_m:g}: must be "
                                f"< electrode_thickness_m ({self.electrode_thickness_m:g} m) [m]")
        if self.fibre_depth_in_electrolyte_m >= self.electrolyte_thickness_m:
            raise GeometryError(f"geometry.fibre_depth_in_electrolyte_m = {self.fibre_depth_in_electrolyte_m:g}: "
                                f"must be < electrolyte_thickness_m ({self.electrolyte_thickness_m:g} m) [m]")
        if self.width_m < 4 * R:
            raise GeometryError(f"geometry.width_m = {self.width_m:g}: must be >= two fibre diameters "
                                f"({4 * R:g} m) [m]")
        if self.standoff_length_m > 0 and max(self.groove_half_widths_m) + self.standoff_length_m > self.width_m:
            raise GeometryError(f"geometry.standoff_length_m = {self.standoff_length_m:g}: the draped membrane must "
                                f"land inside width_m ({self.width_m:g} m) [m]")
        if self.void_width_m > 0 and self.void_width_m / 2 >= 0.9 * self.groove_half_widths_m[0]:
            raise GeometryError(f"geometry.void_width_m = {self.void_width_m:g}: must be < 90 % of the foil groove "
                                f"width ({1.8 * self.groove_half_widths_m[0]:g} m) [m]")

    @property
    def radius_m(self) -> float:
        return 0.5 * self.fibre_diameter_m

    @property
    def standoff_m(self) -> float:
        """h0 = D - d_f - d_m: gap between the flat foil and the flat membrane next to the fibre [m]."""
        return max(self.fibre_diameter_m - self.fibre_depth_in_electrode_m - self.fibre_depth_in_electrolyte_m, 0.0)

    @property
    def groove_half_widths_m(self) -> tuple[float, float]:
        """Half widths (a_f, a_m) of the foil and membrane grooves at y = 0 [m]."""
        R = self.radius_m
        yc = R - self.fibre_depth_in_electrode_m
        ym = yc - self.standoff_m
        return math.sqrt(max(R * R - yc * yc, 0.0)), math.sqrt(max(R * R - ym * ym, 0.0))

    def initial_gap_m(self, x):
        """Initial gap between the flat foil and the membrane at x (mesh x, metres) [m]."""
        import numpy as np
        h0 = self.standoff_m
        if self.standoff_length_m == 0:
            return np.full(np.shape(x), h0)
        s = np.clip((np.asarray(x) - max(self.groove_half_widths_m)) / self.standoff_length_m, 0.0, 1.0)
        return h0 * (1 - 3 * s * s + 2 * s ** 3)

    def with_state(self, **state) -> CellSection:
        """The same cell with other local-state keys (:data:`LOCAL_STATE_KEYS`)."""
        bad = sorted(set(state) - set(LOCAL_STATE_KEYS))
        if bad:
            raise GeometryError(f"'{bad[0]}' is not a local-state key (allowed: {', '.join(LOCAL_STATE_KEYS)})")
        return replace(self, **state)

    def as_dict(self) -> dict[str, float]:
        return asdict(self)


@dataclass(frozen=True)
class CellLayout:
    """Where the fibre is, as the contact solve sees it (mesh coordinates, metres).

    Attributes:
        section: the cross-section.
        fibre_centre_electrode_m: centre of the fibre circle seen from the foil.
        fibre_centre_electrolyte_m: centre seen from the (shifted) membrane mesh.
    """

    section: CellSection
    fibre_centre_electrode_m: tuple[float, float]
    fibre_centre_electrolyte_m: tuple[float, float]


def layout(section: CellSection) -> CellLayout:
    """The fibre centres of :func:`build_gmsh_cell` for ``section``."""
    yc = section.radius_m - section.fibre_depth_in_electrode_m
    return CellLayout(section, (0.0, yc), (0.0, yc - section.standoff_m))


__all__ = ["CellSection", "CellLayout", "LOCAL_STATE_KEYS", "layout"]
