r"""Elastic–viscoplastic (Norton–Arrhenius creep) bodies: backward Euler at quadrature points.

Small strain, additive split :math:`\varepsilon = \varepsilon_e + \varepsilon_c`, isotropic
elasticity :math:`\sigma = K\,\mathrm{tr}\,\varepsilon_e\,I + 2\mu\,\mathrm{dev}\,\varepsilon_e` and
the creep law of :mod:`ecmsim.materials.creep`,

.. math::

    \dot p = A' \left(\frac{q}{\sigma_0}\right)^n, \quad A' = A\,e^{-Q/RT}, \qquad
    \dot\varepsilon_c = \dot p\,\frac{3}{2}\frac{s}{q}, \qquad q = \sqrt{\tfrac32\,s:s}.

Integration (backward Euler, radial return). Over a step :math:`\Delta t`, with the trial stress
:math:`\sigma^{tr} = \mathbb C : (\varepsilon_{n+1} - \varepsilon_{c,n})`, the deviator keeps its
direction and only its size changes: :math:`s_{n+1} = (q/q^{tr})\,s^{tr}`, where q solves the
scalar equation

.. math::

    q + 3\mu\,\Delta t\,A' (q/\sigma_0)^n = q^{tr},

solved per point (numpy, vectorised) by Newton from the upper bound
:math:`\min(q^{tr}, \sigma_0 (q^{tr}/(3\mu\Delta t A'\sigma_0^{-1}))^{1/n})`; the function is convex and
increasing, so the iterates fall monotonically onto the root. Then :math:`\Delta p = (q^{tr}-q)/(3\mu)`,
:math:`\varepsilon_{c,n+1} = \varepsilon_{c,n} + \Delta p\,\tfrac32 s^{tr}/q^{tr}`.

Consistent tangent (the exact derivative of the update, so Newton keeps its quadratic rate):

.. math::

    \mathbb C^{alg} = K\,I\otimes I + 2\mu\left[\theta\,\mathbb I_{dev} + (q' - \theta)\,N\otimes N\right],
    \quad \theta = q/q^{tr}, \quad q' = \frac{dq}{dq^{tr}} = \frac{1}{1 + 3\mu\Delta t A' n q^{n-1}/\sigma_0^n},
    \quad N = s^{tr}/|s^{tr}|.

Tensors are 3x3 at every point (plane strain carries :math:`\varepsilon_{c,zz}` and
:math:`\sigma_{zz}`; in 3D the same code sees a full strain). State (creep strain, equivalent creep
strain p) lives in quadrature spaces (basix quadrature elements of degree 2(k-1), the degree that
integrates :math:`\sigma:\varepsilon(v)` of a degree-k displacement exactly in the elastic case). The
residual :math:`\int \sigma_{n+1} : \varepsilon(v)\,dx - L(v)` and the tangent form are compiled once;
PETSc SNES calls the constitutive update at every residual evaluation (the update sits in front of
dolfinx's residual assembly), and the Jacobian that follows is assembled at the same point.

With A = 0 (or no creep keys, or dt = 0) the update returns the elastic stress and the tangent
is the elastic one, so the first Newton step solves the linear problem exactly.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from ecmsim.core.errors import SolverError
from ecmsim.core.fem import (LINEAR_SOLVER_OPTIONS, MPI, NONLINEAR_SOLVER_OPTIONS, PETSc, basix, destroy_petsc, dolfinx, fem,
                        linear_solver, newton_stalled, options_prefix, residual_assembler, stop_stalled_newton, ufl)
from ecmsim.materials import Material
from ecmsim.materials.creep import NortonLaw
from ecmsim.mechanics.dilatation import MeanDilatation
from ecmsim.mechanics.elasticity import ElasticSolution, Support, Traction, dirichlet_bcs, lame_fields
from ecmsim.mesh import TaggedMesh

_I3 = np.eye(3)

#: Absolute Newton tolerance of the time steps, relative to the residual of the load step [-].
LOAD_RESIDUAL_TOLERANCE = 1e-7


def strain3(u):
    """sym(grad u) as a 3x3 UFL tensor: plane strain pads the out-of-plane row and column with 0."""
    e = ufl.sym(ufl.grad(u))
    gdim = e.ufl_shape[0]
    if gdim == 3:
        return e
    return ufl.as_matrix([[e[i, j] if i < gdim and j < gdim else 0 for j in range(3)] for i in range(3)])


def creep_tangent(e, lam, mu, theta, beta, normal, dilatation: MeanDilatation):
    """The consistent tangent applied to a 3x3 UFL strain ``e`` (module docstring), with the volumetric
    part through the mean dilatation of creeping cells (:mod:`ecmsim.mechanics.dilatation`)."""
    I3 = ufl.Identity(3)
    dev = e - ufl.tr(e) / 3 * I3
    return (lam + 2 * mu / 3) * dilatation.trace(e) * I3 + 2 * mu * (theta * dev + beta * ufl.inner(normal, e) * normal)


def creep_dilatation(state, msh, enabled: bool = True) -> MeanDilatation:
    """The mean dilatation of a creep state's creeping cells (A' > 0 at its temperature); with
    ``enabled`` False none (the displacement formulation, which locks once a region creeps)."""
    active = state._rate_q.reshape(-1, state.nq)[:, 0] > 0 if len(state.cells) else np.zeros(0, dtype=bool)
    active &= enabled
    return MeanDilatation(msh, state.cells, state.nq, state.qdeg, active, state.degree, state.points)


def point_laws(tmesh: TaggedMesh, laws: Mapping[str, NortonLaw | None], cells: np.ndarray, nq: int,
               n_owned_cells: int, temperature_K: float):
    """The creep law at every quadrature point of ``cells`` (``nq`` points per cell, in cell order).

    Returns the Arrhenius rate factor A' [1/s] (0 where a region does not creep), the stress
    exponent n and the reference stress sigma0 [Pa] per point, the mask of points of owned cells,
    and region name -> mask of its owned points.
    """
    rate, exponent, s0 = np.zeros(len(cells)), np.ones(len(cells)), np.ones(len(cells))
    for region, law in laws.items():
        if law is None:
            continue
        c = tmesh.cells(region)
        rate[c] = law.rate_factor_per_s(temperature_K)
        exponent[c] = law.stress_exponent
        s0[c] = law.reference_stress_Pa
    cell_of_point = np.repeat(cells, nq)
    owned = np.zeros(len(cell_of_point), dtype=bool)
    owned[: n_owned_cells * nq] = True
    regions = {r: np.isin(cell_of_point, tmesh.cells(r)) & owned for r in tmesh.cell_ids}
    return rate[cell_of_point], exponent[cell_of_point], s0[cell_of_point], owned, regions


def store_point_state(state, st: "PointState") -> None:
    """Write a radial-return result into a creep state's quadrature fields (stress, trial creep
    strain and p, tangent factors theta, beta and normal) and keep its relaxation and trial von Mises."""
    d = state.dofs
    state.stress_q.x.array.reshape(-1, 3, 3)[d] = st.stress
    state.creep_strain_trial.x.array.reshape(-1, 3, 3)[d] = st.creep_strain
    state.p_trial.x.array[d] = st.p
    state.theta.x.array[d] = st.theta
    state.beta.x.array[d] = st.beta
    state.normal.x.array.reshape(-1, 3, 3)[d] = st.normal
    state.relaxation = st.relaxation
    state._q_trial = von_mises3(st.stress)


def creep_increments(state) -> tuple[np.ndarray, np.ndarray]:
    """The creeping points this rank owns (a law with a rate; a mask over the points) and their equivalent creep
    strain increments in the step (trial less committed) [-]."""
    pts = state._owned_points & (state._rate_q > 0)
    return pts, (state.p_trial.x.array[state.dofs] - state.p.x.array[state.dofs])[pts]


def stress_error_indicator(state, increments: tuple[np.ndarray, np.ndarray] | None = None) -> float:
    """The time-step error indicator of a creep update at quadrature points (the formula in
    :meth:`CreepProblem.error_indicator`), for the bonded and the contact creep problems alike. ``increments``:
    :func:`creep_increments` of the state, where the caller has them already."""
    comm = state.tmesh.comm
    # the creeping points (a law with a rate): the error is relative to their stress, elastic regions have none
    pts, dp = creep_increments(state) if increments is None else increments
    w = state._weights[pts]
    q = state._q_trial[pts]
    total = comm.allreduce(float(np.dot(w, q)), op=MPI.SUM)
    if total == 0:
        return 0.0
    mu = state._mu_q[pts]
    n = state._n_q[pts]
    rate0 = state._rate_q[pts] * (state._q_start[pts] / state._s0_q[pts]) ** n
    err = np.minimum(1.5 * mu * np.abs(dp - state.dt_s * rate0), 3 * mu * dp)
    # how much of an earlier error the step itself damps: a relative stress error relaxes at (n - 1) times the
    # relative creep rate (at least once it), so over the step by 1 - exp(-rho), rho the (n - 1)-fold relative
    # drop: each point's own, or the creeping region's mean where that is larger (the stress redistributes)
    drop = 3 * mu * dp * np.maximum(n - 1.0, 1.0)
    damping = comm.allreduce(float(np.dot(w, drop)), op=MPI.SUM) / total
    # err > 0 needs dp > 0, so drop > 0 there and the damping below is positive wherever it divides
    own_drop = np.divide(drop, q, out=np.zeros_like(drop), where=q > 0)
    kept = np.divide(err, -np.expm1(-np.maximum(own_drop, damping)), out=np.zeros_like(err), where=err > 0)
    return float(comm.allreduce(float(np.dot(w, kept)), op=MPI.SUM) / total / state.error_tolerance)


def region_metrics(state) -> dict[str, float]:
    """Per-region von Mises mean and max [Pa], equivalent creep strain max and mean [-] and the largest
    principal total strain magnitude [-] of a creep state at quadrature points (a :class:`CreepProblem`
    or the contact problems' constitutive object: ``tmesh``, ``stress_q``, ``p``, ``dofs``,
    ``_region_forms``, ``region_of_point``, ``_weights``, ``_strain``).

    Means are area averages, maxima over the quadrature points (the stress the law sees)."""
    comm = state.tmesh.comm
    vm = von_mises3(state.stress_q.x.array.reshape(-1, 3, 3)[state.dofs])
    p = state.p.x.array[state.dofs]
    strain = np.abs(np.linalg.eigvalsh(state._strain)).max(axis=1) if len(state._strain) else np.zeros(0)
    out = {}
    for region, (vm_form, area_form) in state._region_forms.items():
        area = comm.allreduce(fem.assemble_scalar(area_form), op=MPI.SUM)
        total = comm.allreduce(fem.assemble_scalar(vm_form), op=MPI.SUM)
        mask = state.region_of_point[region]
        out[f"{region}_von_mises_mean_Pa"] = float(total / area)
        out[f"{region}_von_mises_max_Pa"] = comm.allreduce(float(vm[mask].max()) if mask.any() else 0.0, op=MPI.MAX)
        out[f"{region}_creep_strain_max"] = comm.allreduce(float(p[mask].max()) if mask.any() else 0.0, op=MPI.MAX)
        # the area mean: the maximum sits at singular points (void tips) when Li creeps freely there
        out[f"{region}_creep_strain_mean"] = comm.allreduce(float(np.dot(state._weights[mask], p[mask])),
                                                            op=MPI.SUM) / area
        # the small-strain check (mechanics/validity.py): elastic + creep + growth strain of sym grad u
        out[f"{region}_total_strain_max"] = comm.allreduce(float(strain[mask].max()) if mask.any() else 0.0,
                                                           op=MPI.MAX)
    return out


@dataclass
class PointState:
    """What the constitutive update returns for a set of points (numpy, 3x3 tensors)."""

    stress: np.ndarray        # (N, 3, 3) [Pa]
    creep_strain: np.ndarray  # (N, 3, 3) [-], end of step
    p: np.ndarray             # (N,) equivalent creep strain, end of step [-]
    theta: np.ndarray         # (N,) q / q_trial
    beta: np.ndarray          # (N,) q' - theta
    normal: np.ndarray        # (N, 3, 3) unit deviatoric direction N
    relaxation: np.ndarray    # (N,) 1 - theta: relative drop of von Mises stress by creep in this step


def radial_return(strain: np.ndarray, creep_strain_old: np.ndarray, p_old: np.ndarray, lam: np.ndarray,
                  mu: np.ndarray, rate_factor_per_s: np.ndarray, exponent: np.ndarray, reference_stress_Pa: np.ndarray,
                  dt_s: float) -> PointState:
    """Backward-Euler Norton update at N points (see the module docstring). Arrays per point."""
    ee = strain - creep_strain_old
    tr = np.trace(ee, axis1=1, axis2=2)
    bulk = lam + 2.0 * mu / 3.0
    s_tr = 2.0 * mu[:, None, None] * (ee - tr[:, None, None] / 3.0 * _I3)
    norm_s = np.sqrt(np.einsum("nij,nij->n", s_tr, s_tr))
    q_tr = np.sqrt(1.5) * norm_s
    k = 3.0 * mu * dt_s * rate_factor_per_s / reference_stress_Pa     # x + k x^n = x_tr, x = q / sigma0
    active = (k > 0) & (q_tr > 0)
    theta = np.ones_like(q_tr)
    qprime = np.ones_like(q_tr)
    if np.any(active):
        n = exponent[active]
        ka = k[active]
        x_tr = q_tr[active] / reference_stress_Pa[active]
        x = np.minimum(x_tr, (x_tr / ka) ** (1.0 / n))     # >= root: Newton falls monotonically onto it
        for _ in range(200):
            f = x + ka * x**n - x_tr
            step = f / (1.0 + n * ka * x ** (n - 1))
            x = np.maximum(x - step, 0.0)
            if np.all(np.abs(step) <= 1e-15 * x_tr):
                break
        theta[active] = x / x_tr
        qprime[active] = 1.0 / (1.0 + n * ka * x ** (n - 1))
    with np.errstate(invalid="ignore", divide="ignore"):
        normal = np.where(norm_s[:, None, None] > 0, s_tr / norm_s[:, None, None], 0.0)
    dp = (1.0 - theta) * q_tr / (3.0 * mu)
    stress = bulk[:, None, None] * tr[:, None, None] * _I3 + theta[:, None, None] * s_tr
    creep = creep_strain_old + (dp * np.sqrt(1.5))[:, None, None] * normal   # dp (3/2) s/q
    return PointState(stress, creep, p_old + dp, theta, qprime - theta, normal, 1.0 - theta)


def von_mises3(s: np.ndarray) -> np.ndarray:
    """Von Mises stress of (N, 3, 3) tensors [Pa]."""
    dev = s - np.trace(s, axis1=1, axis2=2)[:, None, None] / 3.0 * _I3
    return np.sqrt(1.5 * np.einsum("nij,nij->n", dev, dev))


class PointHooks:
    """What the plating/stripping problem (:class:`~ecmsim.electrochem.cycling.CyclingProblem`) reads and
    writes on a creep state at quadrature points, shared by the bonded :class:`CreepProblem` and the
    contact problems' :class:`~ecmsim.mechanics.creep_contact.CreepConstitutive`.

    The state provides ``tmesh``, ``points`` (reference quadrature points), ``cells`` (local cells, owned
    and ghost), ``nq``, ``cell_of_point``, ``dofs`` ((cell, point) -> quadrature dof), ``stress_q``,
    ``_weights`` and ``_owned_points`` (per point), the DG0 Lame fields ``lam``, ``mu`` with their
    material values ``_lam0``, ``_mu0``, and ``eigenstrain`` ((N, 3, 3), subtracted from the strain in
    the constitutive update; zero by default).
    """

    def quadrature_points(self) -> np.ndarray:
        """Coordinates (N, gdim) of every local quadrature point, in the order of the point arrays [m]."""
        x = fem.Expression(ufl.SpatialCoordinate(self.tmesh.mesh), self.points)
        return x.eval(self.tmesh.mesh, self.cells).reshape(-1, self.tmesh.mesh.geometry.dim)

    def set_modulus_factor(self, cell_factor: np.ndarray) -> None:
        """Scale both Lame parameters of every local cell (ghosts included) by ``cell_factor`` relative to
        the materials' values (softening by porous Li); the compiled forms see it (no recompilation)."""
        self.lam.x.array[self.cells] = self._lam0[self.cells] * cell_factor
        self.mu.x.array[self.cells] = self._mu0[self.cells] * cell_factor
        self._lam_q = self.lam.x.array[self.cell_of_point]
        self._mu_q = self.mu.x.array[self.cell_of_point]


