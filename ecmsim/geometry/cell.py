"""Cross-section of the FBG cell normal to the fibre (architecture level D), meshed with gmsh.

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
``fibre_electrolyte``. Nothing here imports dolfinx at module level.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from pathlib import Path

from ecmsim.errors import GeometryError

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


def build_gmsh_cell(section: CellSection, size_m: float, fibre_size_m: float,
                    refine_distance_m: float | None = None, max_cells: int = 2_000_000) -> dict[str, dict[str, int]]:
    """Fill the current gmsh model with the tagged, meshed cross-section (2D, linear triangles).

    ``size_m``: element size far from the fibre; ``fibre_size_m``: on the fibre grooves and the
    interface next to them, growing to ``size_m`` over ``refine_distance_m`` (default 2 fibre
    diameters). Returns the physical groups ``{"cells": {...}, "facets": {...}}``.
    """
    import gmsh

    from ecmsim.errors import MeshError
    from ecmsim.mesh import CELL_IDS, FACET_IDS, generate_scaled

    u = 1e-6                                        # build in micrometres (OCC/geo tolerances are absolute)
    R = section.radius_m / u
    W = section.width_m / u
    te, tm, tc = (section.electrode_thickness_m / u, section.electrolyte_thickness_m / u,
                  section.counter_electrode_thickness_m / u)
    df, dm = section.fibre_depth_in_electrode_m / u, section.fibre_depth_in_electrolyte_m / u
    h0 = section.standoff_m / u
    yc = R - df
    ym = yc - h0
    af, am = (a / u for a in section.groove_half_widths_m)
    xs = max(af, am)
    fine, coarse = fibre_size_m / u, size_m / u
    dist = (refine_distance_m / u) if refine_distance_m else 4 * R
    estimate = 2.3 * (W * (te + tm + tc) / coarse ** 2 + (math.pi * R + 2 * dist) * dist / (fine * coarse)
                      + section.standoff_length_m / u * min(te, tm) / (5 * fine * coarse))
    if estimate > max_cells:
        raise MeshError(f"about {estimate:.3g} triangles (limit mesh.max_cells = {max_cells}): use a larger "
                        f"mesh.size_m or mesh.interface_size_m")

    geo = gmsh.model.geo
    same = 1e-9 * max(R, 1.0)
    pts: dict[tuple[float, float], int] = {}

    def point(x, y):
        for (px, py), tag in pts.items():
            if abs(px - x) < same and abs(py - y) < same:
                return tag
        tag = geo.addPoint(x, y, 0.0)
        pts[(x, y)] = tag
        return tag

    groups: dict[str, list[int]] = {}

    def line(a, b, group):
        tag = geo.addLine(point(*a), point(*b))
        groups.setdefault(group, []).append(tag)
        return tag

    def arc(a, centre, b, group):
        tag = geo.addCircleArc(point(*a), point(*centre), point(*b))
        groups.setdefault(group, []).append(tag)
        return tag

    # Foil, counter-clockwise from the bottom left corner. Curves shared with another surface
    # are created once and reused with the opposite orientation.
    interface = line((xs, 0.0), (W, 0.0), "interface")
    foil = [line((0.0, -te), (W, -te), "bottom"), line((W, -te), (W, 0.0), "right"), -interface]
    if af < xs - same:
        foil.append(line((xs, 0.0), (af, 0.0), "fibre_electrode"))
    av = 0.5 * section.void_width_m / u
    if av > 0:
        yv = yc - math.sqrt(R * R - av * av)
        foil.append(arc((af, 0.0), (0.0, yc), (av, yv), "fibre_electrode"))
        foil.append(line((av, yv), (0.0, yv), "fibre_electrode"))
        foil.append(line((0.0, yv), (0.0, -te), "left"))
    else:
        foil.append(arc((af, 0.0), (0.0, yc), (0.0, -df), "fibre_electrode"))
        foil.append(line((0.0, -df), (0.0, -te), "left"))
    # Membrane (mesh coordinates shifted down by h0).
    top_group = "counter_electrolyte" if tc > 0 else "top"
    membrane_top = line((W, tm), (0.0, tm), top_group)
    membrane = [interface, line((W, 0.0), (W, tm), "right"), membrane_top, line((0.0, tm), (0.0, ym + R), "left")]
    membrane.append(arc((0.0, ym + R), (0.0, ym), (am, 0.0), "fibre_electrolyte"))
    if am < xs - same:
        membrane.append(line((am, 0.0), (xs, 0.0), "fibre_electrolyte"))
    surfaces = {"electrode": [geo.addPlaneSurface([geo.addCurveLoop(foil)])],
                "electrolyte": [geo.addPlaneSurface([geo.addCurveLoop(membrane)])]}
    if tc > 0:
        counter = [-membrane_top, line((W, tm), (W, tm + tc), "right"), line((W, tm + tc), (0.0, tm + tc), "top"),
                   line((0.0, tm + tc), (0.0, tm), "left")]
        surfaces["counter"] = [geo.addPlaneSurface([geo.addCurveLoop(counter)])]
    geo.synchronize()

    cell_ids, facet_ids = {}, {}
    spare = 100
    for name, tags in surfaces.items():
        ident = CELL_IDS.get(name, spare)
        spare += name not in CELL_IDS
        gmsh.model.addPhysicalGroup(2, tags, ident, name)
        cell_ids[name] = ident
    for name, tags in sorted(groups.items()):
        ident = FACET_IDS.get(name, spare)
        spare += name not in FACET_IDS
        gmsh.model.addPhysicalGroup(1, tags, ident, name)
        facet_ids[name] = ident

    field = gmsh.model.mesh.field
    d = field.add("Distance")
    field.setNumbers(d, "CurvesList", groups["fibre_electrode"] + groups["fibre_electrolyte"])
    field.setNumber(d, "Sampling", 400)
    thr = field.add("Threshold")
    field.setNumber(thr, "InField", d)
    field.setNumber(thr, "SizeMin", fine)
    field.setNumber(thr, "SizeMax", coarse)
    field.setNumber(thr, "DistMin", 0.0)
    field.setNumber(thr, "DistMax", dist)
    background = thr
    if section.standoff_length_m > 0:
        # where the draped membrane lands on the foil, the contact front moves with the load:
        # elements of 5 fibre-sizes along the interface there (a coarse front makes Newton chatter)
        box = field.add("Box")
        field.setNumber(box, "VIn", min(coarse, 5 * fine))
        field.setNumber(box, "VOut", coarse)
        field.setNumber(box, "XMin", 0.0)
        field.setNumber(box, "XMax", xs + section.standoff_length_m / u + 5 * fine)
        field.setNumber(box, "YMin", -5 * fine)
        field.setNumber(box, "YMax", 5 * fine)
        field.setNumber(box, "Thickness", min(te, tm) / 2)
        background = field.add("Min")
        field.setNumbers(background, "FieldsList", [thr, box])
    field.setAsBackgroundMesh(background)
    gmsh.option.setNumber("Mesh.MeshSizeFromPoints", 0)
    gmsh.option.setNumber("Mesh.MeshSizeFromCurvature", 0)
    gmsh.option.setNumber("Mesh.MeshSizeExtendFromBoundary", 0)
    gmsh.option.setNumber("Mesh.MeshSizeMax", coarse)
    gmsh.option.setNumber("Mesh.Algorithm", 6)
    generate_scaled(2, u, "the FBG cell cross-section")
    return {"cells": cell_ids, "facets": facet_ids}


def mesh_cell(section: CellSection, size_m: float, fibre_size_m: float, refine_distance_m: float | None = None,
              max_cells: int = 2_000_000, comm=None, msh_path: str | Path | None = None):
    """Mesh the cross-section on rank 0 and distribute it: (TaggedMesh, CellLayout)."""
    from ecmsim.errors import MeshError
    from ecmsim.fem import MPI
    from ecmsim.mesh import _nothing, _to_dolfinx, gmsh_model

    comm = comm or MPI.COMM_WORLD
    error = None
    with gmsh_model("fbg_cell") if comm.rank == 0 else _nothing() as model:
        if comm.rank == 0:
            try:
                build_gmsh_cell(section, size_m, fibre_size_m, refine_distance_m, max_cells)
                if msh_path is not None:
                    import gmsh
                    gmsh.write(str(msh_path))
            except MeshError as err:
                error = str(err)
        error = comm.bcast(error, root=0)
        if error:
            raise MeshError(error)
        return _to_dolfinx(model if comm.rank == 0 else None, comm), layout(section)


__all__ = ["CellSection", "CellLayout", "LOCAL_STATE_KEYS", "layout", "build_gmsh_cell", "mesh_cell"]


# ---- scenario schema: [geometry] kind = "fbg_cell" -------------------------------------------------

from typing import Literal  # noqa: E402

from pydantic import BaseModel, ConfigDict, Field, model_validator  # noqa: E402

_Len = dict(gt=0, lt=1.0, allow_inf_nan=False)


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


class LocalState(_Strict):
    """A local interface state over a stretch of the grating (z from the grating's start)."""

    z_from_m: float = Field(ge=0, lt=1.0, allow_inf_nan=False, description="start of the stretch along the grating [m]")
    z_to_m: float = Field(gt=0, lt=1.0, allow_inf_nan=False, description="end of the stretch along the grating [m]")
    fibre_depth_in_electrode_m: float | None = Field(None, **_Len, description="local groove depth in the foil [m]")
    fibre_depth_in_electrolyte_m: float | None = Field(None, **_Len,
                                                       description="local groove depth in the membrane [m]")
    electrode_thickness_m: float | None = Field(None, **_Len, description="local foil thickness [m]")
    void_width_m: float | None = Field(None, ge=0, lt=1.0, allow_inf_nan=False,
                                       description="local void under the fibre [m]")
    standoff_length_m: float | None = Field(None, ge=0, lt=1.0, allow_inf_nan=False,
                                            description="local length over which the membrane lands [m]")

    @model_validator(mode="after")
    def _ordered(self) -> LocalState:
        if not self.z_to_m > self.z_from_m:
            raise ValueError(f"geometry.states: z_to_m = {self.z_to_m:g} must be > z_from_m = {self.z_from_m:g} [m]")
        return self

    def overrides(self) -> dict[str, float]:
        return {k: getattr(self, k) for k in LOCAL_STATE_KEYS if getattr(self, k) is not None}


class FbgCellGeometry(_Strict):
    """Cross-section of the FBG cell normal to the fibre (docs/fbg_cell.md)."""

    kind: Literal["fbg_cell"] = "fbg_cell"
    fibre_diameter_m: float = Field(125e-6, **_Len, description="fibre (cladding) diameter D [m]")
    electrode_thickness_m: float = Field(**_Len, description="bottom electrode foil thickness [m]")
    electrolyte_thickness_m: float = Field(**_Len, description="electrolyte membrane thickness [m]")
    counter_electrode_thickness_m: float = Field(100e-6, ge=0, lt=1.0, allow_inf_nan=False,
                                                 description="top electrode, bonded to the membrane [m] (0: none)")
    width_m: float = Field(**_Len, description="modelled half width from the fibre axis (symmetry plane) [m]")
    fibre_depth_in_electrode_m: float = Field(**_Len, description="embedded state: groove depth of the fibre in "
                                                                  "the foil, at most the fibre radius [m]")
    fibre_depth_in_electrolyte_m: float = Field(**_Len, description="embedded state: groove depth of the fibre in "
                                                                    "the membrane, at most the fibre radius [m]")
    void_width_m: float = Field(0.0, ge=0, lt=1.0, allow_inf_nan=False,
                                description="void under the fibre at the bottom of the foil groove [m] (0: none)")
    standoff_length_m: float = Field(0.0, ge=0, lt=1.0, allow_inf_nan=False,
                                     description="embedded state: the draped membrane lands on the foil this far "
                                                 "from the groove edge [m] (0: standoff over the whole width)")
    fibre_axial_strain: Literal["fixed", "free"] = Field(
        "fixed", description="fibre epoxied at both ends: fixed (eps_zz = 0 in the loaded length) or free "
                             "(sigma_zz = 0)")
    sides: Literal["free", "roller"] = Field("free", description="lateral edge of the layers at width_m")
    states: list[LocalState] = Field(default_factory=list,
                                     description="local interface states along the grating (several peaks)")

    @model_validator(mode="after")
    def _consistent(self) -> FbgCellGeometry:
        from ecmsim.errors import GeometryError
        try:
            base = self.section()
            for s in self.states:
                base.with_state(**s.overrides())
        except GeometryError as err:
            raise ValueError(str(err)) from None
        return self

    def section(self) -> CellSection:
        """The base :class:`CellSection`."""
        return CellSection(self.fibre_diameter_m, self.electrode_thickness_m, self.electrolyte_thickness_m,
                           self.counter_electrode_thickness_m, self.width_m, self.fibre_depth_in_electrode_m,
                           self.fibre_depth_in_electrolyte_m, self.void_width_m, self.standoff_length_m)

    def build(self, base_dir: Path) -> CellSection:
        return self.section()

    def smallest_dimension_m(self) -> float:
        return min(self.electrode_thickness_m, self.electrolyte_thickness_m)
