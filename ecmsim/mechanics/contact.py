r"""Frictionless contact between tagged bodies (optionally with Coulomb friction): Nitsche's method.

Setting. The cell regions of a :class:`~ecmsim.mesh.TaggedMesh` form *bodies*: regions joined by
a facet group that is not declared a contact are glued into one body; each body gets its own
submesh and its own displacement :math:`u_b` (Lagrange, degree k), so that the displacement may
jump across a contact facet group. A contact pair is a facet group shared by two bodies, e.g.
``interface`` (electrode "+" over electrolyte "-"); on it :math:`\nu` is the unit normal
pointing from the "-" body into the "+" body -- continuous along the facet group (the mean of
the facets' normals at each vertex, linear in between), so that a polygonal curve does not lock
at its vertices when the sides slide -- and, in small sliding (the facets stay paired as meshed),

.. math::

    g(u) = g_0 + (u_+ - u_-)\cdot\nu \quad\text{(gap, > 0 open)}, \qquad
    p = -\nu\cdot\sigma_\pm\,\nu \quad\text{(contact pressure, > 0 in compression)},

with the Signorini conditions :math:`g \ge 0,\ p \ge 0,\ p\,g = 0` and no shear (frictionless).
They are the same as :math:`p = [p - \gamma g]_+` for any :math:`\gamma > 0`. A rigid obstacle
(:class:`RigidCircle`) is the same with :math:`u_- = 0`, :math:`g = |x + u - c| - R` and
:math:`\nu = (x + u - c)/|x + u - c|`.

Nitsche (Chouly & Hild, SIAM J. Numer. Anal. 51, 1295 (2013); Chouly, Hild & Renard, Math.
Comp. 84, 1089 (2015) for the :math:`\theta` family; two bodies with weighted averages as in
Annavarapu et al., IJNME 92, 206 (2012)). With the discrete pressure taken from the stresses
of both sides, :math:`p_\sigma(u) = -\nu\cdot(w_+\sigma(u_+) + w_-\sigma(u_-))\nu`, and
:math:`P(u) = p_\sigma(u) - \gamma\,g(u)`, find :math:`u = (u_b)` such that for all :math:`v`

.. math::

    \sum_b \int_{\Omega_b}\sigma(u_b):\varepsilon(v_b)\,dx - L(v)
    - \int_\Gamma \frac{\theta}{\gamma}\,p_\sigma(u)\,p_\sigma(v)\,ds
    + \int_\Gamma \frac{1}{\gamma}\,[P(u)]_+\,\big(\theta\,p_\sigma(v) - \gamma\,\delta g(v)\big)\,ds = 0,

:math:`\delta g(v) = (v_+ - v_-)\cdot\nu`. The method is consistent (the exact solution satisfies
it for every :math:`\gamma`), so unlike a penalty it converges at the rate of the elements and
its answer hardly depends on :math:`\gamma`. :math:`\theta = -1` (skew-symmetric, the default)
is well posed for every :math:`\gamma_0 > 0`; :math:`\theta = 1` (symmetric, a potential exists)
needs :math:`\gamma_0` above a mesh-dependent trace constant; see docs/contact.md.

Parameter scaling: :math:`\gamma = \gamma_0 / (h_+/E'_+ + h_-/E'_-)` -- the two element layers
at the facet as springs in series, with :math:`E' = E/(1-\nu^2)` the plane-strain modulus of each
side (so :math:`\gamma = \gamma_0 E^*/h` for equal sizes, :math:`E^*` the Hertz contact modulus)
and :math:`h = 2|K|/|F|` the height of each side's triangle over the facet (what the discrete
trace inequality needs; a sliver gets a small h, hence a large enough :math:`\gamma`). The
weights :math:`w_\pm = k_\mp/(k_+ + k_-)`, :math:`k = E'/h`, put the flux of the softer side
first, which keeps the method stable for any stiffness contrast. For a rigid obstacle
:math:`w_+ = 1` and :math:`\gamma = \gamma_0 E'/h`. :math:`\gamma_0` is dimensionless.

Coulomb friction (optional, coefficient F > 0, pairs only): the shear :math:`s` on the "-" side,
tangent :math:`\tau = (\nu_y, -\nu_x)`, slip increment over the load step
:math:`\Delta_t(u) = ((u_+ - u_+^{old}) - (u_- - u_-^{old}))\cdot\tau`,
:math:`s = \Pi_{F[P]_+}(s_\sigma(u) + \gamma\Delta_t(u))` with :math:`\Pi_r` the clip to
:math:`[-r, r]`, entering as
:math:`- \frac{\theta}{\gamma}s_\sigma(u)s_\sigma(v) + \frac{1}{\gamma}\,s\,(\theta s_\sigma(v) + \gamma\,\delta_t(v))`
(Chouly, Mlika & Renard, Numer. Math. 139, 593 (2018)).

3D (a mesh of tetrahedra): the same forms with three displacement components, triangular contact
facets, the area-weighted vertex normal and h = 3|K|/|F|; frictionless pairs only (the tangent
above and the rigid circle are 2D).

Solution: Newton (PETSc SNES, :data:`ecmsim.core.fem.NONLINEAR_SOLVER_OPTIONS`) on the blocked system
of all bodies, load stepping a factor t from 0 to 1 that scales every pressure, traction,
prescribed displacement and obstacle motion; the forms are compiled once. The closed state is
counted with :math:`P \ge 0`, so a conforming interface starts closed (a body held only by the
contact is not singular in the first iteration). A step that does not converge raises
:class:`~ecmsim.core.errors.SolverError` naming the step and the residual norm.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ecmsim.core.errors import MeshError, SolverError
from ecmsim.core.fem import (LINEAR_SOLVER_OPTIONS, MPI, NONLINEAR_SOLVER_OPTIONS, PETSc, basix, destroy_petsc, dolfinx,
                        fem, linear_solver, options_prefix, snes_reason, ufl)
from ecmsim.materials import Material
from ecmsim.mechanics.elasticity import (ElasticSolution, Support, Traction, dirichlet_bcs, epsilon, lame_fields,
                                         sigma, stress_field, window_supports)
from ecmsim.mesh import TaggedMesh

#: Default dimensionless Nitsche parameter gamma_0 (see the module docstring and docs/contact.md:
#: answers change by < 1e-3 relative over 10..1000 with the skew-symmetric variant).
NITSCHE_PARAMETER = 100.0

#: theta of each Nitsche variant.
NITSCHE_VARIANTS = {"skew": -1.0, "incomplete": 0.0, "symmetric": 1.0}

_PAIR_ID0, _OBSTACLE_ID0 = 1, 1001   # integration ids of contact facets (custom integration data)

#: Numbers the problems' PETSc option prefixes: the same on every rank (problems are built
#: collectively, in the same order), unlike id().


@dataclass(frozen=True)
class ContactPair:
    """Contact across a facet group shared by two bodies (a split conforming interface).

    Attributes:
        facet: facet tag name: ``interface`` (electrode "+" over electrolyte "-") or ``<a>_<b>``
            (region a "+", region b "-").
        initial_gap: ``x -> g0`` [m] (x of shape (3, N), returns (N,)): the distance between the
            two surfaces before loading, measured along the normal, >= 0; None: touching. It is
            interpolated in the displacement space, so it enters as a field on the facets.
    """

    facet: str = "interface"
    initial_gap: Callable[[np.ndarray], np.ndarray] | None = None


@dataclass(frozen=True)
class RigidCircle:
    """A rigid circular obstacle (a fibre seen from one layer) touching the facets ``facet``.

    The body stays outside the circle. The centre moves by ``load factor * motion_m``.

    Attributes:
        facet: facet tag name of the body surface that may touch the circle.
        centre_m: centre (x, y) before loading [m].
        radius_m: radius [m].
        motion_m: displacement of the centre at full load [m].
        conform_to_mesh: a facet group meshed *on* the circle (a conformal groove) has straight
            facets whose interior points lie up to h^2/(8R) inside it; True measures the gap
            from the meshed polygon there (g = |x + u - c| - R - min(|x - c| - R, 0)), so an
            unloaded conformal groove starts touching with zero gap instead of an interference
            fit of the chord sag (which, with E/h large, pushes a body hanging on the circle off
            it in the first Newton iteration).
    """

    facet: str
    centre_m: tuple[float, float]
    radius_m: float
    motion_m: tuple[float, float] = (0.0, 0.0)
    conform_to_mesh: bool = False


@dataclass
class ContactProfile:
    """Gap and contact pressure along a contact facet group, the same on every rank, sorted by x.

    Samples are the quadrature points of the contact integrals (Gauss, degree 2k: k + 1 points
    per facet) with their weights: the contact state is decided there, and sums over them are
    the discrete method's own integrals.

    Attributes:
        x_m, y_m: sample positions (reference configuration) [m].
        gap_m: g(u) [m], > 0 open (a small negative value is the discrete interpenetration).
        contact_pressure_Pa: the Nitsche contact pressure [P(u)]_+ [Pa], >= 0, 0 where open.
        weight_m: quadrature weights [m]; their sum is the length of the facet group. In 3D:
            area weights [m^2] (the name is kept), summing to the facet group's area.
        z_m: sample depth [m] in 3D, None in 2D.
    """

    facet: str
    x_m: np.ndarray
    y_m: np.ndarray
    gap_m: np.ndarray
    contact_pressure_Pa: np.ndarray
    weight_m: np.ndarray
    z_m: np.ndarray | None = None

    @property
    def in_contact(self) -> np.ndarray:
        """Samples that carry pressure."""
        return self.contact_pressure_Pa > 0

    def metrics(self) -> dict[str, float]:
        """Contact metrics (names carry units); fractions and means are over the facet group length
        (3D: area-weighted, the total force in N instead of N per m of depth)."""
        w, p, g = self.weight_m, self.contact_pressure_Pa, self.gap_m
        length = w.sum()
        return {
            "contact_fraction": float(np.dot(w, self.in_contact) / length),
            "contact_pressure_mean_Pa": float(np.dot(w, p) / length),
            "contact_pressure_max_Pa": float(p.max()),
            ("contact_force_N_per_m" if self.z_m is None else "contact_force_N"): float(np.dot(w, p)),
            "gap_max_m": float(g.max()),
            "gap_min_m": float(g.min()),
        }

    def to_csv(self, path) -> None:
        names, cols = ["x_m", "y_m"], [self.x_m, self.y_m]
        if self.z_m is not None:
            names.append("z_m")
            cols.append(self.z_m)
        names += ["gap_m", "contact_pressure_Pa", "weight_m"]
        cols += [self.gap_m, self.contact_pressure_Pa, self.weight_m]
        np.savetxt(path, np.column_stack(cols), delimiter=",", header=",".join(names), comments="")


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


@dataclass
class _Body:
    name: str
    regions: list[str]
    cells: np.ndarray            # parent-local cells (owned and ghost)
    mesh: object = None
    entity_map: object = None
    V: object = None
    u: object = None
    u_old: object = None
    bcs: list = field(default_factory=list)
    values: list = field(default_factory=list)   # (g, full values) of prescribed displacements


def _strain3(u):
    """sym(grad u) padded to 3x3 (plane strain), as the constitutive object's quadrature points see it."""
    from ecmsim.mechanics.creep import strain3

    return strain3(u)