class CreepProblem(PointHooks):
    """Elastic–creeping bodies on a tagged mesh, bonded; build once, advance in time steps.

    Args:
        tmesh: mesh with cell tags naming the regions of ``materials``.
        materials: region name -> Material.
        laws: region name -> NortonLaw (None or missing: elastic region).
        supports, tractions: as for :class:`~ecmsim.mechanics.elasticity.PlaneStrainElasticity`.
        degree: Lagrange degree of the displacement.
        temperature_K: temperature of the Arrhenius factor [K].
        petsc_options: overrides of :data:`ecmsim.core.fem.NONLINEAR_SOLVER_OPTIONS`.
        linear: the Newton steps' linear solver (:func:`ecmsim.core.fem.linear_solver`, kind ``creep``):
            ``direct`` (MUMPS), ``iterative`` (CG + GAMG with the rigid-body near-nullspace; the
            consistent tangent is symmetric positive definite) or ``auto`` (by problem size).
        mean_dilatation: B-bar in creeping cells (:mod:`ecmsim.mechanics.dilatation`); False gives the
            plain displacement formulation, which locks volumetrically once a region creeps (kept
            for the locking benchmarks).

    Verbs (the time loop's): :meth:`advance` (t, dt) -> Newton iterations, :meth:`accept`,
    :meth:`reject`, :meth:`metrics`, :meth:`solution`.
    """

    def __init__(self, tmesh: TaggedMesh, materials: Mapping[str, Material], laws: Mapping[str, NortonLaw | None],
                 supports: Sequence[Support], tractions: Sequence[Traction] = (), degree: int = 2,
                 temperature_K: float = 333.15, petsc_options: Mapping | None = None, linear: str = "auto",
                 mean_dilatation: bool = True):
        self.tmesh = tmesh
        self.materials = dict(materials)
        self.laws = {r: laws.get(r) for r in tmesh.cell_ids}
        self.degree = degree
        self.temperature_K = temperature_K
        msh = tmesh.mesh
        gdim = msh.geometry.dim
        self.V = fem.functionspace(msh, ("Lagrange", degree, (gdim,)))
        self.u = fem.Function(self.V, name="displacement_m")
        self.u_old = fem.Function(self.V)
        self.lam, self.mu = lame_fields(tmesh, self.materials)

        # Quadrature spaces: the degree that integrates sigma : eps(v) exactly for elastic bodies.
        self.qdeg = max(2 * (degree - 1), 1)
        cell = msh.topology.cell_name()
        Qs = fem.functionspace(msh, basix.ufl.quadrature_element(cell, value_shape=(), degree=self.qdeg))
        Qt = fem.functionspace(msh, basix.ufl.quadrature_element(cell, value_shape=(3, 3), degree=self.qdeg))
        self.Qs, self.Qt = Qs, Qt
        self.stress_q = fem.Function(Qt, name="stress_Pa")
        self.creep_strain = fem.Function(Qt, name="creep_strain")          # committed (end of last accepted step)
        self.creep_strain_trial = fem.Function(Qt)
        self.p = fem.Function(Qs, name="equivalent_creep_strain")
        self.p_trial = fem.Function(Qs)
        self.theta = fem.Function(Qs)
        self.beta = fem.Function(Qs)
        self.normal = fem.Function(Qt)
        self.theta.x.array[:] = 1.0
        self.relaxation = np.zeros(0)

        imap = msh.topology.index_map(msh.topology.dim)
        self.cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
        self.n_owned_cells = imap.size_local
        self.points = Qs.element.interpolation_points
        nq = self.points.shape[0]
        self.dofs = Qs.dofmap.list[self.cells].reshape(-1)         # (cell, point) -> scalar quadrature dof
        self.nq = nq
        cell_of_point = np.repeat(self.cells, nq)
        self._lam_q = self.lam.x.array[cell_of_point]
        self._mu_q = self.mu.x.array[cell_of_point]
        (self._rate_q, self._n_q, self._s0_q, self._owned_points,
         self.region_of_point) = point_laws(tmesh, self.laws, self.cells, nq, self.n_owned_cells, temperature_K)
        self.dt_s = 0.0
        #: Eigenstrain at every local point (N, 3, 3) [-], subtracted from the strain before the
        #: constitutive update (growth of plated Li: ecmsim.electrochem.cycling); zero by default.
        self.eigenstrain = np.zeros((len(cell_of_point), 3, 3))
        self.cell_of_point = cell_of_point
        self._lam0, self._mu0 = self.lam.x.array.copy(), self.mu.x.array.copy()
        self._q_start = np.zeros(len(cell_of_point))    # von Mises at the start of the step [Pa]
        self._dt_last = 0.0
        self._du_last = None

        # Forms: residual and consistent tangent, compiled once.
        v, du = ufl.TestFunction(self.V), ufl.TrialFunction(self.V)
        dx = ufl.Measure("dx", domain=msh, subdomain_data=tmesh.cell_tags,
                         metadata={"quadrature_degree": self.qdeg, "quadrature_scheme": "default"})
        self.dx = dx
        n = ufl.FacetNormal(msh)
        ds = ufl.Measure("ds", domain=msh, subdomain_data=tmesh.facet_tags)
        I3 = ufl.Identity(3)
        self.dilatation = creep_dilatation(self, msh, mean_dilatation)

        def tangent(e):
            return creep_tangent(e, self.lam, self.mu, self.theta, self.beta, self.normal, self.dilatation)

        F = ufl.inner(self.stress_q, strain3(v)) * dx
        self.pressures: dict[str, object] = {}
        self.load = fem.Constant(msh, PETSc.ScalarType(1.0))
        for load in tractions:
            tag = tmesh.facet_ids.get(load.facet)
            if tag is None:
                raise SolverError(f"load on facet '{load.facet}': the mesh has no such facet tag")
            if load.pressure_Pa is not None:
                p = fem.Constant(msh, PETSc.ScalarType(load.pressure_Pa))
                self.pressures[load.facet] = p
                F -= ufl.inner(-self.load * p * n, v) * ds(tag)
            if load.traction is not None:
                F -= self.load * ufl.inner(load.traction(ufl.SpatialCoordinate(msh), n), v) * ds(tag)
        J = ufl.inner(tangent(strain3(du)), strain3(v)) * dx
        self.bcs = [bc for s in supports for bc, _ in dirichlet_bcs(self.V, tmesh.facets(s.facet), s)]
        self.plan = linear_solver("creep", self.V, linear)
        options = dict(NONLINEAR_SOLVER_OPTIONS)
        for key in LINEAR_SOLVER_OPTIONS:
            options.pop(key)
        options.update(self.plan.options)
        # Backtracking: a creeping region that no longer locks flows freely, and at large dt full Newton
        # steps from the predictor overshoot the power law (Li-Sn cycling window, first half cycle: 12 steps
        # rejected after 25 iterations each with full steps, none with backtracking). The law is smooth
        # (no active set, unlike contact), so near the root the full step is taken and Newton stays quadratic.
        options["snes_linesearch_type"] = "bt"
        options.update(petsc_options or {})
        self.problem = fem.petsc.NonlinearProblem(F, self.u, bcs=self.bcs, J=J, petsc_options=options,
                                                  petsc_options_prefix=options_prefix("creep"))
        self.plan.attach(self.problem.A)
        self._strain_expr = fem.Expression(strain3(self.u), self.points)
        ctx = {"u": self.problem.u, "residual": self.problem.F, "jacobian": self.problem.J, "bcs": self.bcs}
        assemble = residual_assembler([(self.u, self.bcs)])

        def residual(snes, x, b, **kw):
            dolfinx.la.petsc._ghost_update(x, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
            fem.petsc.assign(x, self.u)
            self._update_points()
            assemble(snes, x, b, **kw)

        self.problem.solver.setFunction(residual, self.problem.b, kargs=ctx)
        self.problem.solver.setConvergenceHistory(reset=True)
        stop_stalled_newton(self.problem.solver)   # a too long step fails in ~6 iterations, not 25
        self._atol = float(self.problem.solver.getTolerances()[1])
        self._first = True

        # Post-processing: stress as DG(k-1) (L2 projection of the quadrature stress: exact when
        # the stress is a polynomial of degree k-1, i.e. elastic), von Mises per region.
        S = fem.functionspace(msh, ("Discontinuous Lagrange", degree - 1, (4,)))
        self.stress = fem.Function(S, name="stress_Pa")
        w, z = ufl.TrialFunction(S), ufl.TestFunction(S)
        s = self.stress_q
        self._projection = fem.petsc.LinearProblem(
            ufl.inner(w, z) * dx, ufl.inner(ufl.as_vector([s[0, 0], s[1, 1], s[2, 2], s[0, 1]]), z) * dx,
            u=self.stress, petsc_options={"ksp_type": "preonly", "pc_type": "lu",
                                          "pc_factor_mat_solver_type": "mumps"},
            petsc_options_prefix=options_prefix("stress_projection"))
        dev = s - ufl.tr(s) / 3 * I3
        vm = ufl.sqrt(1.5 * ufl.inner(dev, dev))
        self._region_forms = {r: (fem.form(vm * dx(tag)), fem.form(1.0 * dx(tag)))
                              for r, tag in tmesh.cell_ids.items()}
        self._update_points()
        # quadrature weight times |det J| of every point (the integral of a quadrature test function)
        weights = fem.assemble_vector(fem.form(ufl.TestFunction(Qs) * dx))
        self._weights = weights.array[self.dofs].copy()

    # -- constitutive update --------------------------------------------------------------------

    def _update_points(self) -> None:
        """Stress, trial creep state and tangent at every quadrature point from the current u."""
        self._strain = self._strain_expr.eval(self.tmesh.mesh, self.cells).reshape(-1, 3, 3)
        eps = self.dilatation.project_points(self._strain - self.eigenstrain)
        ec_old = self.creep_strain.x.array.reshape(-1, 3, 3)[self.dofs]
        p_old = self.p.x.array[self.dofs]
        st = radial_return(eps, ec_old, p_old, self._lam_q, self._mu_q, self._rate_q, self._n_q, self._s0_q, self.dt_s)
        store_point_state(self, st)

    # -- the time loop's verbs ------------------------------------------------------------------

    def set_pressure(self, facet: str, pressure_Pa: float) -> None:
        """Change the pressure of a loaded facet group [Pa] (no recompilation)."""
        self.pressures[facet].value = pressure_Pa

    name = "mechanics"
    #: Tolerance of :meth:`error_indicator` (``protocol.error_tolerance``).
    error_tolerance = 0.01

    def error_indicator(self) -> float:
        r"""Estimated local error of the last step over the tolerance (acceptable up to 1, :mod:`ecmsim.run.timeloop`).

        Backward Euler's local error in the creep increment is about half the difference between
        the backward (:math:`\Delta p`) and the forward (:math:`\Delta t\,\dot p_n`) increments; times
        :math:`3\mu` it is an error in the von Mises stress, never more than the stress drop of the step
        itself (the update moves the stress monotonically). The steps' errors add up: a relative stress
        error relaxes at (n - 1) times the relative creep rate, so a step damps the earlier ones by
        :math:`1 - e^{-\rho}` and the error settles near the step's error over that. :math:`\rho` is each
        point's own (n - 1)-fold relative drop :math:`\rho_x = \max(n-1, 1)\,3\mu\Delta p / q_{n+1}`, or the
        creeping region's mean :math:`\bar\rho = \int_c \max(n-1, 1)\,3\mu\Delta p\,dx / \int_c q_{n+1}\,dx`
        where that is larger (the stress redistributes), and the indicator is the area integral over the
        creeping region c (the points with a creep law) relative to its stress (an L1 relative error, so that
        singular points, void tips whose elastic stress a power law relaxes in far less than any useful step,
        do not decide):

        .. math:: \frac{1}{\mathrm{tol}}\,\frac{\int_c \min(\tfrac32\mu|\Delta p - \Delta t\,\dot p_n|,\ 3\mu\Delta p)
           \,/\,(1 - e^{-\max(\rho_x, \bar\rho)})\,dx}{\int_c q_{n+1}\,dx}.

        Where creep is uniform this is the error over :math:`1 - e^{-\bar\rho}`. Before, :math:`\bar\rho` and
        the normalisation ran over the whole window: a few points that creep fast (the contact edges of a rough
        window) then had their small error multiplied by the slow bulk's :math:`1/\bar\rho`, and an elastic
        region's stress diluted both (docs/creep.md, "The step indicator's two defects"). Steady creep
        (constant stress) gives 0 whatever the step.
        """
        return stress_error_indicator(self)

    def advance(self, t_s: float, dt_s: float, step=None) -> int:
        """Solve the step from the last accepted state over dt_s (0: the elastic response to the loads).

        Returns the Newton iterations; SolverError if Newton fails (the caller may reject and retry)."""
        self.dt_s = float(dt_s)
        snes = self.problem.solver
        if dt_s > 0 and self._dt_last > 0:
            # Predictor: the last accepted step's displacement increment, scaled by the step ratio
            # (at most 1: creep slows down as stresses relax), starts Newton near the answer.
            self.u.x.array[:] = self.u_old.x.array + min(dt_s / self._dt_last, 1.0) * self._du_last
        try:
            self.problem.solve()
        except PETSc.Error as err:
            raise SolverError(f"creep: the linear solve failed in PETSc (error code {err.ierr}) at t = {t_s:g} s "
                              f"(dt {dt_s:g} s)") from None
        its = snes.getIterationNumber()
        history = snes.getConvergenceHistory()[0]
        finite = self.tmesh.comm.allreduce(bool(np.all(np.isfinite(self.u.x.array))), op=MPI.LAND)
        if snes.getConvergedReason() <= 0 or not finite:
            norm = float(history[its]) if len(history) > its else float("nan")
            why = "stalled (residual not halving)" if newton_stalled(snes) else snes_reason_name(snes)
            raise SolverError(f"creep: Newton did not converge at t = {t_s:g} s (dt {dt_s:g} s): "
                              f"{why} after {its} iterations, residual norm {norm:.3e}", newton_iterations=its)
        if self._first and len(history):
            # Later steps start near their answer: judge them against the load scale of the first.
            # 1e-7 of it, not rtol (1e-9): with creeping void tips the residual's round-off floor sits
            # near 1e-9 of the load and Newton would stall there (seen on the cycled Li/PLL image).
            snes.setTolerances(atol=max(self._atol, LOAD_RESIDUAL_TOLERANCE * float(history[0])))
            self._first = False
        self.u.x.scatter_forward()
        return int(its)

    def relaxation_max(self) -> float:
        """Largest relative drop of the von Mises stress by creep in the last step, over all ranks [-]."""
        local = float(self.relaxation[self._owned_points].max()) if self._owned_points.any() else 0.0
        return self.tmesh.comm.allreduce(local, op=MPI.MAX)

    def accept(self) -> None:
        """Commit the step: its creep strain becomes the start of the next."""
        self.creep_strain.x.array[:] = self.creep_strain_trial.x.array
        self.p.x.array[:] = self.p_trial.x.array
        self._q_start = self._q_trial.copy()
        self._du_last = self.u.x.array - self.u_old.x.array if self.dt_s > 0 else np.zeros_like(self.u.x.array)
        self._dt_last = self.dt_s
        self.u_old.x.array[:] = self.u.x.array

    def reject(self) -> None:
        """Forget the step: back to the last accepted displacement (the committed state is untouched)."""
        self.u.x.array[:] = self.u_old.x.array
        self.dt_s = 0.0
        self._update_points()

    def checkpoint_state(self) -> dict[str, np.ndarray]:
        """The committed state of this rank (quadrature states, displacement, predictor, tolerance)."""
        return {"u": self.u_old.x.array.copy(), "creep_strain": self.creep_strain.x.array.copy(),
                "p": self.p.x.array.copy(), "q_start": self._q_start.copy(),
                "du_last": self._du_last if self._du_last is not None else np.zeros(0),
                "scalars": np.array([self._dt_last, float(self._first),
                                     float(self.problem.solver.getTolerances()[1])])}

    def restore_state(self, state: dict[str, np.ndarray]) -> None:
        """Back to a :meth:`checkpoint_state` of the same mesh and partition."""
        self.u.x.array[:] = state["u"]
        self.u_old.x.array[:] = state["u"]
        self.creep_strain.x.array[:] = state["creep_strain"]
        self.p.x.array[:] = state["p"]
        self._q_start = state["q_start"].copy()
        self._du_last = state["du_last"].copy() if len(state["du_last"]) else None
        self._dt_last, first, atol = (float(v) for v in state["scalars"])
        self._first = bool(first)
        self.problem.solver.setTolerances(atol=atol)
        self.dt_s = 0.0
        self._update_points()

    def close(self) -> None:
        """Release the PETSc objects (collective: call on every rank)."""
        destroy_petsc(self.problem)
        destroy_petsc(self._projection)

    # -- outputs --------------------------------------------------------------------------------

    def metrics(self) -> dict[str, float]:
        """Per-region von Mises mean and max [Pa] and largest equivalent creep strain [-].

        Names: ``<region>_von_mises_mean_Pa``, ``<region>_von_mises_max_Pa``, ``<region>_creep_strain_max``,
        ``<region>_creep_strain_mean``, ``<region>_total_strain_max`` (largest principal strain magnitude of
        sym grad u); means are area averages, maxima over the quadrature points (the
        stress the law sees).
        """
        return region_metrics(self)

    def solution(self) -> ElasticSolution:
        """Displacement and DG(k-1) stress now, for the interface post-processing of static runs."""
        self._projection.solve()
        self.stress.x.scatter_forward()
        return ElasticSolution(self.tmesh, self.u, self.stress, self.materials, self.degree,
                               info={"dofs": self.V.dofmap.index_map.size_global * self.V.dofmap.index_map_bs,
                                     "snes_type": self.problem.solver.getType(), "constitutive": "norton_creep",
                                     "linear_solver": self.plan.method,
                                     "quadrature_degree": self.qdeg,
                                     "volumetric_strain": self.dilatation.describe()})

    def cell_means(self) -> dict[str, np.ndarray]:
        """Per local cell: von Mises stress [Pa] and equivalent creep strain [-], averaged over the points."""
        vm = von_mises3(self.stress_q.x.array.reshape(-1, 3, 3)[self.dofs]).reshape(-1, self.nq).mean(axis=1)
        p = self.p.x.array[self.dofs].reshape(-1, self.nq).mean(axis=1)
        return {"von_mises_Pa": vm, "equivalent_creep_strain": p}


def snes_reason_name(snes) -> str:
    from ecmsim.core.fem import snes_reason
    return snes_reason(snes)


def stack_pressure_creep_problem(tmesh: TaggedMesh, materials: Mapping[str, Material],
                                 laws: Mapping[str, NortonLaw | None], stack_pressure_Pa: float, degree: int = 2,
                                 temperature_K: float = 333.15, linear: str = "auto") -> CreepProblem:
    """The interface window (electrolyte bottom fixed, stack pressure on top, roller sides), creeping."""
    return CreepProblem(tmesh, materials, laws,
                        supports=[Support("bottom", (0, 1)), Support("left", (0,)), Support("right", (0,))],
                        tractions=[Traction("top", pressure_Pa=stack_pressure_Pa)], degree=degree,
                        temperature_K=temperature_K, linear=linear)


__all__ = ["CreepProblem", "PointHooks", "radial_return", "von_mises3", "strain3", "stack_pressure_creep_problem",
           "PointState"]
