r"""Creeping bodies in contact: the Norton update of :mod:`ecmsim.mechanics.creep` inside the Nitsche
contact problem of :mod:`ecmsim.mechanics.contact`.

:class:`CreepConstitutive` is the constitutive object the contact problem accepts (argument
``constitutive``): it owns the quadrature-point state on the whole mesh and supplies

- the volume stress :math:`\sigma_{n+1}` at the quadrature points (residual ``∫σ:ε(v) dx``),
- the consistent tangent :math:`\mathbb C^{alg}` (Jacobian ``∫ℂ^alg:ε(du):ε(v) dx``),
- the update (radial return, :func:`ecmsim.mechanics.creep.radial_return`) that runs in front of
  every residual assembly, from each body's displacement on its own submesh,
- the facet stress of the Nitsche terms (below).

**Nitsche traction (the one approximation).** The contact pressure :math:`p_\sigma = -\nu\cdot\sigma\nu`
needs the stress on facets, where the quadrature-point stress does not exist. The contact terms use

.. math:: \sigma_f(u) = \mathbb C : \big(\varepsilon(u) - \Pi_h\varepsilon_c\big),

with :math:`\Pi_h\varepsilon_c` the cellwise DG(k−1) fit (:func:`ecmsim.mechanics.creep_facet.quadrature_fit`) of
the end-of-step creep strain at the quadrature points, at the current Newton iterate. For the P2 triangles of the
windows the rule has three points and DG1 three dofs, so the fit interpolates them: :math:`\sigma_f` is the linear
extrapolation of the point stress to the facet, exact when the creep strain is linear in the cell next to
the facet. It reduces to the elastic stress when nothing creeps, so a zero prefactor reproduces the static
contact solution exactly. (Before, the fit was the cell mean, DG0: exact only for a creep strain
constant in the cell, and off by the creep strain's gradient times the distance to the centroid; see below.)
Its variation in the Nitsche terms (:math:`p_\sigma(v)`) is the elastic one (the method's θ-term may use any
consistent variation). Its derivative in :math:`p_\sigma(u)` is exact: the fit of the points' own tangent
stress, :math:`\sum_q \phi_q\,\mathbb C^{alg}_q : \varepsilon(\delta u)(X_q)`
(:meth:`CreepConstitutive.facet_tangent_correction`; for P2 the strain is linear in the cell, so its value at the
point :math:`X_q` is a Taylor step from any facet point). It enters the forms as :math:`E(u) - E(u^*)`, with
:math:`u^*` a copy of :math:`u` refreshed before every residual: zero in value, :math:`E(\delta u)` in the
derivative. The Jacobian is then the residual's derivative to round-off (tests/test_creep_contact.py checks it
against central differences: 7.7e-8, against 6.2e-3 with the elastic facet tangent that was used before).
The method stays consistent up to the facet stress's error, which enters the pressure as a Nitsche penalty
error of size :math:`\delta p_\sigma/\gamma` in the gap: with small γ₀ the pressure
:math:`[p_\sigma - \gamma g]_+` rests on the facet stress more than on the gap. With the cell mean this set a
floor on γ₀: at γ₀ = 1 the Li read-out window ran away at one quadrature point beside a void junction
(von Mises 4 → 165 MPa within 4 s). From the same state, γ₀ = 10 with the cell mean, and γ₀ = 1 with the
DG1 fit, both run through (docs/contact.md, "Nitsche parameter").

**Plating and stripping (the cycling window).** :class:`CreepConstitutive` has the point hooks of the bonded
problem (:class:`~ecmsim.mechanics.creep.PointHooks`): an eigenstrain subtracted in the radial return and,
fitted as the creep strain is, in the facet stress, :math:`\sigma_f = \mathbb C:(\varepsilon(u) - \Pi_h(\varepsilon_c +
\varepsilon_g))`, so the Nitsche pressure does not see growth as load. With ``gap_offset``,
:class:`CreepContactMechanics` gives the interface an offset h (:meth:`CreepContactMechanics.set_gap_offset`,
g_N = g(u) - h, no recompilation), its predictor moves the electrode with its loaded surface, and it
writes checkpoints (docs/electrochem.md, "Contact + creep + plating in the cycling window").

**Mean dilatation.** Creeping cells use the cellwise volumetric strain of
:mod:`ecmsim.mechanics.dilatation` (B-bar), in the volume terms as in the bonded problem and in the
facet stress: :math:`\sigma_f` adds :math:`K(\Pi_0\,\mathrm{tr}\,\varepsilon(u) - \mathrm{tr}\,\varepsilon(u))\,I`
(:meth:`CreepConstitutive.facet_pressure_correction`, exact and differentiated in the Jacobian), so
the contact pressure is the bodies' own cellwise pressure rather than the pointwise one that
oscillates in a creeping region. The eigenstrain's trace is taken as its cell mean there before the fit, as
at the points, so :math:`\sigma_f` stays the extrapolation of the point stress.
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np

from ecmsim.core.errors import SolverError
from ecmsim.core.fem import MPI, basix, dolfinx, fem, options_prefix, ufl
from ecmsim.materials import Material
from ecmsim.materials.creep import NortonLaw
from ecmsim.mechanics.contact.forms import plane_strain_modulus
from ecmsim.mechanics.creep import (LOAD_RESIDUAL_TOLERANCE, PointHooks, creep_dilatation, creep_increments,
                                    creep_tangent, point_laws, radial_return, region_metrics, store_point_state,
                                    strain3, stress_error_indicator, von_mises3)
from ecmsim.mechanics.creep_facet import FacetTangent, quadrature_fit
from ecmsim.mechanics.elasticity import lame_fields
from ecmsim.mesh import TaggedMesh

#: Largest equivalent creep strain one step may add at a point of a creeping body in contact [-]
#: (CreepConstitutive.error_indicator): relaxing 100 MPa of von Mises stress in Li (q / 3 mu) takes 0.019.
MAX_STEP_CREEP_INCREMENT = 0.02
#: Newton's absolute tolerance in the solves of coupling iterations over the step's own [-]
#: (CreepContactMechanics.resolve; the step's: LOAD_RESIDUAL_TOLERANCE of the load step's residual, so these stop
#: at 1e-4 of it). They only have to give the interface's end pressure to far better than the coupling's
#: tolerance; the step's last solve is then taken on to the step's own tolerance (settle).
COUPLING_SOLVE_LOOSENING = 1e3


class CreepConstitutive(PointHooks):
    """Norton creep at the quadrature points of a whole (parent) mesh, for bodies on submeshes.

    Args:
        tmesh: the parent mesh (cell tags naming the regions of ``materials``).
        materials: region name -> Material.
        laws: region name -> NortonLaw (None or missing: elastic).
        degree: Lagrange degree of the displacements.
        temperature_K: temperature of the Arrhenius factor [K].
        mean_dilatation: B-bar in creeping cells (:mod:`ecmsim.mechanics.dilatation`), as the bonded
            :class:`~ecmsim.mechanics.creep.CreepProblem`.

    The contact problem calls :meth:`attach` with its bodies' displacements, then builds its forms
    with :attr:`stress_q`, :meth:`tangent`, :attr:`dx`, :attr:`facet_correction` and
    :meth:`facet_pressure_correction`, and calls
    :meth:`update` before each residual assembly.
    """

    error_tolerance = 0.01

    def __init__(self, tmesh: TaggedMesh, materials: Mapping[str, Material], laws: Mapping[str, NortonLaw | None],
                 degree: int = 2, temperature_K: float = 333.15, mean_dilatation: bool = True):
        self.tmesh = tmesh
        msh = tmesh.mesh
        self.laws = {r: laws.get(r) for r in tmesh.cell_ids}
        self.lam, self.mu = lame_fields(tmesh, materials)
        self.degree = degree
        self.qdeg = max(2 * (degree - 1), 1)
        cell = msh.topology.cell_name()
        self.Qs = fem.functionspace(msh, basix.ufl.quadrature_element(cell, value_shape=(), degree=self.qdeg))
        self.Qt = fem.functionspace(msh, basix.ufl.quadrature_element(cell, value_shape=(3, 3), degree=self.qdeg))
        self.stress_q = fem.Function(self.Qt, name="stress_Pa")
        self.creep_strain = fem.Function(self.Qt, name="creep_strain")
        self.creep_strain_trial = fem.Function(self.Qt)
        self.p = fem.Function(self.Qs, name="equivalent_creep_strain")
        self.p_trial = fem.Function(self.Qs)
        self.theta = fem.Function(self.Qs)
        self.beta = fem.Function(self.Qs)
        self.normal = fem.Function(self.Qt)
        self.theta.x.array[:] = 1.0
        # C : (creep + eigen)strain as a DG(k-1) field fitted to the quadrature points (module docstring)
        D = fem.functionspace(msh, ("Discontinuous Lagrange", degree - 1, (3, 3)))
        self.facet_correction = fem.Function(D, name="creep_stress_correction_Pa")
        imap = msh.topology.index_map(msh.topology.dim)
        self.cells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
        self.n_owned_cells = imap.size_local
        self.points = self.Qs.element.interpolation_points
        self.nq = nq = self.points.shape[0]
        pts, w = basix.make_quadrature(getattr(basix.CellType, cell), self.qdeg)
        if not np.allclose(pts, self.points):
            raise SolverError("creep + contact: quadrature points of the state space are not basix's default rule")
        self._ref_weights = np.asarray(w) / np.sum(w)
        self._fit = quadrature_fit(D.ufl_element().basix_element, self.points, self._ref_weights)
        self._strain = np.zeros((len(self.cells) * nq, 3, 3))
        self._fit_dofs = D.dofmap.list[self.cells]
        self._frozen: dict[int, tuple] = {}      # id(body displacement) -> (it, its copy refreshed by update())
        #: the facet stress's creep derivative (None where the fit does not interpolate the points)
        self.facet_tangent = FacetTangent(msh, D, self.cells, self.points, self._fit) \
            if self._fit.shape[0] == nq else None
        self.dofs = self.Qs.dofmap.list[self.cells].reshape(-1)
        cell_of_point = np.repeat(self.cells, nq)
        self.cell_of_point = cell_of_point
        self._lam0, self._mu0 = self.lam.x.array.copy(), self.mu.x.array.copy()
        self._lam_q = self.lam.x.array[cell_of_point]
        self._mu_q = self.mu.x.array[cell_of_point]
        #: Eigenstrain at every local point (N, 3, 3) [-], subtracted from the strain in the update and,
        #: fitted in DG(k-1), in the Nitsche terms' facet stress (PointHooks; zero by default).
        self.eigenstrain = np.zeros((len(cell_of_point), 3, 3))
        (self._rate_q, self._n_q, self._s0_q, self._owned_points,
         self.region_of_point) = point_laws(tmesh, self.laws, self.cells, nq, self.n_owned_cells, temperature_K)
        self.dx = ufl.Measure("dx", domain=msh, subdomain_data=tmesh.cell_tags,
                              metadata={"quadrature_degree": self.qdeg, "quadrature_scheme": "default"})
        self.dilatation = creep_dilatation(self, msh, mean_dilatation)
        self.dt_s = 0.0
        self._q_start = np.zeros(len(cell_of_point))
        self._q_trial = np.zeros(len(cell_of_point))
        self.relaxation = np.zeros(len(cell_of_point))
        self._bodies = []
        weights = fem.assemble_vector(fem.form(ufl.TestFunction(self.Qs) * self.dx))
        self._weights = weights.array[self.dofs].copy()
        dev = self.stress_q - ufl.tr(self.stress_q) / 3 * ufl.Identity(3)
        vm = ufl.sqrt(1.5 * ufl.inner(dev, dev))
        self._region_forms = {r: (fem.form(vm * self.dx(tag)), fem.form(1.0 * self.dx(tag)))
                              for r, tag in tmesh.cell_ids.items()}

    def facet_tangent_correction(self, w):
        """What makes the Jacobian of the Nitsche facet stress consistent, for a body displacement ``w``
        (UFL 3x3, Pa; None when there is nothing to add): E(w) - E(w_frozen), with E
        (:meth:`~ecmsim.mechanics.creep_facet.FacetTangent.excess`) linear in w and w_frozen a copy of w that
        :meth:`update` refreshes before every residual. Its value is zero; its derivative is E(du), so that the
        facet stress's derivative is sum_q phi_q C_alg,q : eps(du)(X_q), the fit of the points' own tangent
        stress."""
        if id(w) not in self._frozen or self.facet_tangent is None:
            return None
        frozen = self._frozen[id(w)][1]
        return self.facet_tangent.excess(w, self.mu) - self.facet_tangent.excess(frozen, self.mu)

    # -- what the contact problem uses ----------------------------------------------------------

    def attach(self, bodies) -> None:
        """Bodies as (displacement Function on a submesh, EntityMap submesh -> parent mesh)."""
        self._bodies = []
        self._frozen = {}
        for u, emap in bodies:
            sub = u.function_space.mesh
            imap = sub.topology.index_map(sub.topology.dim)
            subcells = np.arange(imap.size_local + imap.num_ghosts, dtype=np.int32)
            parent = np.asarray(emap.sub_topology_to_topology(subcells, inverse=False), dtype=np.int32)
            # rows of this body's points in the (cell, point) arrays of the parent
            rows = (parent[:, None] * self.nq + np.arange(self.nq)).reshape(-1)
            self._bodies.append((fem.Expression(strain3(u), self.points), sub, subcells, rows))
            self._frozen[id(u)] = (u, fem.Function(u.function_space, name="displacement_frozen_m"))

    def tangent(self, e):
        """The consistent tangent applied to a 3x3 strain (UFL)."""
        return creep_tangent(e, self.lam, self.mu, self.theta, self.beta, self.normal, self.dilatation)

    def facet_pressure_correction(self, w):
        """What the mean dilatation adds to the elastic pressure of a displacement ``w`` (UFL scalar, Pa):
        K (Pi_0 tr eps(w) - tr eps(w)) in creeping cells, 0 elsewhere. The Nitsche terms' facet stress
        adds it times I, so that their pressure is the bodies' cellwise pressure (module docstring)."""
        e = strain3(w)
        return (self.lam + 2 * self.mu / 3) * (self.dilatation.trace(e) - ufl.tr(e))

    def update(self) -> None:
        """Stress, trial creep state, tangent and facet correction from the bodies' current displacements."""
        eps = np.zeros((len(self.cells) * self.nq, 3, 3))
        for expr, sub, subcells, rows in self._bodies:
            eps[rows] = expr.eval(sub, subcells).reshape(-1, 3, 3)
        for u, frozen in self._frozen.values():
            frozen.x.array[:] = u.x.array
        self._strain = eps
        ec_old = self.creep_strain.x.array.reshape(-1, 3, 3)[self.dofs]
        st = radial_return(self.dilatation.project_points(eps - self.eigenstrain), ec_old, self.p.x.array[self.dofs],
                           self._lam_q, self._mu_q, self._rate_q, self._n_q, self._s0_q, self.dt_s)
        store_point_state(self, st)
        if self.facet_tangent is not None:
            self.facet_tangent.store(self.theta.x.array[self.dofs], self.beta.x.array[self.dofs],
                                     self.normal.x.array.reshape(-1, 9)[self.dofs])
        # C : (DG(k-1) fit of what the points subtract): sigma_f = C : (Pi eps(u) - fit(eps_c + Pi eps_g)), with Pi
        # the mean dilatation, so that sigma_f extrapolates the point stress (exactly for P2 triangles)
        subtracted = st.creep_strain + self.dilatation.project_points(self.eigenstrain)
        ec = np.einsum("dq,cqij->cdij", self._fit, subtracted.reshape(len(self.cells), self.nq, 3, 3))
        lam, mu = self.lam.x.array[self.cells][:, None, None, None], self.mu.x.array[self.cells][:, None, None, None]
        corr = lam * np.trace(ec, axis1=2, axis2=3)[..., None, None] * np.eye(3) + 2 * mu * ec
        self.facet_correction.x.array.reshape(-1, 9)[self._fit_dofs] = corr.reshape(len(self.cells), -1, 9)

    # -- state ----------------------------------------------------------------------------------

    def accept(self) -> None:
        self.creep_strain.x.array[:] = self.creep_strain_trial.x.array
        self.p.x.array[:] = self.p_trial.x.array
        self._q_start = self._q_trial.copy()

    def error_indicator(self) -> float:
        """As :meth:`ecmsim.mechanics.creep.CreepProblem.error_indicator` (L1 relative stress error / tolerance),
        or the step's largest creep increment at a point over :data:`MAX_STEP_CREEP_INCREMENT` where that is larger.

        The L1 error lets singular points relax within a step, which moves them by q / 3 mu (below 0.02 for
        q < 100 MPa in Li). A larger increment at one point is a step that has jumped: a Newton that converged
        across an active-set switch onto a state a shorter step does not reach (one point from creep strain
        0.01 to 0.33 in a 29 s step, 42 MPa von Mises, the L1 error below tolerance; docs/creep.md)."""
        points, dp = creep_increments(self)
        jump = self.tmesh.comm.allreduce(float(dp.max()) if dp.size else 0.0, op=MPI.MAX)
        return max(stress_error_indicator(self, (points, dp)), jump / MAX_STEP_CREEP_INCREMENT)

    def relaxation_max(self) -> float:
        local = float(self.relaxation[self._owned_points].max()) if self._owned_points.any() else 0.0
        return self.tmesh.comm.allreduce(local, op=MPI.MAX)

    def metrics(self) -> dict[str, float]:
        """Per region: von Mises mean/max [Pa], equivalent creep strain max/mean [-] (names of CreepProblem)."""
        return region_metrics(self)

    def cell_means(self) -> dict[str, np.ndarray]:
        vm = von_mises3(self.stress_q.x.array.reshape(-1, 3, 3)[self.dofs]).reshape(-1, self.nq).mean(axis=1)
        p = self.p.x.array[self.dofs].reshape(-1, self.nq).mean(axis=1)
        return {"von_mises_Pa": vm, "equivalent_creep_strain": p}

    def stress_projection(self):
        """DG(k-1) stress (xx, yy, zz, xy) on the parent mesh: L2 projection of the quadrature stress."""
        msh = self.tmesh.mesh
        S = fem.functionspace(msh, ("Discontinuous Lagrange", self.degree - 1, (4,)))
        stress = fem.Function(S, name="stress_Pa")
        w, z = ufl.TrialFunction(S), ufl.TestFunction(S)
        s = self.stress_q
        problem = fem.petsc.LinearProblem(
            ufl.inner(w, z) * self.dx, ufl.inner(ufl.as_vector([s[0, 0], s[1, 1], s[2, 2], s[0, 1]]), z) * self.dx,
            u=stress, petsc_options={"ksp_type": "preonly", "pc_type": "lu", "pc_factor_mat_solver_type": "mumps"},
            petsc_options_prefix=options_prefix("creep_contact_stress"))
        problem.solve()
        stress.x.scatter_forward()
        from ecmsim.core.fem import destroy_petsc
        destroy_petsc(problem)
        return stress