def nitsche_coefficients(k_plus, k_minus, gamma0):
    """Weights (w_+, w_-) and gamma for stiffnesses k = E'/h [Pa/m] of the two sides.

    Works on UFL expressions and numpy arrays alike (one formula for the forms and the profiles).
    """
    total = k_plus + k_minus
    return k_minus / total, k_plus / total, gamma0 * k_plus * k_minus / total


def _pos(x):
    """[x]_+ with the closed state counted at x = 0 (see the module docstring)."""
    return ufl.conditional(ufl.ge(x, 0), x, 0)


def _clip(x, r):
    """x clipped to [-r, r] (r >= 0)."""
    return ufl.conditional(ufl.gt(x, r), r, ufl.conditional(ufl.lt(x, -r), -r, x))


#: Facet groups between two regions with a name of their own (ecmsim.mesh): the electrode's
#: contact with the electrolyte, and the boundary of electrode islands (dead Li) inside it.
NAMED_FACET_GROUPS = {"interface": ("electrode", "electrolyte"), "island": ("electrode", "electrolyte")}


def facet_regions(name: str, regions: Sequence[str]) -> tuple[str, str] | None:
    """The ("+", "-") regions of a facet group between two regions, None for other groups."""
    if name in NAMED_FACET_GROUPS:
        pair = NAMED_FACET_GROUPS[name]
        return pair if set(pair) <= set(regions) else None
    parts = name.split("_")
    if len(parts) == 2 and parts[0] in regions and parts[1] in regions:
        return parts[0], parts[1]
    return None


