"""Plane-strain elasticity against closed forms.

- Patch test: a flat bilayer under pressure p, roller sides, fixed bottom, is in uniaxial
  strain: sigma_yy = -p everywhere, sigma_xx = sigma_zz = -nu/(1-nu) p in each layer, and the top
  moves by -p sum(h_i / M_i), M = lambda + 2 mu. The exact field is piecewise linear, so P1 and P2
  must reproduce it to solver precision.
- Manufactured solution: measured convergence rates of P1 and P2 in L2 and H1.
- Kirsch: a circular hole in a plate under uniaxial tension S, hoop stress 3S at the hole.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from ecmsim import materials
from ecmsim.core.fem import MPI, fem, ufl
from ecmsim.geometry import Geometry, Region, generators
from ecmsim.materials import Material
from ecmsim.mechanics.elasticity import PlaneStrainElasticity, Support, Traction, stack_pressure_problem
from ecmsim.mechanics.stresses import interface_profile
from ecmsim.mesh import MeshOptions, mesh_geometry
from ecmsim.studies.checks import kirsch_sigma

pytestmark = pytest.mark.fem

P = 2.4e6
H_ELECTROLYTE, H_ELECTRODE, WIDTH = 20e-6, 15e-6, 40e-6


@pytest.fixture(scope="module")
def bilayer_mesh():
    geo = generators.flat(WIDTH, H_ELECTRODE, H_ELECTROLYTE)
    return mesh_geometry(geo, MeshOptions(size_m=3e-6, interface_size_m=1.5e-6), MPI.COMM_WORLD)


@pytest.mark.parametrize("degree", [1, 2])
def test_patch_flat_bilayer_uniaxial_strain(bilayer_mesh, degree):
    mats = {"electrode": materials.get("Li"), "electrolyte": materials.get("PLL")}
    sol = stack_pressure_problem(bilayer_mesh, mats, P, degree).solve()
    tm = bilayer_mesh
    s = sol.stress.x.array.reshape(-1, 4)
    S = sol.stress.function_space
    for region, mat in mats.items():
        nu = mat.poissons_ratio
        dofs = np.unique(S.dofmap.list[tm.cells(region)].ravel())
        sr = s[dofs]
        assert np.allclose(sr[:, 1], -P, rtol=0, atol=1e-8 * P)
        assert np.allclose(sr[:, 0], -nu / (1 - nu) * P, rtol=0, atol=1e-8 * P)
        assert np.allclose(sr[:, 2], -nu / (1 - nu) * P, rtol=0, atol=1e-8 * P)
        assert np.allclose(sr[:, 3], 0.0, atol=1e-8 * P)
    # top displacement: u_y(top) = -p (h1/M1 + h2/M2), M = lambda + 2 mu (P-wave modulus)
    expected = -P * sum(h / (m.lame_lambda_Pa + 2 * m.lame_mu_Pa)
                        for h, m in ((H_ELECTRODE, mats["electrode"]), (H_ELECTROLYTE, mats["electrolyte"])))
    top = np.array([[WIDTH / 3, H_ELECTROLYTE + H_ELECTRODE, 0.0]])
    uy = _eval_global(sol.u, top)[1]
    assert uy == pytest.approx(expected, rel=1e-9, abs=0)
    # the interface metrics of the pipeline see the same exact traction
    prof = interface_profile(sol)
    assert np.allclose(prof.normal_stress_Pa, -P, rtol=1e-9, atol=0)
    assert prof.length_m == pytest.approx(WIDTH, rel=1e-12, abs=0)


def _eval_global(u, points):
    """Evaluate a function at points, whichever rank owns them (same answer on every rank)."""
    from ecmsim.core.fem import dolfinx

    msh = u.function_space.mesh
    tree = dolfinx.geometry.bb_tree(msh, msh.topology.dim)
    cand = dolfinx.geometry.compute_collisions_points(tree, points)
    hits = dolfinx.geometry.compute_colliding_cells(msh, cand, points)
    values = None
    if len(hits.links(0)):
        values = np.asarray(u.eval(points[:1], np.array([hits.links(0)[0]], dtype=np.int32))).reshape(-1)
    found = msh.comm.allgather(values)
    return next(v for v in found if v is not None)


# --- manufactured solution -----------------------------------------------------------------

MMS_L = 1e-5  # a 10 um square, in SI units like every real run
MMS_MAT = Material("mms", youngs_modulus_Pa=5e9, poissons_ratio=0.35, sources={})


def _u_exact_ufl(x):
    k = math.pi / MMS_L
    return ufl.as_vector([1e-8 * ufl.sin(k * x[0]) * ufl.cos(0.5 * k * x[1]),
                          1e-8 * ufl.cos(k * x[0]) * ufl.sin(k * x[1]) + 2e-9 * (x[0] / MMS_L) ** 2])


def _u_exact_np(x):
    k = math.pi / MMS_L
    return np.vstack([1e-8 * np.sin(k * x[0]) * np.cos(0.5 * k * x[1]),
                      1e-8 * np.cos(k * x[0]) * np.sin(k * x[1]) + 2e-9 * (x[0] / MMS_L) ** 2])


def _mms_errors(degree: int, size: float) -> tuple[float, float, float]:
    geo = Geometry(MMS_L, MMS_L, [Region("electrolyte", np.array([[0, 0], [MMS_L, 0], [MMS_L, MMS_L], [0, MMS_L]]))])
    tm = mesh_geometry(geo, MeshOptions(size_m=size), MPI.COMM_WORLD)
    lam, mu = MMS_MAT.lame_lambda_Pa, MMS_MAT.lame_mu_Pa

    def body_force(x):
        u = _u_exact_ufl(x)
        eps = ufl.sym(ufl.grad(u))
        return -ufl.div(lam * ufl.tr(eps) * ufl.Identity(2) + 2 * mu * eps)

    supports = [Support(side, (0, 1), _u_exact_np) for side in ("bottom", "top", "left", "right")]
    sol = PlaneStrainElasticity(tm, {"electrolyte": MMS_MAT}, supports, body_force=body_force,
                                degree=degree).solve()
    x = ufl.SpatialCoordinate(tm.mesh)
    e = sol.u - _u_exact_ufl(x)
    l2 = fem.form(ufl.inner(e, e) * ufl.dx)
    h1 = fem.form(ufl.inner(ufl.grad(e), ufl.grad(e)) * ufl.dx)
    comm = tm.comm
    err_l2 = math.sqrt(comm.allreduce(fem.assemble_scalar(l2), op=MPI.SUM))
    err_h1 = math.sqrt(comm.allreduce(fem.assemble_scalar(h1), op=MPI.SUM))
    return tm.stats()["h_max_m"], err_l2, err_h1


@pytest.mark.parametrize("degree", [1, 2])
def test_manufactured_solution_convergence_rates(degree):
    sizes = [MMS_L / 4, MMS_L / 8, MMS_L / 16, MMS_L / 32]
    results = [_mms_errors(degree, s) for s in sizes]
    h = np.array([r[0] for r in results])
    l2 = np.array([r[1] for r in results])
    h1 = np.array([r[2] for r in results])
    rate_l2 = np.polyfit(np.log(h), np.log(l2), 1)[0]
    rate_h1 = np.polyfit(np.log(h), np.log(h1), 1)[0]
    print(f"P{degree}: h={h}, L2={l2}, H1={h1}, rates L2 {rate_l2:.2f}, H1 {rate_h1:.2f}")
    assert rate_l2 == pytest.approx(degree + 1, abs=0.25)
    assert rate_h1 == pytest.approx(degree, abs=0.25)
    assert np.all(np.diff(l2) < 0) and np.all(np.diff(h1) < 0)


# --- Kirsch --------------------------------------------------------------------------------

KIRSCH_A = 1e-6      # hole radius [m]
KIRSCH_L = 10e-6     # quarter plate side [m]
KIRSCH_S = 1e6       # remote tension along x [Pa]


def _kirsch_sigma(x):
    """Kirsch (1898) stress around the hole, remote sigma_xx = S, as a UFL tensor."""
    return kirsch_sigma(x, ufl, KIRSCH_A, KIRSCH_S)


def _kirsch_solution(size: float):
    n_arc = 180
    t = np.linspace(0, math.pi / 2, n_arc + 1)
    arc = np.column_stack([KIRSCH_A * np.cos(t), KIRSCH_A * np.sin(t)])[::-1]  # from (0,a) to (a,0)
    outer = np.vstack([[[KIRSCH_A, 0.0], [KIRSCH_L, 0.0], [KIRSCH_L, KIRSCH_L], [0.0, KIRSCH_L]], arc[:-1]])
    geo = Geometry(KIRSCH_L, KIRSCH_L, [Region("electrolyte", outer)], "quarter plate with a hole")
    tm = mesh_geometry(geo, MeshOptions(size_m=size * 8, interface_size_m=size, refine_distance_m=3 * KIRSCH_A),
                       MPI.COMM_WORLD)
    assert set(tm.facet_ids) == {"bottom", "left", "right", "top", "void"}

    def traction(x, n):
        return _kirsch_sigma(x) * n

    problem = PlaneStrainElasticity(
        tm, {"electrolyte": materials.get("LLZO")},
        supports=[Support("bottom", (1,)), Support("left", (0,))],    # symmetry planes
        tractions=[Traction("right", traction=traction), Traction("top", traction=traction)], degree=2)
    return tm, problem.solve()


def test_kirsch_hole_concentration_factor():
    factors = []
    sizes = (0.2e-6, 0.1e-6, 0.05e-6)  # element size at the hole: a/5, a/10, a/20
    for size in sizes:
        tm, sol = _kirsch_solution(size)
        # hoop stress at the top of the hole, (0, a), where Kirsch gives sigma_xx = 3 S
        sxx = _eval_global(sol.stress, np.array([[0.0, KIRSCH_A, 0.0]]))[0]
        factors.append(sxx / KIRSCH_S)
    print("Kirsch K_t at h = a/5, a/10, a/20:", factors)
    assert factors[-1] == pytest.approx(3.0, rel=3e-3, abs=0)
    errors = np.abs(np.array(factors) - 3.0)
    assert np.all(np.diff(errors) < 0)  # converges under refinement


def test_set_pressure_resolves_without_rebuilding(bilayer_mesh):
    """Linearity: doubling the stack pressure through set_pressure doubles every stress."""
    mats = {"electrode": materials.get("Li"), "electrolyte": materials.get("PLL")}
    problem = stack_pressure_problem(bilayer_mesh, mats, P, 2)
    first = problem.solve().stress_values().copy()
    problem.set_pressure("top", 2 * P)
    second = problem.solve().stress_values()
    assert np.allclose(second, 2 * first, rtol=1e-10, atol=1e-8 * P)
    assert np.allclose(second[:, 1], -2 * P, rtol=1e-9, atol=0)
    problem.close()
