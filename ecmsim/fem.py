"""The one place that imports the finite-element stack.

With the PyPI wheel ``dolfinx-solver-real``, ``dolfinx_solver`` must be imported before
``mpi4py``, ``petsc4py`` and ``dolfinx``: it loads the MPI runtime first so that every binding
resolves to the same libmpi. Where dolfinx comes from conda, spack or a cluster module there
is no ``dolfinx_solver`` and the upstream modules are imported directly.

Every other ecmsim module gets dolfinx, ufl, PETSc and MPI from here::

    from ecmsim.fem import MPI, PETSc, dolfinx, fem, ufl

This module also holds the solver defaults (PETSc options) and the convergence checks, so that
one place decides how linear and nonlinear systems are solved.
"""

from __future__ import annotations

import itertools

from ecmsim.errors import EcmsimError

try:  # the PyPI wheel: orders MPI ahead of the compiled bindings
    import dolfinx_solver  # noqa: F401
except ModuleNotFoundError:  # dolfinx from conda / spack / a module: nothing to order
    dolfinx_solver = None

try:
    from mpi4py import MPI
    from petsc4py import PETSc

    import basix
    import dolfinx
    import dolfinx.fem.petsc
    import dolfinx.io
    import dolfinx.io.gmsh
    import dolfinx.mesh
    import ufl
    from dolfinx import fem
except ImportError as err:  # pragma: no cover - depends on the installation
    raise EcmsimError(
        f"the finite-element stack is not importable ({err}). Run `make setup` (installs the "
        "dolfinx-solver-real wheel) or `pip install 'ecmsim[fem]'`, or activate an environment "
        "that provides dolfinx 0.11"
    ) from err

if not dolfinx.__version__.startswith("0.11"):  # pragma: no cover
    raise EcmsimError(f"ecmsim needs dolfinx 0.11, found {dolfinx.__version__} at {dolfinx.__file__}")

__all__ = ["MPI", "PETSc", "basix", "dolfinx", "fem", "ufl", "LINEAR_SOLVER_OPTIONS",
           "NONLINEAR_SOLVER_OPTIONS", "POTENTIAL_SOLVER_OPTIONS", "snes_reason", "versions", "options_prefix", "destroy_petsc"]

#: Direct LU through MUMPS: robust for the 2D problems here (10^4-10^6 dofs), serial and parallel.
LINEAR_SOLVER_OPTIONS: dict[str, str | float | int] = {
    "ksp_type": "preonly",
    "pc_type": "lu",
    "pc_factor_mat_solver_type": "mumps",
    "ksp_error_if_not_converged": True,
}


#: Newton (PETSc SNES) for the contact problems: full (semismooth) Newton steps, each solved by
#: the direct LU above. Convergence on the residual only: ||F|| <= snes_rtol ||F_0|| of the load
#: step, or <= snes_atol [N/m, a force per unit depth in 2D] when a step starts converged; a small
#: Newton step alone (snes_stol) must not count as converged. A failure is reported by the
#: caller (see :func:`snes_reason`), never raised from inside PETSc.
NONLINEAR_SOLVER_OPTIONS: dict[str, str | float | int] = {
    "snes_type": "newtonls",
    # No line search: with the active set (contact or not) taken at every quadrature point,
    # backtracking on ||F||^2 stalls at active-set switches, full steps converge (docs/contact.md).
    "snes_linesearch_type": "basic",
    "snes_rtol": 1e-9,
    "snes_atol": 1e-10,
    "snes_stol": 0.0,
    "snes_max_it": 25,
    "snes_error_if_not_converged": False,
    **LINEAR_SOLVER_OPTIONS,
}


#: Newton for the electrolyte potential with Butler–Volmer kinetics: a monotone problem, so
#: Newton with backtracking converges from phi = 0 even in the Tafel regime. Residual in A/m
#: (a current per unit depth in 2D); snes_atol far below any current of interest.
POTENTIAL_SOLVER_OPTIONS: dict[str, str | float | int] = {
    **NONLINEAR_SOLVER_OPTIONS,
    "snes_linesearch_type": "bt",
    "snes_rtol": 1e-10,
    "snes_atol": 1e-14,
    "snes_max_it": 50,
}


def snes_reason(snes) -> str:
    """The name of a SNES converged/diverged reason, e.g. ``DIVERGED_MAX_IT``."""
    reason = snes.getConvergedReason()
    for name in dir(PETSc.SNES.ConvergedReason):
        if not name.startswith("_") and getattr(PETSc.SNES.ConvergedReason, name) == reason:
            return name
    return str(reason)


_PREFIX_NUMBER = itertools.count()


def options_prefix(name: str) -> str:
    """A PETSc options prefix unique to one solver object, e.g. ``ecmsim_contact_3_``.

    Numbered in creation order, which is the same on every MPI rank (``id()`` is not)."""
    return f"ecmsim_{name}_{next(_PREFIX_NUMBER)}_"


def destroy_petsc(problem) -> None:
    """Destroy a dolfinx Linear/NonlinearProblem's PETSc objects now, at the same point on every rank.

    Their destroy is collective. Left to Python, it happens whenever each rank drops or
    garbage-collects the problem, which differs between ranks (rank 0 also plots and writes),
    and a rank waiting in a collective destroy that the others never reach deadlocks the run.
    petsc4py's destroy is idempotent: the problem's own ``__del__`` later does nothing more.
    """
    for obj in (problem.solver, problem.A, problem.P_mat, problem.b, problem.x):
        if obj is not None:
            obj.destroy()


def versions() -> dict[str, str]:
    """Versions of the numerical stack, for provenance."""
    import gmsh
    import numpy
    import scipy

    out = {
        "dolfinx": dolfinx.__version__,
        "basix": basix.__version__,
        "ufl": getattr(ufl, "__version__", "unknown"),
        "petsc": ".".join(str(v) for v in PETSc.Sys.getVersion()),
        "mpi": MPI.Get_library_version().splitlines()[0].strip(),
        "gmsh": gmsh.__version__,
        "numpy": numpy.__version__,
        "scipy": scipy.__version__,
    }
    if dolfinx_solver is not None:
        out["dolfinx_solver"] = dolfinx_solver.__version__
    return out
