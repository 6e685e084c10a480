"""Genuinely 3D windows (ecmsim/geometry/solid3d.py): a rough surface from a 2D random field
h(x, z) and half-spheroidal voids, their statistics and their 3D mesh tags."""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import SCENARIOS
from ecmsim.core.errors import GeometryError
from ecmsim.core.fem import MPI, fem, ufl
from ecmsim.geometry import solid3d
from ecmsim.mesh import MeshOptions, mesh_geometry

W, TE, TL, D = 40e-6, 15e-6, 20e-6, 10e-6
TAGS = {"top", "bottom", "left", "right", "front", "back", "interface"}


def _acf_x(h: np.ndarray) -> np.ndarray:
    """Circular autocorrelation along x (averaged over z), normalised."""
    f = np.fft.fft(h, axis=0)
    c = np.fft.ifft(np.abs(f) ** 2, axis=0).real.mean(axis=1)
    return c / c[0]


@pytest.mark.parametrize("spectrum", ["gaussian", "self_affine"])
def test_rough_field_statistics(spectrum):
    x, z, h = solid3d.rough_field(W, D, 0.8e-6, 3e-6, seed=5, spectrum=spectrum)
    core = h[:-1, :-1]
    # the bilinear surface through the samples has the RMS exactly; the samples a little more
    assert math.sqrt(solid3d._bilinear_mean_square(core)) == pytest.approx(0.8e-6, rel=1e-12, abs=0)
    assert np.sqrt(np.mean(core**2)) == pytest.approx(0.8e-6, rel=0.03, abs=0)
    assert abs(core.mean()) < 1e-12 * 0.8e-6
    assert np.array_equal(h[-1], h[0]) and np.array_equal(h[:, -1], h[:, 0])   # periodic
    assert x[-1] == W and z[-1] == D
    # one realisation's autocorrelation falls to 1/e near the requested length
    c = _acf_x(core)
    dx = x[1] - x[0]
    lag = np.interp(-math.exp(-1), -c[: len(c) // 2], np.arange(len(c) // 2) * dx)
    print(f"{spectrum}: correlation length of the realisation {lag:.3g} m (asked 3e-6)")
    assert lag == pytest.approx(3e-6, rel=0.15, abs=0)
    assert not np.allclose(h, solid3d.rough_field(W, D, 0.8e-6, 3e-6, seed=6, spectrum=spectrum)[2], atol=0)


def _interface_integrals(tm, f):
    dS = ufl.Measure("dS", domain=tm.mesh, subdomain_data=tm.facet_tags)
    n = ufl.FacetNormal(tm.mesh)("+")
    return tm.comm.allreduce(fem.assemble_scalar(fem.form(f(ufl.SpatialCoordinate(tm.mesh), n)
                                                          * dS(tm.facet_ids["interface"]))), op=MPI.SUM)


def test_rough_3d_mesh_tags_and_rms():
    g = solid3d.rough(W, TE, TL, D, 1e-6, 4e-6, seed=3)
    # the interface meshed at an eighth of the correlation length, about the sample spacing
    tm = mesh_geometry(g, MeshOptions(size_m=4e-6, interface_size_m=0.5e-6, depth_m=D), MPI.COMM_WORLD)
    assert tm.mesh.topology.dim == 3 and set(tm.cell_ids) == {"electrode", "electrolyte"}
    assert set(tm.facet_ids) == TAGS
    # projected-area statistics of the meshed surface (the bilinear interpolant of the samples)
    area = _interface_integrals(tm, lambda X, n: abs(n[1]))
    mean = _interface_integrals(tm, lambda X, n: (X[1] - TL) * abs(n[1])) / area
    rms = math.sqrt(_interface_integrals(tm, lambda X, n: (X[1] - TL) ** 2 * abs(n[1])) / area)
    print(f"rough 3D: projected area / (W D) = {area / (W * D):.6f}, mean {mean:.2e} m, rms {rms:.4g} m (asked 1e-6)")
    assert area == pytest.approx(W * D, rel=1e-6, abs=0)
    assert abs(mean) < 0.02e-6
    assert rms == pytest.approx(1e-6, rel=0.01, abs=0)


def test_voids_3d_fraction_and_tags():
    g = solid3d.voids(W, TE, TL, D, 0.3, 6e-6, seed=1)
    s = g.solid
    assert np.sum(math.pi * s.radii_m**2) == pytest.approx(0.3 * W * D, rel=1e-12, abs=0)
    gaps = [np.hypot(*(s.centres_m[i] - s.centres_m[j])) - s.radii_m[i] - s.radii_m[j]
            for i in range(len(s.radii_m)) for j in range(i)]
    assert min(gaps) >= 0.6e-6 - 1e-15
    assert np.all(s.centres_m - s.radii_m[:, None] >= 0.6e-6 - 1e-15)
    tm = mesh_geometry(g, MeshOptions(size_m=4e-6, interface_size_m=1e-6, depth_m=D), MPI.COMM_WORLD)
    assert set(tm.facet_ids) == TAGS | {"void"} and set(tm.cell_ids) == {"electrode", "electrolyte"}
    fraction = 1 - _interface_integrals(tm, lambda X, n: 1.0) / (W * D)
    # void volume: half-spheroids 2/3 pi r^2 b
    dx = ufl.Measure("dx", domain=tm.mesh)
    volume = W * D * (TE + TL) - tm.comm.allreduce(fem.assemble_scalar(fem.form(1.0 * dx)), op=MPI.SUM)
    expected = np.sum(2 / 3 * math.pi * s.radii_m**2 * s.depths_m)
    print(f"voids 3D: interface void fraction {fraction:.4f} (asked 0.3), void volume {volume / expected:.4f} "
          "of the spheroids'")
    assert fraction == pytest.approx(0.3, rel=0.03, abs=0)
    assert volume == pytest.approx(expected, rel=0.05, abs=0)


def test_bad_3d_shapes_are_one_line_errors():
    with pytest.raises(GeometryError, match="void_fraction"):
        solid3d.voids(W, TE, TL, D, 0.6, 6e-6)
    with pytest.raises(GeometryError, match="correlation_length_m"):
        solid3d.rough_field(W, D, 1e-6, 8e-6, 0)


def test_scenario_routes():
    """depth_m makes rough and voids genuinely 3D; the other kinds stay extruded."""
    from ecmsim import scenario

    voids = scenario.load(SCENARIOS / "voids_3d.toml").geometry.build(SCENARIOS)
    assert voids.solid is not None and "half-spheroidal" in voids.description
    rough = scenario.load(SCENARIOS / "rough_interface.toml", ["geometry.depth_m=1e-5",
                                                               "geometry.correlation_length_m=3e-6"]).geometry
    assert rough.build(SCENARIOS).solid is not None
    sinus = scenario.load(SCENARIOS / "sinusoidal_interface.toml", ["geometry.depth_m=1e-5"]).geometry
    assert getattr(sinus.build(SCENARIOS), "solid", None) is None
