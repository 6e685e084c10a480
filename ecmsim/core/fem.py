"""The one place that imports the finite-element stack.

With the PyPI wheel ``dolfinx-solver-real``, ``dolfinx_solver`` must be imported before
``mpi4py``, ``petsc4py`` and ``dolfinx``: it loads the MPI runtime first so that every binding
resolves to the same libmpi. Where dolfinx comes from conda, spack or a cluster module there
is no ``dolfinx_solver`` and the upstream modules are imported directly.

Every other ecmsim module gets dolfinx, ufl, PETSc and MPI from here::

    from ecmsim.core.fem import MPI, PETSc, dolfinx, fem, ufl

This module also holds the solver defaults (PETSc options) and the convergence checks, so that
one place decides how linear and nonlinear systems are solved.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass

import numpy as np

from ecmsim.core.errors import EcmsimError

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

from ecmsim.core import interrupt  # noqa: E402

interrupt.reclaim()   # PETSc put its own SIGTERM handler in place on import: ours ends a run cleanly

if not dolfinx.__version__.startswith("0.11"):  # pragma: no cover
    raise EcmsimError(f"ecmsim needs dolfinx 0.11, found {dolfinx.__version__} at {dolfinx.__file__}")

# Processes that run at once share dolfinx's JIT cache (~/.cache/fenics): the runs of a study or a
# sweep with -j N, the workers of `make test`. The first to need a form compiles it; the others wait
# for its file and give up after dolfinx's default of 10 s ("JIT compilation timed out"), which one
# compile can exceed on a loaded machine. Wait up to 5 minutes instead; a dolfinx_jit_options.json
# (user or working folder) still overrides this default.
dolfinx.jit.DOLFINX_DEFAULT_JIT_OPTIONS["timeout"] = (300, "Timeout for JIT compilation [s] (ecmsim: 300)")

__all__ = ["MPI", "PETSc", "basix", "dolfinx", "fem", "ufl", "LINEAR_SOLVER_OPTIONS",
           "NONLINEAR_SOLVER_OPTIONS", "POTENTIAL_SOLVER_OPTIONS", "ITERATIVE_LINEAR_OPTIONS", "ITERATIVE_MIN_DOFS", "LinearSolverPlan",
           "linear_solver", "rigid_body_modes", "snes_reason", "versions", "options_prefix", "destroy_petsc",
           "stop_stalled_newton", "newton_stalled", "STALL_RATIO", "residual_assembler"]

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


#: Krylov + algebraic multigrid for symmetric positive definite elasticity: conjugate gradients
#: preconditioned by PETSc's smoothed-aggregation AMG (GAMG) with the rigid-body modes as its
#: near-nullspace (see :func:`rigid_body_modes`); Chebyshev/Jacobi smoothing. The wheel's PETSc
#: has no hypre (BoomerAMG) and no ML, so GAMG is the one AMG here. Converged when the
#: preconditioned residual has dropped by ksp_rtol (1e-10: displacements agree with the direct
#: solve to ~1e-8 relative, far below discretisation error).
ITERATIVE_LINEAR_OPTIONS: dict[str, str | float | int] = {
    "ksp_type": "cg",
    "ksp_rtol": 1e-10,
    "ksp_atol": 1e-30,
    "ksp_max_it": 1000,
    "ksp_error_if_not_converged": True,
    "pc_type": "gamg",
    "pc_gamg_type": "agg",
    "pc_gamg_agg_nsmooths": 1,
    # threshold 0 (keep every non-zero connection in the aggregation graph) and point Jacobi
    # smoothing: fewer AMG set-up products and cheaper smoothing steps; more CG iterations
    # (39 vs 21 at 10^6 dofs in 2D) but half the CPU time of set-up + solve (8.3 vs 16.2 s;
    # benchmarks, docs/mechanics.md "Tuning the AMG")
    "pc_gamg_threshold": 0.0,
    "pc_gamg_coarse_eq_limit": 1000,
    "pc_gamg_square_graph": 1,
    "mg_levels_ksp_type": "chebyshev",
    "mg_levels_pc_type": "jacobi",    # SOR: fewer CG iterations (21 vs 28) but each costs more
    "mg_levels_ksp_max_it": 2,
}

#: ``solver.linear = "auto"`` chooses the iterative solver at or above this many dofs (global,
#: all components), per space dimension: where CG + GAMG costs no more CPU time than MUMPS's LDL^T
#: and less memory. Measured on this project's window, P2, one rank, direct and iterative in turn
#: at each size (``benchmarks/bench_scaling.py --crossover``, docs/figures/crossover): in 2D the
#: CPU time ratio direct / iterative is 0.85 at 1.0e5 dofs, 1.03 at 3.1e5, 1.04 at 6.2e5, 1.41 at
#: 1.0e6 (crossing 1 at 2.6e5), memory ratio 1.2 -> 2.0; in 3D 0.62 at 1.5e4, 0.80 at 3.5e4, 1.35
#: at 6.4e4, 1.81 at 1.0e5 (crossing 1 at 4.6e4), memory ratio 1.1 -> 2.3.
ITERATIVE_MIN_DOFS = {2: 300_000, 3: 50_000}

#: Problem kinds of :func:`linear_solver`: which Krylov method fits their operator.
_KRYLOV = {
    "elasticity": "cg",     # symmetric positive definite
    "creep": "cg",          # Newton on a symmetric tangent (viscoplastic at quadrature points)
    "contact": "gmres",     # Nitsche contact: the skew-symmetric default variant is not symmetric
    "potential": "cg",      # a scalar Poisson-type problem (no near-nullspace beyond constants)
}


@dataclass
class LinearSolverPlan:
    """The linear solver chosen for one problem: its PETSc options and what it needs on the matrix.

    Attributes:
        method: ``"direct"`` (MUMPS: LDL^T for symmetric kinds, LU for contact) or ``"iterative"`` (Krylov + GAMG).
        options: PETSc options (without prefix) to pass as ``petsc_options``.
        spaces: the unknowns' function spaces (several for a blocked problem).
        kind: the problem kind (see :func:`linear_solver`).
        dofs: global number of unknowns (all components, all blocks).
    """

    method: str
    options: dict
    spaces: list
    kind: str
    dofs: int

    def attach(self, A) -> None:
        """Attach the rigid-body near-nullspace to the system matrix ``A`` (iterative only).

        Call once after the problem is created (``problem.A``), before the first solve: GAMG
        builds its coarse spaces from these vectors; without them elasticity converges slowly."""
        if self.method != "iterative" or self.kind == "potential":
            return
        A.setNearNullSpace(rigid_body_modes(self.spaces))


def _global_dofs(spaces) -> int:
    return sum(V.dofmap.index_map.size_global * V.dofmap.index_map_bs for V in spaces)


def linear_solver(kind: str, spaces, linear: str = "auto", rtol: float | None = None) -> LinearSolverPlan:
    """The one place that decides how a linear system (or a Newton step's) is solved.

    Args:
        kind: ``elasticity``, ``creep`` (symmetric: CG), ``contact`` (not symmetric: GMRES) or
            ``potential`` (scalar: CG + GAMG without the rigid-body modes).
        spaces: the unknown's function space, or the list of them of a blocked problem (the
            near-nullspace then holds every block's rigid-body modes, zero on the others).
        linear: ``direct`` (MUMPS LU), ``iterative`` (Krylov + GAMG) or ``auto``: iterative at or
            above :data:`ITERATIVE_MIN_DOFS` dofs for the mesh's dimension.
        rtol: relative tolerance of the Krylov method (default that of ITERATIVE_LINEAR_OPTIONS).

    Returns:
        a :class:`LinearSolverPlan`: pass ``plan.options`` as ``petsc_options`` and call
        ``plan.attach(problem.A)`` once the problem exists. Usage::

            plan = linear_solver("elasticity", V, "auto")
            problem = fem.petsc.LinearProblem(a, L, bcs, petsc_options=plan.options, ...)
            plan.attach(problem.A)
    """
    if kind not in _KRYLOV:
        raise EcmsimError(f"linear solver for problem kind '{kind}' unknown (known: {', '.join(_KRYLOV)})")
    if linear not in ("auto", "direct", "iterative"):
        raise EcmsimError(f"solver.linear = '{linear}' not one of auto, direct, iterative")
    spaces = list(spaces) if isinstance(spaces, (list, tuple)) else [spaces]
    dofs = _global_dofs(spaces)
    gdim = spaces[0].mesh.geometry.dim
    if linear == "auto":
        linear = "iterative" if dofs >= ITERATIVE_MIN_DOFS.get(gdim, ITERATIVE_MIN_DOFS[3]) else "direct"
    if linear == "direct":
        options = dict(LINEAR_SOLVER_OPTIONS)
        if _KRYLOV[kind] == "cg":
            # a symmetric operator: MUMPS LDL^T, half the flops and factor memory of LU (the creep
            # Newton steps of the cycled Li/PLL window, 12 758 dofs: set-up -30 %, solve -35 %)
            options["pc_type"] = "cholesky"
        return LinearSolverPlan("direct", options, spaces, kind, dofs)
    options = dict(ITERATIVE_LINEAR_OPTIONS)
    options["ksp_type"] = _KRYLOV[kind]
    if kind == "contact":
        # restarted GMRES with a long restart, right preconditioned: the true residual is
        # what converges, as in the direct solve; the Newton tolerance decides the rest
        options.update({"ksp_gmres_restart": 200, "ksp_pc_side": "right"})
    if rtol is not None:
        options["ksp_rtol"] = rtol
    return LinearSolverPlan("iterative", options, spaces, kind, dofs)


def rigid_body_modes(spaces):
    """Rigid-body motions of every space in ``spaces`` as a PETSc near-nullspace.

    Per space of a ``gdim``-vector Lagrange field: ``gdim`` translations and ``gdim(gdim-1)/2``
    rotations (3 modes in 2D, 6 in 3D) from the dof coordinates; for a blocked problem each
    block's modes are zero on the other blocks (each body moves rigidly on its own), in the
    layout of dolfinx's monolithic ("mpi") block vector. Orthonormalised before use.
    """
    spaces = list(spaces) if isinstance(spaces, (list, tuple)) else [spaces]
    comm = spaces[0].mesh.comm
    vectors = []
    for k, V in enumerate(spaces):
        bs = V.dofmap.index_map_bs
        n_owned = V.dofmap.index_map.size_local
        x = V.tabulate_dof_coordinates()[:n_owned]
        # rotations about the (global) centroid: better conditioned than about the origin
        total = comm.allreduce(np.array([*x.sum(axis=0), len(x)]), op=MPI.SUM)
        x = x - total[:3] / max(total[3], 1)
        modes = []
        for i in range(bs):
            m = np.zeros((n_owned, bs))
            m[:, i] = 1.0
            modes.append(m)
        for i, j in ((0, 1), (1, 2), (2, 0))[: (1 if bs == 2 else 3)]:
            m = np.zeros((n_owned, bs))
            m[:, i], m[:, j] = -x[:, j], x[:, i]
            modes.append(m)
        for m in modes:
            blocks = [np.zeros(W.dofmap.index_map.size_local * W.dofmap.index_map_bs) for W in spaces]
            blocks[k] = m.ravel()
            vectors.append(np.concatenate(blocks))
    petsc = [PETSc.Vec().createWithArray(v.copy(), comm=comm) for v in vectors]
    _orthonormalize(petsc)
    return PETSc.NullSpace().create(vectors=petsc, comm=comm)


def _orthonormalize(vectors) -> None:
    """Modified Gram-Schmidt, in place (collective)."""
    for i, v in enumerate(vectors):
        for w in vectors[:i]:
            v.axpy(-v.dot(w), w)
        norm = v.norm()
        if norm > 0:
            v.scale(1.0 / norm)


def snes_reason(snes) -> str:
    """The name of a SNES converged/diverged reason, e.g. ``DIVERGED_MAX_IT``."""
    reason = snes.getConvergedReason()
    for name in dir(PETSc.SNES.ConvergedReason):
        if not name.startswith("_") and getattr(PETSc.SNES.ConvergedReason, name) == reason:
            return name
    return str(reason)


#: A Newton whose residual has not fallen by this factor over two iterations, twice in a row, has
#: stalled (:func:`stop_stalled_newton`).
STALL_RATIO = 0.5


def stop_stalled_newton(snes) -> None:
    """Stop a Newton iteration that has lost its convergence after a few iterations, not at snes_max_it.

    Newton converging on a smooth problem cuts the residual by far more than half every iteration
    once it is near the answer. A time step whose Newton wanders instead (a creep step too long for
    the power law: the residual falls for three iterations, then hovers and grows) ran to
    ``snes_max_it`` (25) before the time loop could shrink the step; it is now stopped, with reason
    ``DIVERGED_DTOL``, as soon as the residual norm r_k has, twice in a row, not halved over two
    iterations (r_k > STALL_RATIO r_(k-2) at k and k - 1, k >= 4): five or six iterations on the
    cycled Li/PLL window instead of 25. A converging Newton is never stopped (the convergence test
    runs first); one stopped here would have failed at snes_max_it in every case seen.

    Installs a SNES monitor (PETSc checks the reason right after the monitors of an iteration).
    """
    history: list[float] = []

    def monitor(snes, its: int, fnorm: float) -> None:
        if its == 0:
            history.clear()
        history.append(float(fnorm))
        if its < 4 or snes.getConvergedReason() != 0:
            return
        r = history
        if r[its] > STALL_RATIO * r[its - 2] and r[its - 1] > STALL_RATIO * r[its - 3]:
            snes.setConvergedReason(PETSc.SNES.ConvergedReason.DIVERGED_DTOL)

    snes.setMonitor(monitor)


def newton_stalled(snes) -> bool:
    """True if :func:`stop_stalled_newton` ended the last solve (reason DIVERGED_DTOL)."""
    return snes.getConvergedReason() == PETSc.SNES.ConvergedReason.DIVERGED_DTOL


def _lifting_vanishes(pairs) -> bool:
    """True if every Dirichlet condition of ``pairs`` ((Function, [DirichletBC, ...]), ...) prescribes the
    constant 0 and the Function already holds 0 on its dofs, on every rank (one decision: the same path
    everywhere)."""
    vanishes = True
    for u, bcs in pairs:
        values = u.x.array
        for bc in bcs:
            g = bc.g
            if not hasattr(g, "value") or np.any(np.asarray(g.value) != 0):
                vanishes = False      # a Function or a non-zero constant: lift as usual
            elif np.any(values[bc.dof_indices()[0]] != 0):
                vanishes = False
    comm = pairs[0][0].function_space.mesh.comm if pairs else MPI.COMM_SELF
    return bool(comm.allreduce(vanishes, op=MPI.LAND))


def residual_assembler(pairs):
    """``assemble(snes, x, b, **kargs)``: :func:`dolfinx.fem.petsc.assemble_residual` for a Newton whose
    Dirichlet conditions are zero, without the lifting where it adds nothing. Call it after assigning x to the
    Functions (the residual callbacks of the creep and contact problems do that first).

    dolfinx lifts the residual by b -= A[:, bc] (x - g) on the bc columns, which costs a pass over the Jacobian's
    boundary cells in every residual (3 of 38 ms a Newton iteration on the cycled contact window,
    docs/electrochem.md). It is exactly zero where g = 0 and x = 0 on the bc dofs: Newton starts there (the
    predictors move no bc dof) and its updates keep it (the Jacobian's bc rows are the identity with the
    residual's 0 there). Then only the bc rows are set (b = x - g = 0); otherwise the whole of dolfinx's assembly
    runs. Every rank takes the same path (one logical AND over the ranks).
    ``pairs``: ((Function, [DirichletBC, ...]), ...) of the Newton's unknowns and their conditions."""
    pairs = [(u, list(bcs)) for u, bcs in pairs]
    petsc_la = dolfinx.la.petsc

    def assemble(snes, x, b, u, residual, jacobian, bcs, _blocks=None):
        if not _lifting_vanishes(pairs):
            dolfinx.fem.petsc.assemble_residual(snes, x, b, u, residual, jacobian, bcs, _blocks)
            return
        several = isinstance(residual, (list, tuple))      # blocked or nested
        if several and b.getType() != PETSc.Vec.Type.NEST:
            b.setAttr("_blocks", _blocks)
            x.setAttr("_blocks", _blocks)
        petsc_la._zero_vector(b)
        dolfinx.fem.petsc.assemble_vector(b, residual)
        petsc_la._ghost_update(b, PETSc.InsertMode.ADD, PETSc.ScatterMode.REVERSE)
        if several:
            dolfinx.fem.petsc.set_bc(b, fem.bcs_by_block(fem.extract_function_spaces(residual), bcs), x0=x,
                                     alpha=-1.0)
        else:
            dolfinx.fem.petsc.set_bc(b, bcs, x0=x, alpha=-1.0)
        petsc_la._ghost_update(b, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)

    return assemble


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
