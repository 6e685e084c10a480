"""Solvers that scale and 3D windows (docs/mechanics.md, "3D" and "Linear solvers").

- Iterative (CG/GMRES + GAMG with the rigid-body near-nullspace) and direct (MUMPS) agree, 2D and 3D,
  bonded and in contact.
- 3D patch test: a flat bilayer extruded along z, roller sides (left/right and front/back), fixed
  bottom, pressure p on top is in uniaxial strain: sigma_yy = -p, sigma_xx = sigma_zz = -nu/(1-nu) p
  per layer, no shear, top displacement -p sum(h_i / M_i).
- An extruded window with roller front/back reproduces the 2D plane-strain solution.
- 3D manufactured solution on a cube: L2 rates 2 (P1) and 3 (P2).
- Serial equals mpirun -n 2 for a 3D run (tests/test_mpi.py pattern).
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from conftest import (FLAT3D_DEPTH, FLAT3D_H_ELECTRODE, FLAT3D_H_ELECTROLYTE, FLAT3D_P, FLAT3D_W, SCENARIOS, read_summary,
                      run_cli, run_cli_mpi)
from ecmsim import materials
from ecmsim.core.errors import EcmsimError
from ecmsim.core.fem import ITERATIVE_MIN_DOFS, MPI, dolfinx, fem, linear_solver, ufl
from ecmsim.geometry import generators
from ecmsim.materials import Material
from ecmsim.mechanics.elasticity import Elasticity, Support, stack_pressure_problem
from ecmsim.mechanics.stresses import interface_profile
from ecmsim.mesh import MeshOptions, TaggedMesh, mesh_geometry

pytestmark = pytest.mark.fem

P = FLAT3D_P
W, H_ELECTRODE, H_ELECTROLYTE, DEPTH = FLAT3D_W, FLAT3D_H_ELECTRODE, FLAT3D_H_ELECTROLYTE, FLAT3D_DEPTH
MATS = {"electrode": materials.get("Li"), "electrolyte": materials.get("PLL")}


@pytest.fixture(scope="module")
def sin_geometry():
    return generators.sinusoidal(W, H_ELECTRODE, H_ELECTROLYTE, 3e-6, 20e-6, points_per_wavelength=16)


def test_3d_mesh_tags(flat3d):
    assert flat3d.mesh.geometry.dim == 3 and flat3d.mesh.topology.dim == 3
    assert set(flat3d.facet_ids) == {"top", "bottom", "left", "right", "front", "back", "interface"}
    assert set(flat3d.cell_ids) == {"electrode", "electrolyte"}


@pytest.mark.parametrize("degree", [1, 2])
def test_3d_patch_flat_bilayer(flat3d, degree):
    sol = stack_pressure_problem(flat3d, MATS, P, degree, linear="direct").solve()
    s = sol.stress.x.array.reshape(-1, 6)
    S = sol.stress.function_space
    for region, mat in MATS.items():
        nu = mat.poissons_ratio
        sr = s[np.unique(S.dofmap.list[flat3d.cells(region)].ravel())]
        assert np.allclose(sr[:, 1], -P, rtol=0, atol=1e-8 * P)
        assert np.allclose(sr[:, 0], -nu / (1 - nu) * P, rtol=0, atol=1e-8 * P)
        assert np.allclose(sr[:, 2], -nu / (1 - nu) * P, rtol=0, atol=1e-8 * P)
        assert np.allclose(sr[:, 3:], 0.0, atol=1e-8 * P)
    expected = -P * sum(h / (m.lame_lambda_Pa + 2 * m.lame_mu_Pa)
                        for h, m in ((H_ELECTRODE, MATS["electrode"]), (H_ELECTROLYTE, MATS["electrolyte"])))
    top = flat3d.comm.allreduce(sol.u.x.array.reshape(-1, 3)[:, 1].min(), op=MPI.MIN)
    assert top == pytest.approx(expected, rel=1e-9, abs=0)
    prof = interface_profile(sol)
    assert np.allclose(prof.normal_stress_Pa, -P, rtol=1e-9, atol=0)
    assert prof.metrics(W)["interface_area_m2"] == pytest.approx(W * DEPTH, rel=1e-12, abs=0)


def _max_rel(a, b):
    return float(np.max(np.abs(a - b)) / np.max(np.abs(b)))


def test_iterative_equals_direct_2d(sin_geometry):
    tm = mesh_geometry(sin_geometry, MeshOptions(size_m=1e-6), MPI.COMM_WORLD)
    u = {}
    for linear in ("direct", "iterative"):
        problem = stack_pressure_problem(tm, MATS, P, 2, linear=linear)
        sol = problem.solve()
        assert sol.info["linear_solver"] == linear
        u[linear] = sol.u.x.array.copy()
        problem.close()
    assert sol.info["pc_type"] == "gamg" and sol.info["ksp_iterations"] < 60
    assert _max_rel(u["iterative"], u["direct"]) < 1e-7


def test_iterative_equals_direct_3d_and_extrusion_is_plane_strain(sin_geometry):
    """The extruded window (roller front/back, fixed bottom) has u_z = 0 and the 2D solution."""
    opts = MeshOptions(size_m=4e-6, interface_size_m=2e-6)
    tm3 = mesh_geometry(sin_geometry, MeshOptions(**{**opts.__dict__, "depth_m": DEPTH}), MPI.COMM_WORLD)
    sols = {}
    for linear in ("direct", "iterative"):
        problem = stack_pressure_problem(tm3, MATS, P, 2, linear=linear)
        sol = problem.solve()
        sols[linear] = (sol.u.x.array.copy(), interface_profile(sol).metrics(W), sol.info)
    u_d, m_d, _ = sols["direct"]
    u_i, m_i, info = sols["iterative"]
    assert info["pc_type"] == "gamg"
    assert _max_rel(u_i, u_d) < 1e-6
    for key in ("interface_normal_stress_mean_Pa", "interface_normal_stress_min_Pa"):
        assert m_i[key] == pytest.approx(m_d[key], rel=1e-6, abs=0)
    # plane strain: the exact u_z is 0; the unstructured tetrahedra leave a discretisation-size
    # u_z (measured 1.6e-3 of max |u| here)
    assert np.max(np.abs(u_d.reshape(-1, 3)[:, 2])) < 1e-2 * np.max(np.abs(u_d))
    # and the interface stress statistics of the 2D solve on a comparable mesh (discretisation only)
    tm2 = mesh_geometry(sin_geometry, opts, MPI.COMM_WORLD)
    m2 = interface_profile(stack_pressure_problem(tm2, MATS, P, 2).solve()).metrics(W)
    assert m_d["interface_normal_stress_mean_Pa"] == pytest.approx(m2["interface_normal_stress_mean_Pa"], rel=1e-2, abs=0)
    print({k: (m_d[k], m2[k]) for k in m2 if k in m_d})
    assert m_d["interface_normal_stress_std_Pa"] == pytest.approx(m2["interface_normal_stress_std_Pa"], rel=0.15, abs=0)


def test_iterative_equals_direct_contact():
    """Newton on the blocked contact system: GMRES + GAMG (each body's rigid modes) as MUMPS."""
    from ecmsim.mechanics.contact import stack_pressure_contact_problem

    geo = generators.sinusoidal(W, H_ELECTRODE, H_ELECTROLYTE, 3e-6, 20e-6, points_per_wavelength=16)
    tm = mesh_geometry(geo, MeshOptions(size_m=2e-6, interface_size_m=1e-6), MPI.COMM_WORLD)
    out = {}
    for linear in ("direct", "iterative"):
        problem = stack_pressure_contact_problem(tm, MATS, P, linear=linear)
        sol = problem.solve(2)
        out[linear] = (sol.contact["interface"].metrics(), sol.info)
        problem.close()
    (m_d, _), (m_i, info) = out["direct"], out["iterative"]
    assert info["linear_solver"] == "iterative" and info["pc_type"] == "gamg"
    for key in ("contact_pressure_mean_Pa", "contact_pressure_max_Pa", "contact_force_N_per_m"):
        assert m_i[key] == pytest.approx(m_d[key], rel=1e-6, abs=0), key


def test_auto_choice_and_bad_value(flat3d):
    V = fem.functionspace(flat3d.mesh, ("Lagrange", 1, (3,)))
    dofs = V.dofmap.index_map.size_global * 3
    assert dofs < ITERATIVE_MIN_DOFS[3]
    assert linear_solver("elasticity", V, "auto").method == "direct"
    plan = linear_solver("contact", [V, V], "iterative")
    assert plan.options["ksp_type"] == "gmres" and plan.dofs == 2 * dofs
    with pytest.raises(EcmsimError, match="solver.linear"):
        linear_solver("elasticity", V, "fast")


@pytest.mark.parametrize("dim, n, degree, method", [
    (2, 150, 2, "direct"), (2, 200, 2, "iterative"),        # 181 202 and 321 602 dofs
    (3, 20, 1, "direct"), (3, 14, 2, "iterative")])         # 27 783 and 73 167 dofs
def test_auto_switches_at_the_measured_crossover(dim, n, degree, method):
    """``auto`` is iterative from the measured crossover (2.6e5 dofs in 2D, 4.6e4 in 3D: bench_scaling
    --crossover), direct below: the sizes here lie on either side of the thresholds set from it."""
    make = dolfinx.mesh.create_unit_square if dim == 2 else dolfinx.mesh.create_unit_cube
    mesh = make(MPI.COMM_WORLD, *([n] * dim))
    V = fem.functionspace(mesh, ("Lagrange", degree, (dim,)))
    plan = linear_solver("elasticity", V, "auto")
    assert plan.method == method, (plan.dofs, ITERATIVE_MIN_DOFS)
    assert 200_000 <= ITERATIVE_MIN_DOFS[2] <= 400_000 and 40_000 <= ITERATIVE_MIN_DOFS[3] <= 60_000


def test_near_nullspace_is_rigid_motion(flat3d):
    """The 6 modes lie in the kernel of the assembled (unconstrained) stiffness: A m = 0."""
    from ecmsim.core.fem import PETSc, rigid_body_modes
    from ecmsim.mechanics.elasticity import epsilon, lame_fields, sigma

    V = fem.functionspace(flat3d.mesh, ("Lagrange", 2, (3,)))
    lam, mu = lame_fields(flat3d, MATS)
    u, v = ufl.TrialFunction(V), ufl.TestFunction(V)
    A = fem.petsc.assemble_matrix(fem.form(ufl.inner(sigma(u, lam, mu), epsilon(v)) * ufl.dx))
    A.assemble()
    ns = rigid_body_modes(V)
    assert len(ns.getVecs()) == 6
    y = A.createVecLeft()
    scale = A.norm(PETSc.NormType.INFINITY)
    for m in ns.getVecs():
        A.mult(m, y)
        assert m.norm() == pytest.approx(1.0)
        assert y.norm() < 1e-12 * scale   # measured ~1e-16 relative (round-off)
    A.destroy()


# --- 3D manufactured solution --------------------------------------------------------------

MMS_L = 1e-5
MMS_MAT = Material("mms", youngs_modulus_Pa=5e9, poissons_ratio=0.35, sources={})


def _u_exact(x, mod):
    k = math.pi / MMS_L
    return mod.as_vector([1e-8 * mod.sin(k * x[0]) * mod.cos(0.5 * k * x[1]) * mod.cos(0.5 * k * x[2]),
                          1e-8 * mod.cos(k * x[0]) * mod.sin(k * x[1]) + 2e-9 * (x[2] / MMS_L) ** 2,
                          1e-8 * mod.sin(k * x[2]) * mod.cos(0.5 * k * x[0])])


class _np:
    sin, cos = np.sin, np.cos

    @staticmethod
    def as_vector(c):
        return np.vstack(c)


def _cube(n: int) -> TaggedMesh:
    msh = dolfinx.mesh.create_box(MPI.COMM_WORLD, [[0, 0, 0], [MMS_L] * 3], [n, n, n],
                                  ghost_mode=dolfinx.mesh.GhostMode.shared_facet)
    tdim = msh.topology.dim
    cells = np.arange(msh.topology.index_map(tdim).size_local + msh.topology.index_map(tdim).num_ghosts,
                      dtype=np.int32)
    ct = dolfinx.mesh.meshtags(msh, tdim, cells, np.full(len(cells), 2, dtype=np.int32))
    msh.topology.create_connectivity(tdim - 1, tdim)
    facets = dolfinx.mesh.exterior_facet_indices(msh.topology)
    ft = dolfinx.mesh.meshtags(msh, tdim - 1, facets, np.full(len(facets), 1, dtype=np.int32))
    return TaggedMesh(msh, ct, ft, {"electrolyte": 2}, {"all": 1})


def _mms_error(degree: int, n: int) -> tuple[float, float]:
    tm = _cube(n)
    lam, mu = MMS_MAT.lame_lambda_Pa, MMS_MAT.lame_mu_Pa

    def body_force(x):
        eps = ufl.sym(ufl.grad(_u_exact(x, ufl)))
        return -ufl.div(lam * ufl.tr(eps) * ufl.Identity(3) + 2 * mu * eps)

    problem = Elasticity(tm, {"electrolyte": MMS_MAT}, [Support("all", (0, 1, 2), lambda x: _u_exact(x, _np))],
                         body_force=body_force, degree=degree, linear="direct")
    sol = problem.solve()
    e = sol.u - _u_exact(ufl.SpatialCoordinate(tm.mesh), ufl)
    err = math.sqrt(tm.comm.allreduce(fem.assemble_scalar(fem.form(ufl.inner(e, e) * ufl.dx)), op=MPI.SUM))
    problem.close()
    return MMS_L / n, err


@pytest.mark.slow
@pytest.mark.parametrize("degree, ns", [(1, (4, 8, 16)), (2, (2, 4, 8))])
def test_3d_manufactured_solution_rate(degree, ns):
    h, err = np.array([_mms_error(degree, n) for n in ns]).T
    rate = np.polyfit(np.log(h), np.log(err), 1)[0]
    last = math.log(err[-2] / err[-1]) / math.log(2)
    print(f"3D P{degree}: h={h}, L2={err}, fitted rate {rate:.2f}, last pair {last:.2f}")
    assert last == pytest.approx(degree + 1, abs=0.3)
    assert np.all(np.diff(err) < 0)


# --- MPI -----------------------------------------------------------------------------------

@pytest.mark.slow
@pytest.mark.mpi
def test_3d_parallel_equals_serial(tmp_path, have_mpirun):
    args = ["run", str(SCENARIOS / "voids_3d.toml"), "-q", "--set", "mesh.size_m=5e-6",
            "--set", "mesh.interface_size_m=2.5e-6", "--set", "output.fields=false"]
    p1 = run_cli(*args, "-o", str(tmp_path / "serial"))
    assert p1.returncode == 0, p1.stderr
    p2 = run_cli_mpi(2, *args, "-o", str(tmp_path / "parallel"))
    assert p2.returncode == 0, p2.stderr + p2.stdout
    a, b = read_summary(tmp_path / "serial"), read_summary(tmp_path / "parallel")
    assert b["provenance"]["mpi_ranks"] == 2 and a["solver"]["dimension"] == 3
    assert a["mesh"]["cells"] == b["mesh"]["cells"]
    assert b["solver"]["linear_solver"] == "iterative"
    for key, value in a["metrics"].items():
        # CG to a relative residual of 1e-10 on both: agreement far inside discretisation error
        assert b["metrics"][key] == pytest.approx(value, rel=1e-6, abs=1e-3), key


def test_friction_in_3d_is_refused_in_one_line():
    """Frictionless contact runs in 3D (tests/test_contact_3d.py); Coulomb friction stays 2D."""
    from ecmsim import scenario
    from ecmsim.core.errors import ScenarioError

    with pytest.raises(ScenarioError, match="friction_coefficient > 0 is 2D only"):
        scenario.load(SCENARIOS / "voids_3d.toml", ["interface.model=contact", "interface.friction_coefficient=0.3"])
    assert scenario.load(SCENARIOS / "voids_3d.toml", ["interface.model=contact"]).interface.model == "contact"
