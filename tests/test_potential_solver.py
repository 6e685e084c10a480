"""The linear solver of the potential problem: ``linear_solver("potential", ...)`` (CG + GAMG,
no near-nullspace) on a scalar Poisson problem with a Robin boundary, against its closed form.

    -kappa phi'' = s  on 0 < x < L,  phi(0) = 0,  kappa phi'(L) = -alpha (phi(L) - phi_e)

(the linearised Butler-Volmer condition of the cycling problem has this Robin form), solved in a
2D and a 3D box whose other faces are insulated, so the solution is the 1D one:

    phi(x) = -s x^2 / (2 kappa) + C x,  C = (s L + alpha s L^2 / (2 kappa) + alpha phi_e) / (kappa + alpha L).

P2 holds the quadratic exactly: iterative and direct both reproduce it to the solver tolerance.
"""

from __future__ import annotations

import numpy as np
import pytest

from ecmsim.core.fem import MPI, PETSc, dolfinx, fem, linear_solver, options_prefix, ufl

pytestmark = pytest.mark.fem

L, KAPPA, ALPHA, S, PHI_E = 1e-4, 0.05, 800.0, 3e3, 0.1    # m, S/m, S/m^2, A/m^3, V


def _exact(x):
    c = (S * L + ALPHA * S * L**2 / (2 * KAPPA) + ALPHA * PHI_E) / (KAPPA + ALPHA * L)
    return -S * x**2 / (2 * KAPPA) + c * x


def _solve(msh, linear: str):
    V = fem.functionspace(msh, ("Lagrange", 2))
    tdim = msh.topology.dim
    left = dolfinx.mesh.locate_entities_boundary(msh, tdim - 1, lambda x: np.isclose(x[0], 0.0, atol=1e-12 * L))
    right = dolfinx.mesh.locate_entities_boundary(msh, tdim - 1, lambda x: np.isclose(x[0], L, atol=0))
    tags = dolfinx.mesh.meshtags(msh, tdim - 1, right, np.full(len(right), 1, dtype=np.int32))
    ds = ufl.Measure("ds", domain=msh, subdomain_data=tags)
    bc = fem.dirichletbc(PETSc.ScalarType(0.0), fem.locate_dofs_topological(V, tdim - 1, left), V)
    phi, w = ufl.TrialFunction(V), ufl.TestFunction(V)
    a = KAPPA * ufl.inner(ufl.grad(phi), ufl.grad(w)) * ufl.dx + ALPHA * phi * w * ds(1)
    rhs = S * w * ufl.dx + ALPHA * PHI_E * w * ds(1)
    plan = linear_solver("potential", V, linear)
    problem = fem.petsc.LinearProblem(a, rhs, bcs=[bc], petsc_options=plan.options,
                                      petsc_options_prefix=options_prefix("potential_test"))
    plan.attach(problem.A)
    u = problem.solve()
    its = problem.solver.getIterationNumber()
    x = V.tabulate_dof_coordinates()[:, 0]
    err = msh.comm.allreduce(float(np.max(np.abs(u.x.array - _exact(x)))), op=MPI.MAX)
    pc = problem.solver.getPC().getType()
    u = u.x.array.copy()
    problem.solver.destroy()
    problem.A.destroy()
    return u, err, its, pc, plan


@pytest.mark.parametrize("dim", [2, 3])
def test_potential_robin_iterative_vs_direct_and_closed_form(dim):
    if dim == 2:
        msh = dolfinx.mesh.create_rectangle(MPI.COMM_WORLD, [[0, 0], [L, 0.5 * L]], [48, 24])
    else:
        msh = dolfinx.mesh.create_box(MPI.COMM_WORLD, [[0, 0, 0], [L, 0.5 * L, 0.5 * L]], [16, 8, 8])
    scale = float(np.max(np.abs(_exact(np.linspace(0, L, 101)))))
    u_d, err_d, _, pc_d, _ = _solve(msh, "direct")
    u_i, err_i, its, pc_i, plan = _solve(msh, "iterative")
    print(f"{dim}D potential: {plan.dofs} dofs, CG + {pc_i} {its} iterations, max error direct {err_d / scale:.1e}, "
          f"iterative {err_i / scale:.1e} (relative)")
    assert pc_d == "cholesky" and pc_i == "gamg" and plan.options["ksp_type"] == "cg"   # symmetric: LDL^T
    assert err_d < 1e-10 * scale             # P2 holds the quadratic closed form
    assert err_i < 1e-7 * scale
    assert its < 40                          # multigrid: a few tens at most, independent of the mesh
    assert np.max(np.abs(u_i - u_d)) < 1e-7 * scale
