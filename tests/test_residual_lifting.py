"""The residual without the Dirichlet lifting (ecmsim.core.fem.residual_assembler) is dolfinx's residual exactly
where it skips the lifting (zero conditions met by the iterate), and falls back to dolfinx's everywhere else."""

import numpy as np
import pytest

from ecmsim.core.fem import MPI, PETSc, dolfinx, fem, residual_assembler, ufl


def _problem(value=0.0, blocked=False):
    msh = dolfinx.mesh.create_unit_square(MPI.COMM_WORLD, 6, 5)
    V = fem.functionspace(msh, ("Lagrange", 2, (2,)))
    facets = dolfinx.mesh.locate_entities_boundary(msh, 1, lambda x: np.isclose(x[0], 0.0, rtol=0, atol=1e-12))
    fields = [fem.Function(V) for _ in range(2 if blocked else 1)]
    bcs = [fem.dirichletbc(PETSc.ScalarType(value), fem.locate_dofs_topological(V.sub(1), 1, facets), V.sub(1))
           for _ in fields]
    f = fem.Constant(msh, PETSc.ScalarType((1.0, -2.0)))
    residuals = []
    for i, u in enumerate(fields):
        v = ufl.TestFunction(V)
        other = fields[1 - i] if blocked else u
        residuals.append((1 + ufl.dot(u, u)) * ufl.inner(ufl.grad(u), ufl.grad(v)) * ufl.dx
                         + 0.3 * ufl.dot(other, v) * ufl.dx - ufl.dot(f, v) * ufl.dx)
    if blocked:
        F = [fem.form(r) for r in residuals]
        J = [[fem.form(ufl.derivative(r, w, ufl.TrialFunction(V))) for w in fields] for r in residuals]
        kind = "mpi"
    else:
        F = fem.form(residuals[0])
        J = fem.form(ufl.derivative(residuals[0], fields[0], ufl.TrialFunction(V)))
        kind = None
    b = fem.petsc.create_vector(fem.extract_function_spaces(F) if blocked else F.function_spaces[0], kind=kind)
    x = b.duplicate()
    return fields, bcs, F, J, b, x


def _fill(fields, bcs, x, on_bc):
    rng = np.random.default_rng(3)
    for u, bc in zip(fields, bcs):
        u.x.array[:] = rng.uniform(-1, 1, u.x.array.size)
        u.x.array[bc.dof_indices()[0]] = on_bc
        u.x.scatter_forward()
    fem.petsc.assign(fields if len(fields) > 1 else fields[0], x)


def _both(fields, bcs, F, J, b, x, monkeypatch):
    """(ours, dolfinx's, apply_lifting calls made by ours)."""
    calls = []
    lift = fem.petsc.apply_lifting
    monkeypatch.setattr(fem.petsc, "apply_lifting", lambda *a, **k: (calls.append(1), lift(*a, **k))[1])
    u = fields if len(fields) > 1 else fields[0]
    kw = {"u": u, "residual": F, "jacobian": J, "bcs": bcs}
    if (blocks := b.getAttr("_blocks")) is not None:
        kw["_blocks"] = blocks
    residual_assembler(list(zip(fields, [[bc] for bc in bcs])))(None, x, b, **kw)
    ours, n = b.array.copy(), len(calls)
    ref = b.duplicate()
    fem.petsc.assemble_residual(None, x, ref, **kw)
    return ours, ref.array.copy(), n


@pytest.mark.parametrize("blocked", [False, True])
def test_skipped_lifting_is_dolfinx_residual_where_the_conditions_hold(blocked, monkeypatch):
    fields, bcs, F, J, b, x = _problem(blocked=blocked)
    _fill(fields, bcs, x, on_bc=0.0)
    ours, ref, lifted = _both(fields, bcs, F, J, b, x, monkeypatch)
    assert lifted == 0                                  # the lifting was skipped ...
    assert np.abs(ref).max() > 0.1
    assert np.abs(ours - ref).max() <= 1e-12 * np.abs(ref).max()   # ... and nothing changed
    dofs, owned = bcs[0].dof_indices()
    assert np.all(ours[dofs[:owned]] == 0.0)           # the bc rows (owned): x - g = 0


@pytest.mark.parametrize("blocked", [False, True])
def test_lifts_as_dolfinx_where_the_iterate_misses_a_condition(blocked, monkeypatch):
    fields, bcs, F, J, b, x = _problem(blocked=blocked)
    _fill(fields, bcs, x, on_bc=0.25)
    ours, ref, lifted = _both(fields, bcs, F, J, b, x, monkeypatch)
    assert lifted == 1
    assert np.array_equal(ours, ref)
    dofs, owned = bcs[0].dof_indices()
    assert owned == 0 or np.abs(ours[dofs[:owned]]).max() > 0.2   # the rows carry x - g


def test_lifts_as_dolfinx_for_a_nonzero_condition(monkeypatch):
    fields, bcs, F, J, b, x = _problem(value=0.25)
    _fill(fields, bcs, x, on_bc=0.25)                 # met, but not zero: the decision is dolfinx's
    ours, ref, lifted = _both(fields, bcs, F, J, b, x, monkeypatch)
    assert lifted == 1
    assert np.array_equal(ours, ref)
