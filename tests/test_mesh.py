"""Geometry -> gmsh -> dolfinx: named tags, areas, refinement, .msh round trip, mesh errors."""

from __future__ import annotations

import numpy as np
import pytest

from ecmsim.core.errors import GeometryError, MeshError
from ecmsim.core.fem import MPI, fem, ufl
from ecmsim.geometry import Geometry, Region, generators, polygon_area
from ecmsim.mesh import CELL_IDS, FACET_IDS, MeshOptions, mesh_geometry, read_msh

W, HE, HL = 40e-6, 20e-6, 20e-6


def _area(tm, name):
    dx = ufl.Measure("dx", domain=tm.mesh, subdomain_data=tm.cell_tags)
    one = fem.Constant(tm.mesh, 1.0)
    return tm.comm.allreduce(fem.assemble_scalar(fem.form(one * dx(tm.cell_ids[name]))), op=MPI.SUM)


def _length(tm, name):
    ds = ufl.Measure("dS", domain=tm.mesh, subdomain_data=tm.facet_tags)
    one = fem.Constant(tm.mesh, 1.0)
    return tm.comm.allreduce(fem.assemble_scalar(fem.form(one("+") * ds(tm.facet_ids[name]))), op=MPI.SUM)


def test_sinusoidal_tags_areas_and_interface_length():
    amp, lam = 2e-6, 20e-6
    geo = generators.sinusoidal(W, HL, HE, amp, lam)
    tm = mesh_geometry(geo, MeshOptions(size_m=2e-6, interface_size_m=0.5e-6))
    assert tm.cell_ids == {"electrode": CELL_IDS["electrode"], "electrolyte": CELL_IDS["electrolyte"]}
    assert tm.facet_ids == {k: FACET_IDS[k] for k in ("top", "bottom", "left", "right", "interface")}
    # a whole number of periods: the sine adds no net area to either layer
    assert _area(tm, "electrolyte") == pytest.approx(W * HE, rel=1e-12, abs=0)
    assert _area(tm, "electrode") == pytest.approx(W * HL, rel=1e-12, abs=0)
    # arc length of the polyline equals the arc length of the sine to its chordal accuracy
    x = np.linspace(0, W, 200001)
    exact = np.trapezoid(np.sqrt(1 + (amp * 2 * np.pi / lam * np.cos(2 * np.pi * x / lam)) ** 2), x)
    assert _length(tm, "interface") == pytest.approx(exact, rel=2e-3, abs=0)
    stats = tm.stats()
    assert stats["h_min_m"] < 0.6e-6 < 1.5e-6 < stats["h_max_m"]  # refined at the interface only


def test_void_facets_and_msh_round_trip(tmp_path):
    # an electrode with a closed pore: its rim becomes 'void' facets
    t = np.linspace(0, 2 * np.pi, 48, endpoint=False)
    pore = np.column_stack([W / 2 + 3e-6 * np.cos(t), HE + HL / 2 + 3e-6 * np.sin(t)])
    geo = generators.flat(W, HL, HE)
    geo.regions[1] = Region("electrode", geo.regions[1].outer, [pore])
    path = tmp_path / "pore.msh"
    tm = mesh_geometry(geo, MeshOptions(size_m=2e-6, interface_size_m=0.5e-6), msh_path=path)
    assert "void" in tm.facet_ids
    assert _area(tm, "electrode") == pytest.approx(W * HL - abs(polygon_area(pore)), rel=1e-10, abs=0)
    back = read_msh(path)
    assert back.cell_ids == tm.cell_ids and back.facet_ids == tm.facet_ids
    assert back.num_cells_global() == tm.num_cells_global()


def test_overlapping_regions_are_refused():
    square = np.array([[0, 0], [W, 0], [W, HE], [0, HE]])
    geo = Geometry(W, HE, [Region("electrode", square), Region("electrolyte", square * 0.5)])
    with pytest.raises(MeshError, match="overlap"):
        mesh_geometry(geo, MeshOptions(size_m=4e-6))


def test_unreadable_msh_and_missing_tag(tmp_path):
    bad = tmp_path / "bad.msh"
    bad.write_text("this is not a mesh")
    with pytest.raises(MeshError, match="bad.msh"):
        read_msh(bad)
    with pytest.raises(MeshError, match="not found"):
        read_msh(tmp_path / "missing.msh")
    tm = mesh_geometry(generators.flat(W, HL, HE), MeshOptions(size_m=5e-6))
    with pytest.raises(MeshError, match="no facet tag 'void'"):
        tm.facets("void")


def test_geometry_validation():
    with pytest.raises(GeometryError, match="strictly inside"):
        generators.sinusoidal(W, 2e-6, 2e-6, 3e-6, 10e-6)
    with pytest.raises(GeometryError, match="leaves the window"):
        Geometry(W, HE, [Region("electrode", np.array([[0, 0], [2 * W, 0], [0, HE]]))])
    with pytest.raises(GeometryError, match="label"):
        Region("anode", np.array([[0, 0], [1, 0], [0, 1]]))


def test_geometry_json_round_trip(tmp_path):
    geo = generators.sinusoidal(W, HL, HE, 1e-6, 10e-6)
    geo.to_json(tmp_path / "g.json")
    back = Geometry.from_json(tmp_path / "g.json")
    assert (back.width_m, back.height_m, back.description) == (geo.width_m, geo.height_m, geo.description)
    assert [r.label for r in back.regions] == [r.label for r in geo.regions]
    for a, b in zip(back.regions, geo.regions, strict=True):
        assert np.array_equal(a.outer, b.outer)


def test_cost_estimate_counts_the_particles_boundaries():
    """The estimate before meshing (progress and cost lines) refines along every inner boundary:
    286 small particles in an electrolyte are 11 window widths of boundary; the estimate is 3.0
    times gmsh's count (an upper-side guess: the refined bands around neighbouring particles
    overlap), and the window width alone (the estimate before) gave a third of it."""
    import gmsh

    from ecmsim.mesh import build_gmsh_model, estimated_cells, gmsh_model
    from ecmsim.mesh.options import _estimate_cells, inner_boundary_length

    w, h, a = 40e-6, 20e-6, 0.4e-6
    squares = [np.array([[x, y], [x + a, y], [x + a, y + a], [x, y + a]])
               for x in np.arange(1e-6, 39e-6, 1.5e-6) for y in np.arange(2e-6, 18e-6, 1.5e-6)]
    outer = np.array([[0, 0], [w, 0], [w, h], [0, h]])
    geometry = Geometry(w, h, [Region("electrolyte", outer, squares)] + [Region("particle", s) for s in squares])
    assert inner_boundary_length(geometry) == pytest.approx(len(squares) * 4 * a, rel=1e-9, abs=0)
    options = MeshOptions(2e-6, 0.2e-6)
    with gmsh_model():
        build_gmsh_model(geometry, options)
        cells = sum(len(t) for t in gmsh.model.mesh.getElements(2)[1])
    assert 1.0 <= estimated_cells(geometry, options) / cells <= 3.5, (estimated_cells(geometry, options), cells)
    assert _estimate_cells(geometry, options, w) / cells < 0.4, (_estimate_cells(geometry, options, w), cells)