def find_bodies(tmesh: TaggedMesh, contact_facets: Sequence[str]) -> list[list[str]]:
    """Regions grouped into bodies: regions sharing a facet group not in ``contact_facets`` are one body."""
    regions = sorted(tmesh.cell_ids)
    root = {r: r for r in regions}

    def find(r):
        while root[r] != r:
            r = root[r]
        return r

    for name in tmesh.facet_ids:
        pair = facet_regions(name, regions)
        if pair and name not in contact_facets:
            root[find(pair[0])] = find(pair[1])
    groups: dict[str, list[str]] = {}
    for r in regions:
        groups.setdefault(find(r), []).append(r)
    return sorted(groups.values())


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
        nitsche_parameter: gamma_0 [-] (see the module docstring).
        variant: ``skew`` (theta = -1), ``incomplete`` (0) or ``symmetric`` (1).
        friction_coefficient: Coulomb coefficient F [-] on the pairs; 0 is frictionless.
        petsc_options: overrides of :data:`ecmsim.core.fem.NONLINEAR_SOLVER_OPTIONS`.
        linear: the Newton steps' linear solver: ``direct`` (MUMPS), ``iterative`` (GMRES + GAMG on
            the monolithic matrix, each body's rigid-body modes as near-nullspace) or ``auto``.
        constitutive: None (linear elasticity) or an object that supplies the body stress, e.g.
            :class:`~ecmsim.mechanics.creep_contact.CreepConstitutive`: ``attach([(u_b, entity_map_b)])``,
            ``stress_q`` (3x3 stress at quadrature points), ``tangent(e)`` (its consistent tangent on a
            3x3 strain), ``dx`` (the measure of its quadrature points), ``facet_correction`` (a 3x3
            stress subtracted from the elastic stress in the Nitsche terms) and ``update()`` (called
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
        self.e_plane = self._plane_strain_modulus()
        self.load = fem.Constant(msh, PETSc.ScalarType(1.0))
        self.gamma0 = fem.Constant(msh, PETSc.ScalarType(nitsche_parameter))
        self.theta = fem.Constant(msh, PETSc.ScalarType(NITSCHE_VARIANTS[variant]))
        self.friction = fem.Constant(msh, PETSc.ScalarType(friction_coefficient))
        self.variant = variant
        self._quadrature_degree = 2 * degree
        self.constitutive = constitutive

        self.bodies = self._make_bodies()
        if constitutive is not None:
            constitutive.attach([(b.u, b.entity_map) for b in self.bodies])
        self._body_of_region = {r: b for b in self.bodies for r in b.regions}
        for b in self.bodies:
            for s in supports:
                facets = self._body_facets(b, tmesh.facets(s.facet))
                for bc, g in dirichlet_bcs(b.V, facets, s):
                    b.bcs.append(bc)
                    if g is not None:
                        b.values.append((g, g.x.array.copy()))

        residuals = self._residuals(tractions, friction_coefficient > 0)
        jacobian = None
        if constitutive is not None:
            # The volume stress is a coefficient (no derivative): add the tangent's linear form, whose
            # derivative is the consistent tangent, to the residuals before differentiating.
            dx = constitutive.dx
            lin = [residuals[i] + sum(ufl.inner(constitutive.tangent(_strain3(b.u)), _strain3(ufl.TestFunction(b.V)))
                                      * dx(self.tmesh.cell_ids[r]) for r in b.regions)
                   for i, b in enumerate(self.bodies)]
            jacobian = fem.forms.derivative_block(lin, [b.u for b in self.bodies])
        self.plan = linear_solver("contact", [b.V for b in self.bodies], linear)
        options = dict(NONLINEAR_SOLVER_OPTIONS)
        for key in LINEAR_SOLVER_OPTIONS:
            options.pop(key)
        options.update(self.plan.options)
        if friction_coefficient > 0:
            # stick/slip switches make full steps cycle; backtracking converges (docs/contact.md)
            options["snes_linesearch_type"] = "bt"
        options.update(petsc_options or {})
        self.problem = fem.petsc.NonlinearProblem(
            residuals, [b.u for b in self.bodies], bcs=[bc for b in self.bodies for bc in b.bcs],
            entity_maps=[b.entity_map for b in self.bodies], kind="mpi", petsc_options=options,
            petsc_options_prefix=options_prefix("contact"), J=jacobian)
        if constitutive is not None:
            self._update_in_front_of_residual()
        self.plan.attach(self.problem.A)
        self.problem.solver.setConvergenceHistory(reset=True)   # one history per load step
        self._atol = self.problem.solver.getTolerances()[1]

        # Post-processing on the whole mesh: u discontinuous across the contacts, stress per cell.
        W = fem.functionspace(msh, ("Discontinuous Lagrange", degree, (gdim,)))
        self.u = fem.Function(W, name="displacement_m")
        self.stress, self._stress_expr = stress_field(self.u, self.lam, self.mu, degree)
        if constitutive is not None:
            # the Nitsche terms' facet stress (see _sigma_u), so that the profiles are the forms' own
            c = constitutive.facet_correction
            s = sigma(self.u, self.lam, self.mu) - self._correction_block()
            comps = [s[0, 0], s[1, 1], self.lam * ufl.tr(epsilon(self.u)) - c[2, 2], s[0, 1]]
            self._stress_expr = fem.Expression(ufl.as_vector(comps), self.stress.function_space.element.interpolation_points)

    def _correction_block(self):
        c = self.constitutive.facet_correction   # 3x3: its in-plane block in plane strain
        gdim = self.tmesh.mesh.geometry.dim
        return ufl.as_matrix([[c[i, j] for j in range(gdim)] for i in range(gdim)])

    def _sigma_u(self, w):
        """Stress of a body displacement in the Nitsche terms: elastic, minus the constitutive's facet correction."""
        s = sigma(w, self.lam, self.mu)
        return s if self.constitutive is None else s - self._correction_block()

    def _update_in_front_of_residual(self) -> None:
        """PETSc SNES evaluates the residual through dolfinx's assembly: update the constitutive state first."""
        problem = self.problem
        ctx = {"u": problem.u, "residual": problem.F, "jacobian": problem.J,
               "bcs": [bc for b in self.bodies for bc in b.bcs]}
        if (blocks := problem.b.getAttr("_blocks")) is not None:
            ctx["_blocks"] = blocks

        def residual(snes, x, b, **kw):
            dolfinx.la.petsc._ghost_update(x, PETSc.InsertMode.INSERT, PETSc.ScatterMode.FORWARD)
            if "_blocks" in kw:
                x.setAttr("_blocks", kw["_blocks"])
            fem.petsc.assign(x, kw["u"])
            for body in self.bodies:
                body.u.x.scatter_forward()
            self.constitutive.update()
            fem.petsc.assemble_residual(snes, x, b, **kw)

        problem.solver.setFunction(residual, problem.b, kargs=ctx)

    # -- set-up ---------------------------------------------------------------------------------

    def _plane_strain_modulus(self):
        """E' = E/(1 - nu^2) per cell [Pa] (DG0), from lambda and mu: E' = 4 mu (lambda + mu)/(lambda + 2 mu)."""
        Q = self.lam.function_space
        e = fem.Function(Q, name="plane_strain_modulus_Pa")
        lam, mu = self.lam.x.array, self.mu.x.array
        e.x.array[:] = 4 * mu * (lam + mu) / (lam + 2 * mu)
        return e

    def _make_bodies(self) -> list[_Body]:
        tm = self.tmesh
        msh = tm.mesh
        contact_facets = [p.facet for p in self.pairs]
        bodies = []
        for regions in find_bodies(tm, contact_facets):
            cells = np.unique(np.concatenate([tm.cells(r) for r in regions])).astype(np.int32)
            b = _Body("+".join(regions), regions, cells)
            b.mesh, b.entity_map, _, _ = dolfinx.mesh.create_submesh(msh, msh.topology.dim, cells)
            tdim = msh.topology.dim
            b.mesh.topology.create_connectivity(tdim - 1, tdim)
            b.mesh.topology.create_connectivity(tdim, tdim - 1)
            b.V = fem.functionspace(b.mesh, ("Lagrange", self.degree, (msh.geometry.dim,)))
            b.u = fem.Function(b.V, name=f"displacement_{b.name}_m")
            b.u_old = fem.Function(b.V)
            bodies.append(b)
        for p in self.pairs:
            sides = facet_regions(p.facet, sorted(tm.cell_ids))
            if sides is None:
                raise MeshError(f"contact facet group '{p.facet}' does not lie between two tagged regions")
            if next(b for b in bodies if sides[0] in b.regions) is next(b for b in bodies if sides[1] in b.regions):
                raise MeshError(f"contact facet group '{p.facet}' joins regions of one body ({sides[0]}, "
                                f"{sides[1]} are also glued by another facet group): declare that group a contact too")
        self._check_split(bodies)
        return bodies

    def _check_split(self, bodies: list[_Body]) -> None:
        """Every facet between two bodies must be a contact facet: any other would silently become
        two free surfaces (e.g. an untagged or unknown facet group between two regions)."""
        tm = self.tmesh
        msh = tm.mesh
        tdim = msh.topology.dim
        imap = msh.topology.index_map(tdim)
        body_of_cell = np.full(imap.size_local + imap.num_ghosts, -1)
        for i, b in enumerate(bodies):
            body_of_cell[b.cells] = i
        f2c = msh.topology.connectivity(tdim - 1, tdim)
        fmap = msh.topology.index_map(tdim - 1)
        contact = np.zeros(fmap.size_local + fmap.num_ghosts, dtype=bool)
        for p in self.pairs:
            contact[tm.facets(p.facet)] = True
        n_owned = fmap.size_local
        offsets, links = f2c.offsets, f2c.array
        two = np.flatnonzero(np.diff(offsets[:n_owned + 1]) == 2)
        c0, c1 = links[offsets[two]], links[offsets[two] + 1]
        loose = int(np.count_nonzero((body_of_cell[c0] != body_of_cell[c1]) & ~contact[two]))
        loose = tm.comm.allreduce(loose, op=MPI.SUM)
        if loose:
            raise MeshError(f"{loose} facets lie between two bodies ({', '.join(b.name for b in bodies)}) without "
                            f"being contact facets (contact groups: {', '.join(p.facet for p in self.pairs)}; mesh "
                            f"facet groups: {', '.join(tm.facet_ids)})")

    def _cell_mask(self, cells: np.ndarray) -> np.ndarray:
        imap = self.tmesh.mesh.topology.index_map(self.tmesh.mesh.topology.dim)
        mask = np.zeros(imap.size_local + imap.num_ghosts, dtype=bool)
        mask[cells] = True
        return mask

    def _body_facets(self, body: _Body, parent_facets: np.ndarray) -> np.ndarray:
        """Submesh facets of ``body`` that are the given parent facets (those next to the body)."""
        msh = self.tmesh.mesh
        tdim = msh.topology.dim
        f2c, c2f = msh.topology.connectivity(tdim - 1, tdim), msh.topology.connectivity(tdim, tdim - 1)
        sub_c2f = body.mesh.topology.connectivity(tdim, tdim - 1)
        inside = self._cell_mask(body.cells)
        pcells, lfacets = [], []
        for f in parent_facets:
            for c in f2c.links(f):
                if inside[c]:
                    pcells.append(c)
                    lfacets.append(int(np.flatnonzero(c2f.links(c) == f)[0]))
        if not pcells:
            return np.empty(0, dtype=np.int32)
        # create_submesh keeps each cell's vertex order, hence its local facet numbering
        scells = body.entity_map.sub_topology_to_topology(np.asarray(pcells, dtype=np.int32), inverse=True)
        return np.unique([sub_c2f.links(sc)[lf] for sc, lf in zip(scells, lfacets, strict=True)]).astype(np.int32)

    def _pair_data(self, pair: ContactPair) -> tuple[np.ndarray, tuple[str, str]]:
        """Interior-facet integration data (plus cell, local facet, minus cell, local facet) per row."""
        tm = self.tmesh
        msh = tm.mesh
        plus, minus = facet_regions(pair.facet, sorted(tm.cell_ids))
        data = fem.compute_integration_domains(fem.IntegralType.interior_facet, msh.topology, tm.facets(pair.facet))
        data = np.asarray(data, dtype=np.int32).reshape(-1, 4).copy()
        in_plus, in_minus = self._cell_mask(tm.cells(plus)), self._cell_mask(tm.cells(minus))
        swap = ~in_plus[data[:, 0]]
        data[swap] = data[swap][:, [2, 3, 0, 1]]
        if not (in_plus[data[:, 0]].all() and in_minus[data[:, 2]].all()):
            raise MeshError(f"facet group '{pair.facet}' has facets that are not between '{plus}' and '{minus}'")
        return data, (plus, minus)

    def _exterior_data(self, name: str, body: _Body) -> np.ndarray:
        """Exterior-facet integration data (cell, local facet) of the group ``name`` next to ``body``."""
        msh = self.tmesh.mesh
        facets = np.intersect1d(self.tmesh.facets(name), dolfinx.mesh.exterior_facet_indices(msh.topology))
        data = np.asarray(fem.compute_integration_domains(fem.IntegralType.exterior_facet, msh.topology, facets),
                          dtype=np.int32).reshape(-1, 2)
        return data[self._cell_mask(body.cells)[data[:, 0]]]

    # -- forms ----------------------------------------------------------------------------------

    def _residuals(self, tractions: Sequence[Traction], with_friction: bool) -> list:
        tm = self.tmesh
        msh = tm.mesh
        quad = {"quadrature_degree": self._quadrature_degree}
        x = ufl.SpatialCoordinate(msh)
        n = ufl.FacetNormal(msh)
        tdim = msh.topology.dim
        zero = ufl.as_vector([0.0] * msh.geometry.dim)
        h = tdim * ufl.CellVolume(msh) / ufl.FacetArea(msh)    # the cell's height over the facet
        dx = ufl.Measure("dx", domain=msh, subdomain_data=tm.cell_tags)
        v = {b.name: ufl.TestFunction(b.V) for b in self.bodies}
        if self.constitutive is None:
            F = {b.name: sum(ufl.inner(sigma(b.u, self.lam, self.mu), epsilon(v[b.name])) * dx(tm.cell_ids[r])
                             for r in b.regions) for b in self.bodies}
        else:
            dxq = self.constitutive.dx
            F = {b.name: sum(ufl.inner(self.constitutive.stress_q, _strain3(v[b.name])) * dxq(tm.cell_ids[r])
                             for r in b.regions) for b in self.bodies}

        # Interior facets of the pairs: one data list shared by every form (dolfinx wants one per type).
        self._pairs = []
        dS_data = []
        for i, pair in enumerate(self.pairs):
            data, sides = self._pair_data(pair)
            dS_data.append((_PAIR_ID0 + i, data.ravel()))
            g0 = None
            if pair.initial_gap is not None:
                g0 = fem.Function(fem.functionspace(msh, ("Lagrange", self.degree)), name=f"initial_gap_{pair.facet}_m")
                g0.interpolate(lambda xx, f=pair.initial_gap: np.asarray(f(xx), dtype=float))
                g0.x.scatter_forward()
            self._pairs.append([pair, data, sides, g0])
        dS = ufl.Measure("dS", domain=msh, subdomain_data=dS_data, metadata=quad)
        for i, entry in enumerate(self._pairs):
            entry.append(self._vertex_normals(dS(_PAIR_ID0 + i)))

        for i, (pair, _, (plus, minus), g0, nu_h) in enumerate(self._pairs):
            bp, bm = self._body_of_region[plus], self._body_of_region[minus]
            nu = nu_h("-") / ufl.sqrt(ufl.dot(nu_h("-"), nu_h("-")))     # from "-" into "+", continuous
            tau = ufl.as_vector([nu[1], -nu[0]]) if msh.geometry.dim == 2 else None   # friction: 2D only
            w_p, w_m, gamma = nitsche_coefficients(self.e_plane("+") / h("+"), self.e_plane("-") / h("-"),
                                                   self.gamma0)

            def traction(w_plus, w_minus, nu=nu, w_p=w_p, w_m=w_m, stress=lambda w: sigma(w, self.lam, self.mu)):
                """Weighted traction sigma nu on the "-" side from displacement(s) (None: left out)."""
                t = zero
                if w_plus is not None:
                    t = t + w_p * ufl.dot(stress(w_plus)("+"), nu)
                if w_minus is not None:
                    t = t + w_m * ufl.dot(stress(w_minus)("-"), nu)
                return t

            def jump(w_plus, w_minus):
                j = zero
                if w_plus is not None:
                    j = j + w_plus("+")
                if w_minus is not None:
                    j = j - w_minus("-")
                return j

            t_u = traction(bp.u, bm.u, stress=self._sigma_u)
            p_sigma = -ufl.dot(t_u, nu)
            gap = ufl.dot(jump(bp.u, bm.u), nu) + (g0("+") if g0 is not None else 0)
            P = p_sigma - gamma * gap
            if with_friction:
                s_sigma = ufl.dot(t_u, tau)
                slip = ufl.dot(jump(bp.u - bp.u_old, bm.u - bm.u_old), tau)
                shear = _clip(s_sigma + gamma * slip, self.friction * _pos(P))
            for body, test in ((bp, (v[bp.name], None)), (bm, (None, v[bm.name]))):
                t_v = traction(*test)
                F[body.name] += (-self.theta / gamma * p_sigma * -ufl.dot(t_v, nu)
                                 + 1 / gamma * _pos(P) * (self.theta * -ufl.dot(t_v, nu)
                                                          - gamma * ufl.dot(jump(*test), nu))) * dS(_PAIR_ID0 + i)
                if with_friction:
                    F[body.name] += (-self.theta / gamma * s_sigma * ufl.dot(t_v, tau)
                                     + 1 / gamma * shear * (self.theta * ufl.dot(t_v, tau)
                                                            + gamma * ufl.dot(jump(*test), tau))) * dS(_PAIR_ID0 + i)

        # Exterior facets: loads and obstacles, one data list per body.
        self.pressures: dict[str, object] = {}
        pressure = {t.facet: fem.Constant(msh, PETSc.ScalarType(t.pressure_Pa)) for t in tractions
                    if t.pressure_Pa is not None}
        self.pressures.update(pressure)
        self._obstacles = []
        self._obstacle_motion: dict[str, object] = {}
        obstacle_bodies = [self._obstacle_body(o) for o in self.obstacles]
        for b in self.bodies:
            ds_data, terms = [], []
            for j, load in enumerate(tractions):
                data = self._exterior_data(load.facet, b)
                ds_data.append((j + 1, data.ravel()))
                t = zero
                if load.pressure_Pa is not None:
                    t = t - pressure[load.facet] * n
                if load.traction is not None:
                    t = t + load.traction(x, n)
                terms.append((j + 1, -self.load * ufl.inner(t, v[b.name])))
            for k, obstacle in enumerate(self.obstacles):
                if obstacle_bodies[k] is not b:
                    ds_data.append((_OBSTACLE_ID0 + k, np.empty(0, dtype=np.int32)))
                    continue
                data = self._exterior_data(obstacle.facet, b)
                self._obstacles.append((obstacle, b, data))
                ds_data.append((_OBSTACLE_ID0 + k, data.ravel()))
                motion = fem.Constant(msh, np.asarray(obstacle.motion_m, dtype=PETSc.ScalarType))
                self._obstacle_motion[obstacle.facet] = motion
                centre = ufl.as_vector(obstacle.centre_m) + self.load * motion
                r = x + b.u - centre
                dist = ufl.sqrt(ufl.dot(r, r))
                nu = r / dist                             # from the circle into the body
                gamma = self.gamma0 * self.e_plane / h    # nitsche_coefficients as k_- -> oo: w_+ = 1
                p_sigma = -ufl.dot(nu, ufl.dot(self._sigma_u(b.u), nu))
                # the circle is closed: a point pushed past its centre would meet its far side at
                # distance R again (a spurious "contact" found by a large first Newton iterate of a
                # body hanging on the circle); only the side the point faces in the reference counts
                r0 = x - ufl.as_vector(obstacle.centre_m)
                facing = ufl.conditional(ufl.gt(ufl.dot(r, r0), 0), 1.0, 0.0)
                gap = dist - obstacle.radius_m
                if obstacle.conform_to_mesh:
                    gap = gap - ufl.min_value(ufl.sqrt(ufl.dot(r0, r0)) - obstacle.radius_m, 0.0)
                P = facing * (p_sigma - gamma * gap) - (1 - facing) * 1.0
                pv = -ufl.dot(nu, ufl.dot(sigma(v[b.name], self.lam, self.mu), nu))
                terms.append((_OBSTACLE_ID0 + k, -self.theta / gamma * p_sigma * pv
                              + 1 / gamma * _pos(P) * (self.theta * pv - gamma * ufl.dot(v[b.name], nu))))
            if terms:
                ds = ufl.Measure("ds", domain=msh, subdomain_data=ds_data, metadata=quad)
                for ident, integrand in terms:
                    F[b.name] += integrand * ds(ident)
        return [F[b.name] for b in self.bodies]

    def _vertex_normals(self, dS_pair):
        """Unit normal (from "-" into "+") at the vertices of a pair's facets, as a P1 vector field.

        The length- (3D: area-) weighted mean of the adjacent facets' normals (assembled, so it is the same
        across ranks), normalised; linear along each facet. A continuous normal keeps the gap
        of a polygonal curve consistent at its vertices: with the facets' own normals, a relative
        slip s across a vertex where the polyline turns by an angle a opens or closes s*a there,
        and the vertices act like teeth (the pressure then oscillates from facet to facet).
        """
        msh = self.tmesh.mesh
        gdim = msh.geometry.dim
        N = fem.functionspace(msh, ("Lagrange", 1, (gdim,)))
        q = ufl.TestFunction(N)
        b = fem.assemble_vector(fem.form(ufl.inner(ufl.FacetNormal(msh)("-"), q("-")) * dS_pair))
        b.scatter_reverse(dolfinx.la.InsertMode.add)
        nodal = b.array.reshape(-1, gdim).copy()
        length = np.linalg.norm(nodal, axis=1)
        nodal[length > 0] /= length[length > 0, None]
        nu = fem.Function(N, name="interface_normal")
        nu.x.array[:] = nodal.ravel()
        nu.x.scatter_forward()
        return nu

    def _obstacle_body(self, obstacle: RigidCircle) -> _Body:
        """The one body whose exterior facets form the obstacle's facet group."""
        comm = self.tmesh.comm
        counts = [comm.allreduce(len(self._exterior_data(obstacle.facet, b)), op=MPI.SUM) for b in self.bodies]
        touched = [b for b, c in zip(self.bodies, counts, strict=True) if c > 0]
        if len(touched) != 1:
            raise MeshError(f"obstacle facets '{obstacle.facet}' must bound exactly one body "
                            f"(they bound {len(touched)})")
        return touched[0]

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
              on_step: Callable[[int, float, int], None] | None = None) -> ContactSolution:
        """Ramp the load factor from ``start`` to ``end`` in ``load_steps`` equal steps, Newton each.

        The bodies' displacements at call time are the first initial guess (zero for a new problem).
        ``on_step(step, load_factor, newton_iterations)`` is called after each converged step.
        Raises SolverError when a step does not converge.
        """
        if load_steps < 1:
            raise SolverError(f"load_steps must be >= 1 (got {load_steps})")
        snes = self.problem.solver
        rtol = snes.getTolerances()[0]
        snes.setTolerances(atol=self._atol)
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
                    "contact alone cannot be pulled away by a load)")
            if step == 1 and len(history) and start == 0:
                self.load_residual = float(history[0])   # the load scale (for later solves' tolerances)
            if step == 1 and len(history):
                # Later steps start from the predictor, often converged to round-off already: judge
                # them against the load scale (the first step's initial residual), not their start.
                snes.setTolerances(atol=max(self._atol, rtol * float(history[0])))
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
        for pair, data, _, g0, nu_h in self._pairs:
            solution.contact[pair.facet] = self._pair_profile(pair, data, g0, nu_h)
        for obstacle, body, data in self._obstacles:
            solution.contact[obstacle.facet] = self._obstacle_profile(obstacle, data)
        return solution

    def _samples(self, cells: np.ndarray, lfacets: np.ndarray):
        """The contact forms' quadrature rule on the facets of (cell, local facet) rows.

        Returns points (m N, 3) ordered point by point (all facets' first point, then the
        second...), their weights [m; 3D: m^2], the facets' geometry nodes (N, tdim) and sizes
        (N,) [m; 3D: m^2]. 2D facets are segments (Gauss rule), 3D facets triangles (basix's
        symmetric rule of the same degree, mapped affinely): the contact state is decided at
        this rule's points, so sums over them are the forms' integrals (total force, contact
        length or area) up to the rule's exactness.
        """
        msh = self.tmesh.mesh
        tdim = msh.topology.dim
        c2f = msh.topology.connectivity(tdim, tdim - 1)
        facets = np.array([c2f.links(c)[lf] for c, lf in zip(cells, lfacets, strict=True)], dtype=np.int32)
        X = msh.geometry.x
        fnodes = dolfinx.mesh.entities_to_geometry(msh, tdim - 1, facets).reshape(-1, tdim)
        a = X[fnodes[:, 0]]
        edges = [X[fnodes[:, k]] - a for k in range(1, tdim)]
        if tdim == 2:
            size = np.linalg.norm(edges[0], axis=1)
            ref_points, ref_weights = basix.make_quadrature(basix.CellType.interval, self._quadrature_degree)
            scale = size
        else:
            size = 0.5 * np.linalg.norm(np.cross(edges[0], edges[1]), axis=1)
            ref_points, ref_weights = basix.make_quadrature(basix.CellType.triangle, self._quadrature_degree)
            scale = 2 * size            # the reference triangle has area 1/2
        pts = np.concatenate([a + sum(r[k] * edges[k] for k in range(tdim - 1)) for r in ref_points])
        weights = np.concatenate([w * scale for w in ref_weights])
        return pts, weights, fnodes, size

    def _height(self, cells: np.ndarray, size: np.ndarray) -> np.ndarray:
        """Height of each cell over its facet of length (3D: area) ``size``: tdim |K| / |F|."""
        msh = self.tmesh.mesh
        tdim = msh.topology.dim
        X = msh.geometry.x
        nodes = dolfinx.mesh.entities_to_geometry(msh, tdim, cells).reshape(-1, tdim + 1)
        p0 = X[nodes[:, 0], :tdim]
        e = np.stack([X[nodes[:, k], :tdim] - p0 for k in range(1, tdim + 1)], axis=1)
        volume = np.abs(np.linalg.det(e)) / (2 if tdim == 2 else 6)
        return tdim * volume / size

    def _traction(self, pts, cells, nu):
        """sigma nu at the points, from the stress (components xx, yy, zz, xy [, xz, yz])."""
        gdim = self.gdim
        ncomp = 4 if gdim == 2 else 6
        s = self.stress.eval(pts, cells) if len(pts) else np.empty((0, ncomp))
        if gdim == 2:
            return np.column_stack([s[:, 0] * nu[:, 0] + s[:, 3] * nu[:, 1], s[:, 3] * nu[:, 0] + s[:, 1] * nu[:, 1]])
        xx, yy, zz, xy, xz, yz = s.T
        return np.column_stack([xx * nu[:, 0] + xy * nu[:, 1] + xz * nu[:, 2],
                                xy * nu[:, 0] + yy * nu[:, 1] + yz * nu[:, 2],
                                xz * nu[:, 0] + yz * nu[:, 1] + zz * nu[:, 2]])

    def _owned(self, data: np.ndarray) -> np.ndarray:
        """Rows of integration data whose facet this rank owns (each facet sampled once)."""
        msh = self.tmesh.mesh
        tdim = msh.topology.dim
        n_owned = msh.topology.index_map(tdim - 1).size_local
        c2f = msh.topology.connectivity(tdim, tdim - 1)
        owned = np.array([c2f.links(c)[lf] < n_owned for c, lf in zip(data[:, 0], data[:, 1], strict=True)],
                         dtype=bool)
        return data[owned] if len(data) else data

    def _pair_profile(self, pair: ContactPair, data: np.ndarray, g0, nu_h) -> ContactProfile:
        data = self._owned(data)
        cp, lp, cm = data[:, 0], data[:, 1], data[:, 2]
        pts, weights, fnodes, length = self._samples(cp, lp)
        m = len(pts) // max(len(cp), 1)
        cp3, cm3 = np.tile(cp, m), np.tile(cm, m)
        nu = nu_h.eval(pts, cm3) if len(pts) else np.empty((0, self.gdim))
        nu /= np.linalg.norm(nu, axis=1)[:, None]
        ep = self.e_plane.x.array
        kp = np.tile(ep[cp] / self._height(cp, length), m)
        km = np.tile(ep[cm] / self._height(cm, length), m)
        w_p, w_m, gamma = nitsche_coefficients(kp, km, float(self.gamma0.value))
        t = w_p[:, None] * self._traction(pts, cp3, nu) + w_m[:, None] * self._traction(pts, cm3, nu)
        p_sigma = -np.einsum("ij,ij->i", t, nu)
        if len(pts):
            jump = self.u.eval(pts, cp3) - self.u.eval(pts, cm3)
            gap = np.einsum("ij,ij->i", jump, nu) + (g0.eval(pts, cp3)[:, 0] if g0 is not None else 0.0)
        else:
            gap = np.empty(0)
        return self._gather(pair.facet, pts, gap, np.maximum(p_sigma - gamma * gap, 0.0), weights)

    def _obstacle_profile(self, obstacle: RigidCircle, data: np.ndarray) -> ContactProfile:
        data = self._owned(data)
        cells, lf = data[:, 0], data[:, 1]
        pts, weights, _, length = self._samples(cells, lf)
        m = len(pts) // max(len(cells), 1)
        cells3 = np.tile(cells, m)
        centre = (np.asarray(obstacle.centre_m)
                  + float(self.load.value) * np.asarray(self._obstacle_motion[obstacle.facet].value))
        if len(pts):
            r = pts[:, :2] + self.u.eval(pts, cells3) - centre
            dist = np.linalg.norm(r, axis=1)
            nu = r / dist[:, None]
            p_sigma = -np.einsum("ij,ij->i", self._traction(pts, cells3, nu), nu)
            gamma = float(self.gamma0.value) * np.tile(self.e_plane.x.array[cells] / self._height(cells, length), m)
            gap = dist - obstacle.radius_m
            r0 = pts[:, :2] - np.asarray(obstacle.centre_m)
            if obstacle.conform_to_mesh:
                gap = gap - np.minimum(np.linalg.norm(r0, axis=1) - obstacle.radius_m, 0.0)
            facing = np.einsum("ij,ij->i", r, r0) > 0
            pressure = np.where(facing, np.maximum(p_sigma - gamma * gap, 0.0), 0.0)
        else:
            gap = pressure = np.empty(0)
        return self._gather(obstacle.facet, pts, gap, pressure, weights)

    def _gather(self, facet, pts, gap, pressure, weights) -> ContactProfile:
        local = (np.column_stack([pts[:, :3], gap, pressure, weights]) if len(pts) else np.empty((0, 6)))
        rows = np.concatenate(self.tmesh.comm.allgather(local))
        if len(rows) == 0:
            raise MeshError(f"the mesh has no '{facet}' facets to sample")
        rows = rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]
        z = rows[:, 2] if self.gdim == 3 else None
        return ContactProfile(facet, rows[:, 0], rows[:, 1], rows[:, 3], rows[:, 4], rows[:, 5], z)


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