class CreepContactMechanics:
    """The time loop's mechanics for creeping bodies in contact (interface.model = "contact").

    Time t = 0 (dt = 0) is the static contact solution in ``load_steps`` load steps (creep inactive);
    every later step solves the contact problem at full load from the last accepted state, with the
    creep update of dt.
    """

    name = "mechanics"

    def __init__(self, tmesh, materials, laws, stack_pressure_Pa: float, degree: int = 2,
                 temperature_K: float = 333.15, load_steps: int = 1, initial_gap=None, mean_dilatation: bool = True,
                 gap_offset: bool = False, **contact_settings):
        from ecmsim.mechanics.contact import ContactPair, ContactProblem, facet_regions
        from ecmsim.mechanics.elasticity import Support, Traction

        self.tmesh = tmesh
        self.constitutive = CreepConstitutive(tmesh, materials, laws, degree, temperature_K, mean_dilatation)
        # the window of stack_pressure_contact_problem; ``initial_gap`` (x -> g0 [m]) on the interface
        regions = sorted(tmesh.cell_ids)
        pairs = [ContactPair(name, initial_gap if name == "interface" else None, gap_offset and name == "interface")
                 for name in tmesh.facet_ids if facet_regions(name, regions) == ("electrode", "electrolyte")]
        self.problem = ContactProblem(
            tmesh, materials, supports=[Support("bottom", (0, 1)), Support("left", (0,)), Support("right", (0,))],
            tractions=[Traction("top", pressure_Pa=stack_pressure_Pa)], pairs=pairs, degree=degree,
            constitutive=self.constitutive, **contact_settings)
        self.load_steps = load_steps
        self.u = self.problem.u
        self._lam0, self._mu0 = self.problem.lam.x.array.copy(), self.problem.mu.x.array.copy()
        self._offset = self._offset_rows() if gap_offset else None
        # the offset of each interface row [m]: now, at the last accepted step, and its change in that step (predictor)
        n_rows = len(self._offset[1]) if self._offset else 0
        self._h_rows, self._h_accepted, self._h_step = np.zeros(n_rows), np.zeros(n_rows), np.zeros(n_rows)
        self._electrode = next((b for b in self.problem.bodies if "electrode" in b.regions), None)
        self._dt_last = 0.0
        self._du_last = None
        self._frictionless = float(self.problem.friction.value) == 0.0
        self._first = True
        self._loose = False          # the last solve was a coupling iteration's, to the looser tolerance
        self._solution = None
        self._saved = None

    # -- the plating/stripping hooks (ecmsim.electrochem.cycling): the constitutive's point state --------

    eigenstrain = property(lambda self: self.constitutive.eigenstrain)
    stress_q = property(lambda self: self.constitutive.stress_q)
    cell_of_point = property(lambda self: self.constitutive.cell_of_point)
    dofs = property(lambda self: self.constitutive.dofs)
    nq = property(lambda self: self.constitutive.nq)
    cells = property(lambda self: self.constitutive.cells)
    _weights = property(lambda self: self.constitutive._weights)
    _owned_points = property(lambda self: self.constitutive._owned_points)

    def quadrature_points(self) -> np.ndarray:
        return self.constitutive.quadrature_points()

    def set_modulus_factor(self, cell_factor: np.ndarray) -> None:
        """:meth:`~ecmsim.mechanics.creep.PointHooks.set_modulus_factor` of the volume terms, and the same
        factor in the Nitsche terms' Lame fields and plane-strain modulus (gamma and the weights)."""
        self.constitutive.set_modulus_factor(cell_factor)
        pb, cells = self.problem, self.constitutive.cells
        pb.lam.x.array[cells] = self._lam0[cells] * cell_factor
        pb.mu.x.array[cells] = self._mu0[cells] * cell_factor
        pb.e_plane.x.array[:] = plane_strain_modulus(pb.lam, pb.mu).x.array

    def _offset_rows(self):
        """The interface pair (its P1 offset and rigid lift), the P1 dofs of each integration row's facet (the
        vertices of its "+" cell but the one opposite), the facet midpoints and lengths (0 where another rank
        owns it)."""
        entry = next(e for e in self.problem._pairs if e.pair.facet == "interface")
        msh = self.tmesh.mesh
        tdim = msh.topology.dim
        c2f = msh.topology.connectivity(tdim, tdim - 1)
        data = entry.data
        facets = np.array([c2f.links(c)[lf] for c, lf in zip(data[:, 0], data[:, 1], strict=True)], dtype=np.int32)
        mid = dolfinx.mesh.compute_midpoints(msh, tdim - 1, facets) if len(facets) else np.zeros((0, 3))
        cell_dofs = entry.offset.function_space.dofmap.list[data[:, 0]]
        # simplices: local facet i is opposite local vertex i
        keep = np.arange(tdim + 1)[None, :] != data[:, 1][:, None]
        dofs = cell_dofs[keep].reshape(len(data), tdim)
        nodes = dolfinx.mesh.entities_to_geometry(msh, tdim - 1, facets) if len(facets) else np.zeros((0, tdim), int)
        X = msh.geometry.x
        if tdim == 2:
            length = np.linalg.norm(X[nodes[:, 1]] - X[nodes[:, 0]], axis=1) if len(nodes) else np.zeros(0)
        else:
            length = 0.5 * np.linalg.norm(np.cross(X[nodes[:, 1]] - X[nodes[:, 0]], X[nodes[:, 2]] - X[nodes[:, 0]]),
                                          axis=1) if len(nodes) else np.zeros(0)
        length = np.where(facets < msh.topology.index_map(tdim - 1).size_local, length, 0.0)
        return entry, dofs, mid, length

    def set_gap_offset(self, offset_at) -> None:
        """Set the interface offset h [m] of g_N = g(u) - h (:class:`~ecmsim.mechanics.contact.ContactPair`
        ``gap_offset``) from ``offset_at``: points (N, 3) -> h (N,), evaluated at the midpoints of the
        interface facets. The offset is continuous and linear along each facet: its vertex values are the
        length-weighted means of the adjacent facets' h (a uniform h is kept exactly; a step between
        facets becomes a ramp over a facet, which the displacement can follow). No recompilation."""
        entry, dofs, mid, length = self._offset
        offset = entry.offset
        h = np.asarray(offset_at(mid), dtype=float) if len(mid) else np.zeros(0)
        V = offset.function_space
        num, den = fem.Function(V), fem.Function(V)
        np.add.at(num.x.array, dofs, (h * length)[:, None])
        np.add.at(den.x.array, dofs, np.broadcast_to(length[:, None], dofs.shape))
        for f in (num, den):
            f.x.scatter_reverse(dolfinx.la.InsertMode.add)
        offset.x.array[:] = np.where(den.x.array > 0, num.x.array / np.where(den.x.array > 0, den.x.array, 1.0), 0.0)
        offset.x.scatter_forward()
        self._h_rows = h

    def set_gap_lift(self, lift_m: float) -> None:
        """Move the interface's surface by a rigid lift of the electrode by ``lift_m`` [m] along y, in place of
        the facet-wise offset (set to 0): g_N = g(u) - l·ν with l = (0, lift) and ν the pair's own normal,
        so the electrode moved rigidly by the lift closes the gap exactly. (The P1 offset of
        :meth:`set_gap_offset` cannot: ν is normalised at every quadrature point, so lift·ν_y is not linear
        along a facet, and a P1 interpolant of it misses by O(lift Δθ²) where the facets turn by Δθ; on the
        sinusoid of docs/electrochem.md that raised the contact pressure by 0.8 MPa per µm of lift.) The
        predictor moves the electrode by the lift's change. No recompilation."""
        entry = self._offset[0]
        entry.offset.x.array[:] = 0.0
        lift = np.zeros(self.tmesh.mesh.geometry.dim)
        lift[1] = float(lift_m)
        entry.lift.value[:] = lift
        self._h_rows = np.full_like(self._h_rows, float(lift_m))

    def _surface_shift(self, ratio: float) -> float:
        """How far the electrode's surface moved in this step where it carries load [m]: the offset change
        since the last accepted step (less ``ratio`` times the last step's, which the predictor repeats),
        averaged over the interface facets weighted by length times the last solve's contact pressure at
        their midpoints (by length alone where nothing carries pressure)."""
        _, _, mid, length = self._offset
        w = length.copy()
        samples = self.interface_samples()
        if samples is not None and len(mid):
            from scipy.spatial import cKDTree
            near = cKDTree(np.column_stack([samples.x_m, samples.y_m])).query(mid[:, :2])[1]
            w = length * samples.contact_pressure_Pa[near]
        change = self._h_rows - self._h_accepted - ratio * self._h_step
        sums = self.tmesh.comm.allreduce(np.array([float(np.dot(w, change)), float(w.sum()),
                                                   float(np.dot(length, change)), float(length.sum())]), op=MPI.SUM)
        if sums[1] > 0:
            return float(sums[0] / sums[1])
        return float(sums[2] / sums[3]) if sums[3] > 0 else 0.0

    def interface_samples(self):
        """The interface's :class:`~ecmsim.mechanics.contact.ContactProfile` of the last solve (gap g_N and
        Nitsche pressure at the contact quadrature points, the same on every rank), or None before one."""
        return None if self._solution is None else self._solution.contact.get("interface")

    @property
    def error_tolerance(self) -> float:
        return self.constitutive.error_tolerance

    @error_tolerance.setter
    def error_tolerance(self, value: float) -> None:
        self.constitutive.error_tolerance = value

    def advance(self, t_s: float, dt_s: float, step=None) -> int:
        self._saved = [b.u.x.array.copy() for b in self.problem.bodies]
        self._loose = False
        if self._first:
            its = self._solve(t_s, dt_s, self.load_steps)
            self._first = False
            load = getattr(self.problem, "load_residual", None)
            if load:
                self.problem.atol = max(self.problem.atol, LOAD_RESIDUAL_TOLERANCE * load)
            return its
        ratio = 0.0
        if dt_s > 0 and self._dt_last > 0 and self._frictionless:
            # Predictor (as the bonded CreepProblem): the last accepted step's increment scaled
            # by the step ratio (at most 1). Frictionless only: with friction, solve() measures
            # the slip of the step from the displacement it starts from.
            ratio = min(dt_s / self._dt_last, 1.0)
            for b, du in zip(self.problem.bodies, self._du_last, strict=True):
                b.u.x.array[:] += ratio * du
        if self._offset is not None and self._electrode is not None:
            # the electrode follows its surface where it carries load: moved along y by the offset
            # change of this step there (less what the predictor above moved it), else a strip
            # increment opens the whole interface in Newton's first iterate and leaves the electrode
            # without support (a singular tangent: Newton diverges)
            shift = self._surface_shift(ratio)
            self._electrode.u.x.array.reshape(-1, self.tmesh.mesh.geometry.dim)[:, 1] += shift
        return self._solve(t_s, dt_s)

    def error_indicator(self) -> float:
        return self.constitutive.error_indicator()

    def resolve(self, t_s: float, dt_s: float, step=None) -> int:
        """The step solved again after a coupling iteration changed its interface offset a little: Newton
        starts from this step's last solution, the committed state stays the start of the step. Newton stops at
        COUPLING_SOLVE_LOOSENING times the step's tolerance (:meth:`settle` tightens the step's last solve)."""
        its = self._solve(t_s, dt_s, where=", coupling iteration", atol=COUPLING_SOLVE_LOOSENING * self.problem.atol)
        self._loose = True
        return its

    def settle(self, t_s: float, dt_s: float, step=None) -> int:
        """After the step's coupling iterations: a last solve that stopped at the looser tolerance is taken on
        to the step's own tolerance (Newton from it: one or two iterations); its iterations (0: nothing to do)."""
        if not self._loose:
            return 0
        self._loose = False
        return self._solve(t_s, dt_s, where=", the coupling's last solve tightened")

    def _solve(self, t_s: float, dt_s: float, load_steps: int = 1, where: str = "", atol: float | None = None) -> int:
        """Newton over dt from the bodies' present displacements; its iterations, or SolverError naming the step.

        A Newton that fails is tried once more from the same start with the other line search (full steps, then
        backtracking): each converges where the other does not (docs/creep.md, "Creep with contact"). ``atol``: Newton's
        absolute tolerance of this solve (None: the problem's)."""
        self.constitutive.dt_s = float(dt_s)
        bodies = self.problem.bodies
        start = [(b.u.x.array.copy(), b.u_old.x.array.copy()) for b in bodies]
        search = self.problem.problem.solver.getLineSearch()
        first = search.getType()
        try:
            sol = self.problem.solve(load_steps, atol=atol)
            spent = 0
        except SolverError as err:
            other = "basic" if first != "basic" else "bt"
            for b, (u, u_old) in zip(bodies, start, strict=True):
                b.u.x.array[:], b.u_old.x.array[:] = u, u_old
            search.setType(other)
            try:
                sol = self.problem.solve(load_steps, atol=atol)
                spent = err.newton_iterations
            except SolverError as again:
                raise SolverError(f"creep + contact at t = {t_s:g} s (dt {dt_s:g} s){where}: {err}; with line search "
                                  f"{other}: {again}", err.newton_iterations + again.newton_iterations) from None
            finally:
                search.setType(first)
        self._solution = sol
        return int(sum(sol.info["newton_iterations"])) + spent

    def relaxation_max(self) -> float:
        return self.constitutive.relaxation_max()

    @property
    def checkpointed(self) -> bool:
        """Plating/stripping windows (a gap offset) write checkpoints; holds do not yet (``--resume`` refused)."""
        return self._offset is not None

    def checkpoint_state(self) -> dict[str, np.ndarray]:
        """The committed state of this rank: the bodies' displacements and predictor increments, the creep
        state, the interface offset's history (predictor) and the solver scalars."""
        c = self.constitutive
        state = {f"u_{i}": b.u.x.array.copy() for i, b in enumerate(self.problem.bodies)}
        state.update({f"du_{i}": du.copy() for i, du in enumerate(self._du_last or [])})
        state.update({"creep_strain": c.creep_strain.x.array.copy(), "p": c.p.x.array.copy(),
                      "q_start": c._q_start.copy(), "h_accepted": self._h_accepted.copy(),
                      "h_step": self._h_step.copy(),
                      "scalars": np.array([self._dt_last, float(self._first), float(self.problem.atol),
                                           float(getattr(self.problem, "load_residual", 0.0) or 0.0),
                                           float(self._du_last is not None)])})
        return state

    def restore_state(self, state: dict[str, np.ndarray]) -> None:
        """Back to a :meth:`checkpoint_state` of the same mesh and partition; the contact samples of the
        committed state are recomputed (the cycling problem's gaps and the predictor's weights)."""
        c = self.constitutive
        for i, b in enumerate(self.problem.bodies):
            b.u.x.array[:] = state[f"u_{i}"]
            b.u_old.x.array[:] = state[f"u_{i}"]
        c.creep_strain.x.array[:] = state["creep_strain"]
        c.p.x.array[:] = state["p"]
        c._q_start = state["q_start"].copy()
        self._h_accepted, self._h_step = state["h_accepted"].copy(), state["h_step"].copy()
        self._dt_last, first, atol, load, has_du = (float(v) for v in state["scalars"])
        self._first = bool(first)
        self.problem.atol = atol
        if load:
            self.problem.load_residual = load
        self._du_last = [state[f"du_{i}"].copy() for i in range(len(self.problem.bodies))] if has_du else None
        c.dt_s = 0.0
        c.update()
        self.problem._linear_iterations = []
        self._solution = self.problem._solution([0], [0.0])

    def accept(self) -> None:
        self.constitutive.accept()
        self._du_last = [b.u.x.array - saved for b, saved in zip(self.problem.bodies, self._saved, strict=True)]
        self._dt_last = self.constitutive.dt_s
        self._h_step = self._h_rows - self._h_accepted
        self._h_accepted = self._h_rows.copy()

    def reject(self) -> None:
        for b, saved in zip(self.problem.bodies, self._saved or [], strict=False):
            b.u.x.array[:] = saved
            b.u_old.x.array[:] = saved
        self.constitutive.dt_s = 0.0
        self.constitutive.update()

    def metrics(self) -> dict[str, float]:
        out = self.constitutive.metrics()
        if self._solution is not None:
            for facet, prof in self._solution.contact.items():
                prefix = "" if facet == "interface" else f"{facet}_"
                out.update({f"{prefix}{k}": v for k, v in prof.metrics().items()})
        return out

    def cell_means(self) -> dict[str, np.ndarray]:
        return self.constitutive.cell_means()

    def solution(self):
        """The contact solution now; its stress is the L2 projection of the quadrature stress."""
        sol = self._solution
        sol.stress = self.constitutive.stress_projection()
        sol.info["constitutive"] = "norton_creep"
        sol.info["quadrature_degree"] = self.constitutive.qdeg
        return sol

    def close(self) -> None:
        self.problem.close()


__all__ = ["CreepConstitutive", "CreepContactMechanics"]
