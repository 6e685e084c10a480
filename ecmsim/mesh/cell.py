"""The fibre cell's cross-section (:mod:`ecmsim.geometry.cell`) meshed with gmsh: tagged
triangles, fine on the fibre grooves, read into dolfinx on every rank."""

from __future__ import annotations

import math
from pathlib import Path

from ecmsim.geometry.cell import CellSection, layout


def build_gmsh_cell(section: CellSection, size_m: float, fibre_size_m: float,
                    refine_distance_m: float | None = None, max_cells: int = 2_000_000) -> dict[str, dict[str, int]]:
    """Fill the current gmsh model with the tagged, meshed cross-section (2D, linear triangles).

    ``size_m``: element size far from the fibre; ``fibre_size_m``: on the fibre grooves and the
    interface next to them, growing to ``size_m`` over ``refine_distance_m`` (default 2 fibre
    diameters). Returns the physical groups ``{"cells": {...}, "facets": {...}}``.
    """
    import gmsh

    from ecmsim.core.errors import MeshError
    from ecmsim.mesh.session import generate_scaled
    from ecmsim.mesh.tags import CELL_IDS, FACET_IDS

    u = 1e-6                                        # build in micrometres (OCC/geo tolerances are absolute)
    R = section.radius_m / u
    W = section.width_m / u
    te, tm, tc = (section.electrode_thickness_m / u, section.electrolyte_thickness_m / u,
                  section.counter_electrode_thickness_m / u)
    df = section.fibre_depth_in_electrode_m / u
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
    from ecmsim.core.fem import MPI
    from ecmsim.mesh.session import _nothing, gmsh_model, on_rank0
    from ecmsim.mesh.tagged import _to_dolfinx

    comm = comm or MPI.COMM_WORLD

    def build() -> None:
        build_gmsh_cell(section, size_m, fibre_size_m, refine_distance_m, max_cells)
        if msh_path is not None:
            import gmsh
            gmsh.write(str(msh_path))

    with gmsh_model("fbg_cell") if comm.rank == 0 else _nothing() as model:
        on_rank0(comm, build)
        return _to_dolfinx(model if comm.rank == 0 else None, comm), layout(section)


__all__ = ["build_gmsh_cell", "mesh_cell"]