def electrode_contact_groups(tmesh: TaggedMesh) -> list[str]:
    """The facet groups where the electrode touches another phase: ``interface`` and ``island``
    (electrolyte) and, in composite windows, ``electrode_particle``, ``electrode_separator``...
    (a particle touching the electrode would otherwise glue electrode and electrolyte into one
    body). MeshError (one line) for a window without an electrode: there the particles and
    pores sit in one electrolyte body, and a particle held only by frictionless contact could
    turn freely (a singular problem): such windows are solved bonded."""
    regions = sorted(tmesh.cell_ids)
    if "electrode" not in regions:
        raise MeshError(f"interface.model = 'contact' needs an electrode: this window has none (regions: "
                        f"{', '.join(regions)}); use interface.model = 'bonded' (particle boundaries are then "
                        "reported by their traction)")
    return [name for name in tmesh.facet_ids
            if (pair := facet_regions(name, regions)) is not None and "electrode" in pair and len(set(pair)) == 2]


__all__ = ["ContactProblem", "ContactPair", "RigidCircle", "ContactProfile", "ContactSolution",
           "stack_pressure_contact_problem", "electrode_contact_groups", "nitsche_coefficients", "find_bodies",
           "facet_regions", "NITSCHE_PARAMETER", "NITSCHE_VARIANTS"]
