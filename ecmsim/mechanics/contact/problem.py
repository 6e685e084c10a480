"""The contact problem: build once, solve in load steps.

:class:`ContactProblem` puts the pieces together: the bodies and integration data of
:mod:`ecmsim.mechanics.contact.bodies`, the residuals of :mod:`ecmsim.mechanics.contact.forms`
(where the method is derived), Newton (PETSc SNES) on the blocked system of all bodies with load
stepping (a factor t from 0 to 1 scales every pressure, traction, prescribed displacement and
obstacle motion; the forms are compiled once), and the post-processing into a
:class:`ContactSolution` with the profiles of :mod:`ecmsim.mechanics.contact.profile`.
:func:`stack_pressure_contact_problem` is the interface window under stack pressure.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ecmsim.core.errors import SolverError
from ecmsim.core.fem import (LINEAR_SOLVER_OPTIONS, MPI, NONLINEAR_SOLVER_OPTIONS, PETSc, destroy_petsc, dolfinx, fem,
                             linear_solver, options_prefix, residual_assembler, snes_reason, ufl)
from ecmsim.materials import Material
from ecmsim.mechanics.contact.bodies import (ContactPair, RigidCircle, body_facets, electrode_contact_groups,
                                             make_bodies)
from ecmsim.mechanics.contact.forms import NITSCHE_PARAMETER, NITSCHE_VARIANTS, ContactForms, plane_strain_modulus
from ecmsim.mechanics.contact.profile import ContactProfile, ContactSampler
from ecmsim.mechanics.elasticity import (ElasticSolution, Support, Traction, dirichlet_bcs, epsilon, lame_fields,
                                         stress_field, window_supports)
from ecmsim.mesh import TaggedMesh

#: The contact Newton's first line search with a creeping body (a constitutive object); a Newton that fails is
#: tried again with backtracking (CreepContactMechanics._solve). Backtracking first made the Li image windows
#: 30 % faster but the sinusoid 13 times slower (docs/creep.md, "Creep with contact").
CREEP_LINE_SEARCH = "basic"


@dataclass
class ContactSolution(ElasticSolution):
    """An :class:`ElasticSolution` whose ``u`` is discontinuous across the contacts.

    ``u`` is DG(degree) on the whole mesh and ``stress`` DG(degree-1), assembled cell by cell from
    the bodies, so every post-processing of an ElasticSolution applies unchanged.

    Attributes:
        displacements: body name -> displacement Function on that body's submesh [m].
        contact: facet name -> :class:`ContactProfile`.
    """

    displacements: dict[str, object] = field(default_factory=dict)
    contact: dict[str, ContactProfile] = field(default_factory=dict)


class ContactProblem:
    """Plane-strain elasticity of several bodies in contact; build once, solve in load steps.

    Args:
        tmesh: mesh with cell tags naming the regions of ``materials`` (ghost mode shared_facet).
        materials: region name -> Material.
        supports: prescribed displacements, applied to every body that has facets in the group;
            values are scaled by the load factor.
        tractions: loads, scaled by the load factor.
        pairs: contact facet groups between bodies.
        obstacles: rigid circles.
        degree: Lagrange degree of the displacements.
        nitsche_parameter: gamma_0 [-] (see :mod:`ecmsim.mechanics.contact.forms`).
        variant: ``skew`` (theta = -1), ``incomplete`` (0) or ``symmetric`` (1).
        friction_coefficient: Coulomb coefficient F [-] on the pairs; 0 is frictionless.
        petsc_options: overrides of :data:`ecmsim.core.fem.NONLINEAR_SOLVER_OPTIONS`.
        linear: the Newton steps' linear solver: ``direct`` (MUMPS), ``iterative`` (GMRES + GAMG on
            the monolithic matrix, each body's rigid-body modes as near-nullspace) or ``auto``.
        constitutive: None (linear elasticity) or an object that supplies the body stress, e.g.
            :class:`~ecmsim.mechanics.creep_contact.CreepConstitutive`: ``attach([(u_b, entity_map_b)])``,
            ``stress_q`` (3x3 stress at quadrature points), ``tangent(e)`` (its consistent tangent on a
            3x3 strain), ``dx`` (the measure of its quadrature points), ``facet_correction`` (a 3x3
            stress subtracted from the elastic stress in the Nitsche terms),
            ``facet_pressure_correction(w)`` (a pressure added to it, UFL) and ``update()`` (called
            in front of every residual assembly).
    """

    def __init__(self, tmesh: TaggedMesh, materials: Mapping[str, Material], supports: Sequence[Support],
                 tractions: Sequence[Traction] = (), pairs: Sequence[ContactPair] = (ContactPair(),),
                 obstacles: Sequence[RigidCircle] = (), degree: int = 2,
                 nitsche_parameter: float = NITSCHE_PARAMETER, variant: str = "skew",
                 friction_coefficient: float = 0.0, petsc_options: Mapping | None = None, linear: str = "auto",
                 constitutive=None):
        if variant not in NITSCHE_VARIANTS:
            raise SolverError(f"Nitsche variant '{variant}' unknown (known: {', '.join(NITSCHE_VARIANTS)})")
        if not nitsche_parameter > 0:
            raise SolverError(f"the Nitsche parameter must be > 0 (got {nitsche_parameter})")
        if friction_coefficient < 0:
            raise SolverError(f"the friction coefficient must be >= 0 (got {friction_coefficient})")
        self.tmesh = tmesh
        self.materials = dict(materials)
        self.degree = degree
        self.pairs = list(pairs)
        self.obstacles = list(obstacles)
        msh = tmesh.mesh
        tdim = msh.topology.dim
        self.gdim = gdim = msh.geometry.dim
        if gdim == 3 and (obstacles or friction_coefficient > 0):
            raise SolverError("in 3D, contact is frictionless between tagged bodies only: rigid circular obstacles "
                              "and Coulomb friction are 2D (set interface.friction_coefficient = 0)")
        msh.topology.create_connectivity(tdim - 1, tdim)
        msh.topology.create_connectivity(tdim, tdim - 1)
        for name in [p.facet for p in self.pairs] + [o.facet for o in self.obstacles] + \
                [s.facet for s in supports] + [t.facet for t in tractions]:
            tmesh.facets(name)  # MeshError naming the missing tag
        self.lam, self.mu = lame_fields(tmesh, self.materials)
        self.e_plane = plane_strain_modulus(self.lam, self.mu)
        self.load = fem.Constant(msh, PETSc.ScalarType(1.0))
        self.gamma0 = fem.Constant(msh, PETSc.ScalarType(nitsche_parameter))
        self.theta = fem.Constant(msh, PETSc.ScalarType(NITSCHE_VARIANTS[variant]))
        self.friction = fem.Constant(msh, PETSc.ScalarType(friction_coefficient))
        self.variant = variant
        self._quadrature_degree = 2 * degree
        self.constitutive = constitutive

        self.bodies = make_bodies(tmesh, self.pairs, degree)
        if constitutive is not None:
            constitutive.attach([(b.u, b.entity_map) for b in self.bodies])
        for b in self.bodies:
            for s in supports:
                facets = body_facets(tmesh, b, tmesh.facets(s.facet))
                for bc, g in dirichlet_bcs(b.V, facets, s):
                    b.bcs.append(bc)
                    if g is not None:
                        b.values.append((g, g.x.array.copy()))

        self._forms = ContactForms(tmesh, self.bodies, self.lam, self.mu, self.e_plane, self.load, self.gamma0,
                                   self.theta, self.friction, degree, constitutive)
        residuals = self._forms.residuals(self.pairs, self.obstacles, tractions, friction_coefficient > 0)
        self._pairs, self._obstacles = self._forms.pairs, self._forms.obstacles
        self.pressures: dict[str, object] = self._forms.pressures
        self._obstacle_motion: dict[str, object] = self._forms.obstacle_motion
        jacobian = self._forms.jacobian(residuals)
        self.plan = linear_solver("contact", [b.V for b in self.bodies], linear)
        options = dict(NONLINEAR_SOLVER_OPTIONS)
        for key in LINEAR_SOLVER_OPTIONS:
            options.pop(key)
        options.update(self.plan.options)
        if friction_coefficient > 0:
            # stick/slip switches make full steps cycle; backtracking converges (docs/contact.md)
            options["snes_linesearch_type"] = "bt"
        if constitutive is not None:
            options["snes_linesearch_type"] = CREEP_LINE_SEARCH
        options.update(petsc_options or {})
        self.problem = fem.petsc.NonlinearProblem(
            residuals, [b.u for b in self.bodies], bcs=[bc for b in self.bodies for bc in b.bcs],
            entity_maps=[b.entity_map for b in self.bodies], kind="mpi", petsc_options=options,
            petsc_options_prefix=options_prefix("contact"), J=jacobian)
        if constitutive is not None:
            self._update_in_front_of_residual()
        self.plan.attach(self.problem.A)
        self.problem.solver.setConvergenceHistory(reset=True)   # one history per load step
        #: Newton's absolute tolerance of the solves [N/m] (``solve(atol=...)`` overrides it for one solve)
        self.atol = self.problem.solver.getTolerances()[1]

        # Post-processing on the whole mesh: u discontinuous across the contacts, stress per cell.
        W = fem.functionspace(msh, ("Discontinuous Lagrange", degree, (gdim,)))
        self.u = fem.Function(W, name="displacement_m")
        self.stress, self._stress_expr = stress_field(self.u, self.lam, self.mu, degree)
        if constitutive is not None:
            # the Nitsche terms' facet stress (ContactForms.sigma_u), so that the profiles are the forms' own
            c = constitutive.facet_correction
            s = self._forms.sigma_u(self.u)
            szz = self.lam * ufl.tr(epsilon(self.u)) - c[2, 2] + constitutive.facet_pressure_correction(self.u)
            comps = [s[0, 0], s[1, 1], szz, s[0, 1]]
            self._stress_expr = fem.Expression(ufl.as_vector(comps), self.stress.function_space.element.interpolation_points)

    def _update_in_front_of_residual(self) -> None:
        """PETSc SNES evaluates the residual through dolfinx's assembly: update the constitutive state first."""
        problem = self.problem
        ctx = {"u": problem.u, "residual": problem.F, "jacobian": problem.J,
               "bcs": [bc for b in self.bodies for bc in b.bcs]}
        if (blocks := problem.b.getAttr("_blocks")) is not None:
            ctx["_blocks"] = blocks
        assemble = residual_assembler([(body.u, body.bcs) for body in self.bodies])

        def residual(snes, x, b, **kw):
            dolfinx.la.petsc._ghost_update(x, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
            if "_blocks" in kw:
                x.setAttr("_blocks", kw["_blocks"])
            fem.petsc.assign(x, kw["u"])
            for body in self.bodies:
                body.u.x.scatter_forward()
            self.constitutive.update()
            assemble(snes, x, b, **kw)

        problem.solver.setFunction(residual, problem.b, kargs=ctx)

    # -- solve ----------------------------------------------------------------------------------

    def set_pressure(self, facet: str, pressure_Pa: float) -> None:
        """Change the full-load pressure of a loaded facet group [Pa] (no recompilation)."""
        self.pressures[facet].value = pressure_Pa

    def set_obstacle_motion(self, facet: str, motion_m: tuple[float, float]) -> None:
        """Change the full-load motion of the rigid circle touching ``facet`` [m] (no recompilation).

        The fibre of the FBG cell is moved this way until it carries no net force."""
        self._obstacle_motion[facet].value[:] = motion_m

    def reset(self) -> None:
        """Back to the unloaded state (zero displacements): the next solve starts from scratch.

        With :attr:`gamma0` (or :attr:`theta`, :attr:`friction`) changed in between, the same
        compiled forms solve another parameter value."""
        for b in self.bodies:
            b.u.x.array[:] = 0.0
            b.u_old.x.array[:] = 0.0
        self.set_load_factor(0.0)

    def close(self) -> None:
        """Release the solver's PETSc objects (collective: call on every rank); no solve after."""
        destroy_petsc(self.problem)

    def set_load_factor(self, t: float) -> None:
        """Scale loads, prescribed displacements and obstacle motions by t (1 = full load)."""
        self.load.value = t
        for b in self.bodies:
            for g, full in b.values:
                g.x.array[:] = t * full

    def solve(self, load_steps: int = 1, start: float = 0.0, end: float = 1.0,
              on_step: Callable[[int, float, int], None] | None = None, atol: float | None = None) -> ContactSolution:
        """Ramp the load factor from ``start`` to ``end`` in ``load_steps`` equal steps, Newton each.

        The bodies' displacements at call time are the first initial guess (zero for a new problem).
        ``on_step(step, load_factor, newton_iterations)`` is called after each converged step.
        ``atol``: Newton's absolute tolerance for this solve instead of the problem's own.
        Raises SolverError when a step does not converge.
        """
        if load_steps < 1:
            raise SolverError(f"load_steps must be >= 1 (got {load_steps})")
        snes = self.problem.solver
        rtol = snes.getTolerances()[0]
        own = self.atol if atol is None else atol
        snes.setTolerances(atol=own)
        iterations, residuals = [], []
        self._linear_iterations = []
        for step in range(1, load_steps + 1):
            t = start + (end - start) * step / load_steps
            for b in self.bodies:
                increment = b.u.x.array - b.u_old.x.array     # of the previous step (equal steps)
                b.u_old.x.array[:] = b.u.x.array
                if step > 1:
                    # Secant predictor: exact while the contact set stays fixed (then no Newton
                    # iteration is needed), and a contact zone that grows starts near its new edge.
                    b.u.x.array[:] += increment
            self.set_load_factor(t)
            try:
                self.problem.solve()
            except PETSc.Error as err:
                raise SolverError(f"contact: the linear solve failed in PETSc (error code {err.ierr}) at load step "
                                  f"{step} of {load_steps} (load factor {t:.4g}): is every body supported "
                                  "or held by a closed contact?") from None
            history = snes.getConvergenceHistory()[0]
            its = snes.getIterationNumber()
            norm = float(history[its]) if len(history) > its else float("nan")
            norm0 = float(history[0]) if len(history) else float("nan")
            finite = all(np.all(np.isfinite(b.u.x.array)) for b in self.bodies)
            finite = self.tmesh.comm.allreduce(finite, op=MPI.LAND)
            if snes.getConvergedReason() <= 0 or not finite:
                raise SolverError(
                    f"contact: Newton did not converge at load step {step} of {load_steps} (load factor {t:.4g}): "
                    f"{snes_reason(snes) if finite else 'non-finite displacement'} after {its} iterations, "
                    f"residual norm {norm:.3e} (start of step {norm0:.3e}); "
                    "try more interface.load_steps or another interface.nitsche_parameter (a body held by the "
                    "contact alone cannot be pulled away by a load)", sum(iterations) + its)
            if step == 1 and len(history) and start == 0:
                self.load_residual = float(history[0])   # the load scale (for later solves' tolerances)
            if step == 1 and len(history):
                # Later steps start from the predictor, often converged to round-off already: judge
                # them against the load scale (the first step's initial residual), not their start.
                snes.setTolerances(atol=max(own, rtol * float(history[0])))
            iterations.append(its)
            residuals.append(norm)
            self._linear_iterations.append(snes.getLinearSolveIterations())
            if on_step is not None:
                on_step(step, t, its)
        for b in self.bodies:
            b.u.x.scatter_forward()
        return self._solution(iterations, residuals)

    # -- post-processing ------------------------------------------------------------------------

    def _solution(self, iterations: list[int], residuals: list[float]) -> ContactSolution:
        for b in self.bodies:
            imap = b.mesh.topology.index_map(b.mesh.topology.dim)
            sub = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
            parent = np.asarray(b.entity_map.sub_topology_to_topology(sub, inverse=False), dtype=np.int32)
            self.u.interpolate(b.u, cells0=sub, cells1=parent)
        self.u.x.scatter_forward()
        self.stress.interpolate(self._stress_expr)
        info = {"dofs": sum(b.V.dofmap.index_map.size_global * self.gdim for b in self.bodies),
                "dimension": self.gdim,
                "bodies": [b.name for b in self.bodies],
                "interface_model": "contact", "nitsche_parameter": float(self.gamma0.value),
                "nitsche_variant": self.variant, "friction_coefficient": float(self.friction.value),
                "load_steps": len(iterations), "newton_iterations": iterations,
                "final_residual_norms": residuals,
                "snes_type": self.problem.solver.getType(), "ksp_type": self.problem.solver.getKSP().getType(),
                "linear_solver": self.plan.method, "pc_type": self.problem.solver.getKSP().getPC().getType(),
                "linear_iterations": self._linear_iterations}
        solution = ContactSolution(self.tmesh, self.u, self.stress, self.materials, self.degree, info,
                                   displacements={b.name: b.u for b in self.bodies})
        sampler = ContactSampler(self.tmesh, self.u, self.stress, self.e_plane, self._quadrature_degree)
        gamma0 = float(self.gamma0.value)
        for entry in self._pairs:
            solution.contact[entry.pair.facet] = sampler.pair(entry, gamma0)
        for obstacle, _, data in self._obstacles:
            centre = (np.asarray(obstacle.centre_m)
                      + float(self.load.value) * np.asarray(self._obstacle_motion[obstacle.facet].value))
            solution.contact[obstacle.facet] = sampler.obstacle(obstacle, data, gamma0, centre)
        return solution


def stack_pressure_contact_problem(tmesh: TaggedMesh, materials: Mapping[str, Material], stack_pressure_Pa: float,
                                   degree: int = 2, **settings) -> ContactProblem:
    """The interface window of :func:`~ecmsim.mechanics.elasticity.stack_pressure_problem` (electrolyte
    bottom fixed, stack pressure on the electrode top, roller sides) with contact on every facet
    group between the electrode and another phase (:func:`electrode_contact_groups`: ``interface``,
    ``island`` where the mesh has one, ``electrode_particle`` where particles touch the electrode).

    ``settings``: keyword arguments of :class:`ContactProblem` (nitsche_parameter, variant,
    friction_coefficient, petsc_options).
    """
    return ContactProblem(
        tmesh, materials,
        supports=window_supports(tmesh),
        tractions=[Traction("top", pressure_Pa=stack_pressure_Pa)],
        pairs=[ContactPair(name) for name in electrode_contact_groups(tmesh)], degree=degree, **settings)

