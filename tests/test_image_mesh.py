"""Meshes made from images: what the mesh measures agrees with the image, and it solves.

Tolerances, and why:
- Void area: contours are simplified with their enclosed area restored, so the mesh keeps the
  area of the pixel-edge-midpoint polygons; those differ from pixel counts by corner cutting,
  1/8 px^2 per net quarter turn: 1/2 px^2 per closed loop, and at most that per chain between
  junctions. Allowed: 1 px^2 per void plus 1 px^2 per junction-to-junction piece (<= 4 per void).
- Boundary lengths: the image's own estimate is Cauchy-Crofton over 8 directions (error below
  1.5 % for straight edges, tested in test_image_pipeline); the contours follow the pixel
  boundary within the 1 px tolerance, which removes pixel-scale zigzags that Crofton also
  averages out. Allowed: 3 % (twice Crofton's worst case), checked also against the exact
  length of the analytic scene.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from geometry_helpers import MESHES, report_of

from ecmsim.geometry import generators as gen
from ecmsim.geometry import image as img
from ecmsim.geometry import synthetic as syn
from ecmsim.mesh import MeshOptions
from ecmsim.mesh.partition import _conforming_partition
from ecmsim.mesh.report import triangle_quality

PX = 50e-9


def _analytic_scene():
    """Sinusoidal interface, two closed elliptical voids in the electrode, 400 x 200 px."""
    amp, wavelength, mid = 12.0, 200.0, 100.0
    rows = mid + amp * np.sin(2 * np.pi * (np.arange(400) + 0.5) / wavelength)
    scene = syn.Scene(200, 400, rows, closed_voids=[(100, 40, 20, 10, 0.0), (300, 50, 14, 14, 0.0)])
    x = np.linspace(0, 400, 40001)
    y = amp * np.sin(2 * np.pi * x / wavelength)
    interface_px = float(np.sum(np.hypot(np.diff(x), np.diff(y))))
    a, b = 20.0, 10.0
    h = ((a - b) / (a + b)) ** 2
    perimeter_px = math.pi * (a + b) * (1 + 3 * h / (10 + math.sqrt(4 - 3 * h))) + 2 * math.pi * 14  # Ramanujan
    void_area_px = math.pi * (20 * 10 + 14 * 14)
    return scene, interface_px, perimeter_px, void_area_px


def test_mesh_void_fraction_and_lengths_match_the_image_and_the_truth():
    scene, interface_px, perimeter_px, void_area_px = _analytic_scene()
    labels = scene.labels()
    res = img.array_to_geometry(syn.render(labels, syn.CLEAN), img.ImageOptions(pixel_size_m=PX))
    pixels = res.info["pixels"]
    report, _ = report_of(res.geometry, MeshOptions(20 * PX, 3 * PX))
    window_px = 400 * 200
    # void area: mesh vs pixel count (see module docstring), pixel count vs the ellipses
    pieces = 2
    assert abs(report["void_area_fraction"] - pixels["void_area_fraction"]) * window_px <= 2 * pieces
    assert abs(pixels["void_area_fraction"] * window_px - void_area_px) < 0.5 * perimeter_px
    # lengths: mesh vs Crofton, both vs the analytic curves
    assert report["interface_length_m"] == pytest.approx(pixels["interface_length_m"], rel=0.03, abs=0)
    assert report["interface_length_m"] == pytest.approx(interface_px * PX, rel=0.02, abs=0)
    assert report["void_boundary_length_m"] == pytest.approx(pixels["void_boundary_length_m"], rel=0.03, abs=0)
    assert report["void_boundary_length_m"] == pytest.approx(perimeter_px * PX, rel=0.03, abs=0)
    assert report["interface_contact_fraction_geometric"] == 1.0  # closed voids inside the Li take no contact


def test_example_meshes_match_their_images():
    """The committed example: interfacial and closed voids, filaments, islands, border voids."""
    name = "li_pll_cycled"
    options = img.options_with_sidecar(MESHES / f"{name}.png", window_width_m=40e-6)
    res = img.image_to_geometry(MESHES / f"{name}.png", options)
    pixels = res.info["pixels"]
    report, arrays = report_of(res.geometry, MeshOptions(20 * PX, 4 * PX))
    window_px = res.labels.size
    part = _conforming_partition(res.geometry)
    junction_pieces = sum(1 for n in part.names if n == "void")  # an upper bound on chains
    assert abs(report["void_area_fraction"] - pixels["void_area_fraction"]) * window_px <= \
        report["void_count"] + min(junction_pieces, 4 * report["void_count"])
    total = report["interface_length_m"] + report["island_length_m"]
    assert total == pytest.approx(pixels["interface_length_m"] + pixels["island_length_m"], rel=0.03, abs=0)
    assert report["island_length_m"] == pytest.approx(pixels["island_length_m"], rel=0.05, abs=0)  # two small islands
    assert report["void_boundary_length_m"] == pytest.approx(pixels["void_boundary_length_m"], rel=0.03, abs=0)
    assert {"interface", "void", "island", "top", "bottom", "left", "right"} <= set(report["facet_length_m"])
    # voids: 7 interfacial (two cut by the window sides) + 4 closed in the Li (one cut by the left side)
    assert report["void_count"] == 11
    assert 0.6 < report["interface_contact_fraction_geometric"] < 0.85
    assert report["min_angle_deg"] > 15


def test_noisy_example_and_its_labels_mesh_alike():
    """Grey image with artefacts vs the true label image of the same example."""
    name = "li_pll_cycled"
    grey = img.image_to_geometry(MESHES / f"{name}.png",
                                 img.options_with_sidecar(MESHES / f"{name}.png", window_width_m=40e-6))
    truth = img.image_to_geometry(MESHES / f"{name}_labels.png", img.ImageOptions(
        pixel_size_m=PX, window_width_m=40e-6, label_values={"void": 0, "electrode": 1, "electrolyte": 2}))
    options = MeshOptions(20 * PX, 4 * PX)
    r_grey, _ = report_of(grey.geometry, options)
    r_true, _ = report_of(truth.geometry, options)
    assert sorted(r.label for r in grey.geometry.regions) == sorted(r.label for r in truth.geometry.regions)
    assert r_grey["void_count"] == r_true["void_count"]
    window = truth.geometry.width_m * truth.geometry.height_m
    tolerance = 0.5 * PX * r_true["void_boundary_length_m"] / window  # half a pixel along every void edge
    assert abs(r_grey["void_area_fraction"] - r_true["void_area_fraction"]) < tolerance
    assert r_grey["interface_contact_fraction_geometric"] == pytest.approx(r_true["interface_contact_fraction_geometric"], abs=0.03)


@pytest.fixture(params=["occ", "geo"])
def route(request, monkeypatch):
    """Run a test with each gmsh route (the built-in one normally needs 1000+ vertices)."""
    from ecmsim.mesh import build

    monkeypatch.setattr(build, "GEO_ROUTE_MIN_VERTICES", 10**9 if request.param == "occ" else 0)
    return request.param


def test_void_tips_are_refined(route):
    g = gen.voids(40e-6, 20e-6, 20e-6, 0.3, 4e-6, seed=1)
    coarse_tips, arrays_coarse = report_of(g, MeshOptions(1e-6, 0.2e-6, tip_size_m=0.2e-6))
    fine_tips, arrays_fine = report_of(g, MeshOptions(1e-6, 0.2e-6, tip_size_m=0.04e-6))
    part = _conforming_partition(g)
    void = np.unique(part.edges[[n == "void" for n in part.names]])
    contact = np.unique(part.edges[[n == "interface" for n in part.names]])
    tips = part.points[np.intersect1d(void, contact)]
    assert len(tips) == 2 * 3   # both ends of every void

    def size_near_tips(arrays):
        centres = arrays.points[arrays.triangles].mean(axis=1)
        d = np.min(np.hypot(*(centres[:, None, :] - tips[None, :, :]).transpose(2, 0, 1)), axis=1)
        area, _, _ = triangle_quality(arrays.points, arrays.triangles)
        return np.sqrt(2 * area[d < 0.1e-6]).max()

    assert size_near_tips(arrays_fine) < 0.5 * size_near_tips(arrays_coarse)
    assert fine_tips["cells"] > coarse_tips["cells"]
    assert fine_tips["min_angle_deg"] > 15


def test_interface_is_refined_along_long_straight_segments(route):
    """A flat interface is one 40 um segment: the refinement must follow all of it."""
    g = gen.flat(40e-6, 20e-6, 20e-6)
    _, arrays = report_of(g, MeshOptions(2e-6, 0.25e-6))
    seg = arrays.points[arrays.facets_named("interface")]
    lengths = np.hypot(*(seg[:, 1] - seg[:, 0]).T)
    assert lengths.max() < 1.3 * 0.25e-6
    assert lengths.sum() == pytest.approx(40e-6, rel=1e-12, abs=0)


def test_both_meshing_routes_give_the_same_tags_areas_and_lengths(monkeypatch):
    from ecmsim.mesh import build

    g = img.image_to_geometry(MESHES / "li_pll_cycled.png",
                              img.options_with_sidecar(MESHES / "li_pll_cycled.png", window_width_m=40e-6)).geometry
    options = MeshOptions(1e-6, 0.25e-6)
    monkeypatch.setattr(build, "GEO_ROUTE_MIN_VERTICES", 0)
    merged, _ = report_of(g, options)
    monkeypatch.setattr(build, "SHORT_EDGE_FRACTION", 0.0)   # exact comparison: no short-edge merging
    geo, _ = report_of(g, options)
    # merging short boundary segments (geo route) moves lengths and areas by a hair, angles get better
    for key in ("interface_length_m", "void_boundary_length_m"):
        assert merged[key] == pytest.approx(geo[key], rel=5e-3, abs=0)
    for region in ("electrode", "electrolyte"):
        assert merged["region_area_m2"][region] == pytest.approx(geo["region_area_m2"][region], rel=2e-3, abs=0)
    assert merged["min_angle_deg"] >= geo["min_angle_deg"] - 1.0
    monkeypatch.setattr(build, "GEO_ROUTE_MIN_VERTICES", 10**9)
    occ, _ = report_of(g, options)
    assert set(geo["facet_length_m"]) == set(occ["facet_length_m"]) == {"top", "bottom", "left", "right",
                                                                          "interface", "void", "island"}
    for key in ("interface_length_m", "island_length_m", "void_boundary_length_m", "interface_contact_fraction_geometric"):
        assert geo[key] == pytest.approx(occ[key], rel=1e-9, abs=0)
    assert geo["void_count"] == occ["void_count"] == 11
    for region in ("electrode", "electrolyte"):
        assert geo["region_area_m2"][region] == pytest.approx(occ["region_area_m2"][region], rel=1e-9, abs=0)


def test_non_conforming_geometries_are_left_to_opencascade():
    from ecmsim.geometry import Geometry, Region

    W = 10.0
    layer = lambda y0, y1, label: Region(label, np.array([[0, y0], [W, y0], [W, y1], [0, y1]]))  # noqa: E731
    # a T-junction: the electrode's bottom edge has a vertex the electrolyte's top edge lacks
    t_junction = Geometry(W, 2.0, [layer(0, 1, "electrolyte"),
                                   Region("electrode", np.array([[0, 1], [5, 1], [W, 1], [W, 2], [0, 2]]))])
    overlap = Geometry(W, 2.0, [layer(0, 1.2, "electrolyte"), layer(1, 2, "electrode")])
    nested = Geometry(W, 2.0, [layer(0, 2, "electrolyte"),
                               Region("electrode", np.array([[4, 0.5], [6, 0.5], [6, 1.5], [4, 1.5]]))])
    for g in (t_junction, overlap, nested):
        assert _conforming_partition(g) is None
    assert _conforming_partition(Geometry(W, 2.0, [layer(0, 1, "electrolyte"), layer(1, 2, "electrode")]))


@pytest.mark.fem
def test_a_mesh_from_an_image_runs_through_the_elasticity_solver():
    """Li / PLL from the cycled example (a 20 um window) under 2.4 MPa: the solve converges to
    finite stresses, vertical equilibrium holds through a horizontal cut in the PLL below the
    filaments, and the interface carries more than the stack pressure where it is in contact."""
    from ecmsim import materials
    from ecmsim.core.fem import dolfinx
    from ecmsim.mechanics.elasticity import stack_pressure_problem
    from ecmsim.mechanics.stresses import field_metrics, interface_profile
    from ecmsim.mesh import mesh_geometry

    options = img.options_with_sidecar(MESHES / "li_pll_cycled.png", window_width_m=20e-6,
                                       window_x_m=2e-6)
    geometry = img.image_to_geometry(MESHES / "li_pll_cycled.png", options).geometry
    tmesh = mesh_geometry(geometry, MeshOptions(1.5e-6, 0.3e-6))
    assert len(tmesh.facets("island")) > 0 and len(tmesh.facets("void")) > 0
    p = 2.4e6
    solution = stack_pressure_problem(tmesh, {"electrode": materials.get("Li"), "electrolyte": materials.get("PLL")},
                                      p, degree=2).solve()
    metrics = field_metrics(solution)
    assert all(math.isfinite(v) for v in metrics.values())
    assert metrics["von_mises_max_Pa"] > p

    # equilibrium: the PLL below everything carries the full load, integral of sigma_yy = -p W
    msh = tmesh.mesh
    y_cut = 3e-6
    xs = np.linspace(0, geometry.width_m, 801)
    x_mid = 0.5 * (xs[1:] + xs[:-1])
    pts = np.column_stack([x_mid, np.full_like(x_mid, y_cut), np.zeros_like(x_mid)])
    tree = dolfinx.geometry.bb_tree(msh, msh.topology.dim)
    cells = dolfinx.geometry.compute_colliding_cells(msh, dolfinx.geometry.compute_collisions_points(tree, pts), pts)
    first = np.array([cells.links(i)[0] for i in range(len(pts))], dtype=np.int32)
    syy = solution.stress.eval(pts, first)[:, 1]
    assert np.sum(syy) * (xs[1] - xs[0]) == pytest.approx(-p * geometry.width_m, rel=0.01, abs=0)

    profile = interface_profile(solution)
    m = profile.metrics(geometry.width_m)
    assert m["interface_normal_stress_mean_Pa"] < 0
    assert m["interface_normal_stress_min_Pa"] < -p  # contact spots carry more than the average
