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

This module holds the forms: :class:`ContactForms` (the residual of each body: volume, normal
contact, friction, rigid circle, loads), :func:`nitsche_coefficients` (the weights and
:math:`\gamma` above), :func:`vertex_normals` (the continuous :math:`\nu`). The bodies and their
integration data are in :mod:`~ecmsim.mechanics.contact.bodies`, the sampled profiles in
:mod:`~ecmsim.mechanics.contact.profile`, the Newton solution in :mod:`~ecmsim.mechanics.contact.problem`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from ecmsim.core.fem import PETSc, dolfinx, fem, ufl
from ecmsim.mechanics.contact.bodies import (Body, ContactPair, RigidCircle, exterior_data, obstacle_body,
                                             pair_data)
from ecmsim.mechanics.elasticity import Traction, epsilon, sigma
from ecmsim.mesh import TaggedMesh

#: Default dimensionless Nitsche parameter gamma_0 (see the module docstring and docs/contact.md:
#: answers change by < 1e-3 relative over 10..1000 with the skew-symmetric variant).
NITSCHE_PARAMETER = 100.0

#: theta of each Nitsche variant.
NITSCHE_VARIANTS = {"skew": -1.0, "incomplete": 0.0, "symmetric": 1.0}

_PAIR_ID0, _OBSTACLE_ID0 = 1, 1001   # integration ids of contact facets (custom integration data)


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


def plane_strain_modulus(lam, mu):
    """E' = E/(1 - nu^2) per cell [Pa] (DG0), from lambda and mu: E' = 4 mu (lambda + mu)/(lambda + 2 mu)."""
    Q = lam.function_space
    e = fem.Function(Q, name="plane_strain_modulus_Pa")
    lam, mu = lam.x.array, mu.x.array
    e.x.array[:] = 4 * mu * (lam + mu) / (lam + 2 * mu)
    return e


def vertex_normals(msh, dS_pair):
    """Unit normal (from "-" into "+") at the vertices of a pair's facets, as a P1 vector field.

    The length- (3D: area-) weighted mean of the adjacent facets' normals (assembled, so it is the same
    across ranks), normalised; linear along each facet. A continuous normal keeps the gap
    of a polygonal curve consistent at its vertices: with the facets' own normals, a relative
    slip s across a vertex where the polyline turns by an angle a opens or closes s*a there,
    and the vertices act like teeth (the pressure then oscillates from facet to facet).
    """
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


@dataclass
class PairIntegration:
    """A contact pair on the parent mesh, as its forms and its profile use it."""

    pair: ContactPair
    data: np.ndarray              # rows (plus cell, local facet, minus cell, local facet), see bodies.pair_data
    sides: tuple[str, str]        # the ("+", "-") regions
    initial_gap: object = None    # g0 [m], a Lagrange(degree) Function; None: touching
    normal: object = None         # nu_h: the continuous normal from "-" into "+" (vertex_normals)
    offset: object = None         # h [m], a P1 Function on the parent mesh: g = g(u) - h; None: none
    lift: object = None           # l [m], a Constant vector with the offset: g = g(u) - h - l.nu (a rigid lift)


class ContactForms:
    """The residual of every body (module docstring): its elastic (or constitutive) volume term, the
    Nitsche terms of the pairs (normal contact, Coulomb friction) and of the rigid circles, and
    its loads; the Jacobian's extra term of a constitutive object.

    Args:
        tmesh: the parent mesh.
        bodies: the bodies (:func:`~ecmsim.mechanics.contact.bodies.make_bodies`).
        lam, mu: Lamé fields (DG0) [Pa].
        e_plane: plane-strain modulus E' (DG0) [Pa] (:func:`plane_strain_modulus`).
        load: the load factor (a Constant scaling pressures, tractions and obstacle motions).
        gamma0, theta, friction: Constants gamma_0, theta and F; changing their values needs no
            recompilation.
        degree: Lagrange degree of the displacements (the contact quadrature has degree 2 degree).
        constitutive: None or the constitutive object of :class:`~ecmsim.mechanics.contact.problem.ContactProblem`.

    :meth:`residuals` also sets ``pairs`` (a :class:`PairIntegration` per pair), ``obstacles``
    ((RigidCircle, Body, exterior data) per obstacle), ``pressures`` (facet -> Constant of the
    full-load pressure) and ``obstacle_motion`` (facet -> Constant of the full-load centre motion).
    """

    def __init__(self, tmesh: TaggedMesh, bodies: Sequence[Body], lam, mu, e_plane, load, gamma0, theta, friction,
                 degree: int, constitutive=None):
        self.tmesh = tmesh
        self.bodies = list(bodies)
        self.lam, self.mu, self.e_plane = lam, mu, e_plane
        self.load, self.gamma0, self.theta, self.friction = load, gamma0, theta, friction
        self.degree = degree
        self.quadrature_degree = 2 * degree
        self.constitutive = constitutive
        self.pairs: list[PairIntegration] = []
        self.obstacles: list[tuple[RigidCircle, Body, np.ndarray]] = []
        self.pressures: dict[str, object] = {}
        self.obstacle_motion: dict[str, object] = {}

    def correction_block(self):
        """The in-plane block of the constitutive's 3x3 facet correction (plane strain)."""
        c = self.constitutive.facet_correction
        gdim = self.tmesh.mesh.geometry.dim
        return ufl.as_matrix([[c[i, j] for j in range(gdim)] for i in range(gdim)])

    def sigma_u(self, w):
        """Stress of a body displacement in the Nitsche terms: elastic, minus the constitutive's facet
        correction, plus its pressure correction (the cellwise pressure of a mean-dilatation body)."""
        s = sigma(w, self.lam, self.mu)
        if self.constitutive is None:
            return s
        gdim = self.tmesh.mesh.geometry.dim
        s = s - self.correction_block() + self.constitutive.facet_pressure_correction(w) * ufl.Identity(gdim)
        tangent = getattr(self.constitutive, "facet_tangent_correction", None)
        extra = tangent(w) if tangent is not None else None
        if extra is not None:       # zero in value; makes the facet stress's derivative consistent
            s = s + ufl.as_matrix([[extra[i, j] for j in range(gdim)] for i in range(gdim)])
        return s

    def jacobian(self, residuals: list) -> list | None:
        """None (the residuals' own derivative) without a constitutive object. With one, the volume
        stress is a coefficient (no derivative): add the tangent's linear form, whose derivative is
        the consistent tangent, to the residuals before differentiating."""
        constitutive = self.constitutive
        if constitutive is None:
            return None
        dx = constitutive.dx
        lin = [residuals[i] + sum(ufl.inner(constitutive.tangent(_strain3(b.u)), _strain3(ufl.TestFunction(b.V)))
                                  * dx(self.tmesh.cell_ids[r]) for r in b.regions)
               for i, b in enumerate(self.bodies)]
        return fem.forms.derivative_block(lin, [b.u for b in self.bodies])

    def residuals(self, pairs: Sequence[ContactPair], obstacles: Sequence[RigidCircle], tractions: Sequence[Traction],
                  with_friction: bool) -> list:
        """The residual form of each body, in the order of the bodies."""
        tm = self.tmesh
        msh = tm.mesh
        quad = {"quadrature_degree": self.quadrature_degree}
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
        dS = self._pair_integration(pairs, quad)
        for i, entry in enumerate(self.pairs):
            self._add_pair_terms(F, v, entry, dS(_PAIR_ID0 + i), h, zero, with_friction)
        self._add_exterior_terms(F, v, obstacles, tractions, quad, x, n, h, zero)
        return [F[b.name] for b in self.bodies]

    def _pair_integration(self, pairs: Sequence[ContactPair], quad: dict):
        """Fill :attr:`pairs` (integration data, initial gap, normal); the interior-facet measure of
        all pairs: one data list shared by every form (dolfinx wants one per integral type)."""
        msh = self.tmesh.mesh
        self.pairs = []
        dS_data = []
        for i, pair in enumerate(pairs):
            data, sides = pair_data(self.tmesh, pair)
            dS_data.append((_PAIR_ID0 + i, data.ravel()))
            g0 = None
            if pair.initial_gap is not None:
                g0 = fem.Function(fem.functionspace(msh, ("Lagrange", self.degree)), name=f"initial_gap_{pair.facet}_m")
                g0.interpolate(lambda xx, f=pair.initial_gap: np.asarray(f(xx), dtype=float))
                g0.x.scatter_forward()
            offset = lift = None
            if pair.gap_offset:
                offset = fem.Function(fem.functionspace(msh, ("Lagrange", 1)), name=f"gap_offset_{pair.facet}_m")
                lift = fem.Constant(msh, np.zeros(msh.geometry.dim))
            self.pairs.append(PairIntegration(pair, data, sides, g0, offset=offset, lift=lift))
        dS = ufl.Measure("dS", domain=msh, subdomain_data=dS_data, metadata=quad)
        for i, entry in enumerate(self.pairs):
            entry.normal = vertex_normals(msh, dS(_PAIR_ID0 + i))
        return dS

    def _add_pair_terms(self, F: dict, v: dict, entry: PairIntegration, dS_pair, h, zero, with_friction: bool) -> None:
        """The Nitsche terms of one pair (normal contact; Coulomb friction if ``with_friction``)."""
        msh = self.tmesh.mesh
        body_of_region = {r: b for b in self.bodies for r in b.regions}
        plus, minus = entry.sides
        g0, nu_h = entry.initial_gap, entry.normal
        bp, bm = body_of_region[plus], body_of_region[minus]
        nu = nu_h("-") / ufl.sqrt(ufl.dot(nu_h("-"), nu_h("-")))     # from "-" into "+", continuous
        tau = ufl.as_vector([nu[1], -nu[0]]) if msh.geometry.dim == 2 else None   # friction: 2D only
        w_p, w_m, gamma = nitsche_coefficients(self.e_plane("+") / h("+"), self.e_plane("-") / h("-"), self.gamma0)

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

        t_u = traction(bp.u, bm.u, stress=self.sigma_u)
        p_sigma = -ufl.dot(t_u, nu)
        gap = ufl.dot(jump(bp.u, bm.u), nu) + (g0("+") if g0 is not None else 0)
        if entry.offset is not None:
            gap = gap - entry.offset("+") - ufl.dot(entry.lift, nu)
        P = p_sigma - gamma * gap
        if with_friction:
            s_sigma = ufl.dot(t_u, tau)
            slip = ufl.dot(jump(bp.u - bp.u_old, bm.u - bm.u_old), tau)
            shear = _clip(s_sigma + gamma * slip, self.friction * _pos(P))
        for body, test in ((bp, (v[bp.name], None)), (bm, (None, v[bm.name]))):
            t_v = traction(*test)
            F[body.name] += (-self.theta / gamma * p_sigma * -ufl.dot(t_v, nu)
                             + 1 / gamma * _pos(P) * (self.theta * -ufl.dot(t_v, nu)
                                                      - gamma * ufl.dot(jump(*test), nu))) * dS_pair
            if with_friction:
                F[body.name] += (-self.theta / gamma * s_sigma * ufl.dot(t_v, tau)
                                 + 1 / gamma * shear * (self.theta * ufl.dot(t_v, tau)
                                                        + gamma * ufl.dot(jump(*test), tau))) * dS_pair

    def _add_exterior_terms(self, F: dict, v: dict, obstacles: Sequence[RigidCircle], tractions: Sequence[Traction],
                            quad: dict, x, n, h, zero) -> None:
        """Exterior facets: loads and obstacles, one data list per body (fills :attr:`pressures`,
        :attr:`obstacles` and :attr:`obstacle_motion`)."""
        tm = self.tmesh
        msh = tm.mesh
        self.pressures = {}
        pressure = {t.facet: fem.Constant(msh, PETSc.ScalarType(t.pressure_Pa)) for t in tractions
                    if t.pressure_Pa is not None}
        self.pressures.update(pressure)
        self.obstacles = []
        self.obstacle_motion = {}
        obstacle_bodies = [obstacle_body(tm, self.bodies, o) for o in obstacles]
        for b in self.bodies:
            ds_data, terms = [], []
            for j, load in enumerate(tractions):
                data = exterior_data(tm, load.facet, b)
                ds_data.append((j + 1, data.ravel()))
                t = zero
                if load.pressure_Pa is not None:
                    t = t - pressure[load.facet] * n
                if load.traction is not None:
                    t = t + load.traction(x, n)
                terms.append((j + 1, -self.load * ufl.inner(t, v[b.name])))
            for k, obstacle in enumerate(obstacles):
                if obstacle_bodies[k] is not b:
                    ds_data.append((_OBSTACLE_ID0 + k, np.empty(0, dtype=np.int32)))
                    continue
                data = exterior_data(tm, obstacle.facet, b)
                self.obstacles.append((obstacle, b, data))
                ds_data.append((_OBSTACLE_ID0 + k, data.ravel()))
                terms.append((_OBSTACLE_ID0 + k, self._obstacle_term(obstacle, b, v[b.name], x, h)))
            if terms:
                ds = ufl.Measure("ds", domain=msh, subdomain_data=ds_data, metadata=quad)
                for ident, integrand in terms:
                    F[b.name] += integrand * ds(ident)

    def _obstacle_term(self, obstacle: RigidCircle, b: Body, v, x, h):
        """The Nitsche integrand of a rigid circle on body ``b`` (test function ``v``)."""
        msh = self.tmesh.mesh
        motion = fem.Constant(msh, np.asarray(obstacle.motion_m, dtype=PETSc.ScalarType))
        self.obstacle_motion[obstacle.facet] = motion
        centre = ufl.as_vector(obstacle.centre_m) + self.load * motion
        r = x + b.u - centre
        dist = ufl.sqrt(ufl.dot(r, r))
        nu = r / dist                             # from the circle into the body
        gamma = self.gamma0 * self.e_plane / h    # nitsche_coefficients as k_- -> oo: w_+ = 1
        p_sigma = -ufl.dot(nu, ufl.dot(self.sigma_u(b.u), nu))
        # the circle is closed: a point pushed past its centre would meet its far side at
        # distance R again (a spurious "contact" found by a large first Newton iterate of a
        # body hanging on the circle); only the side the point faces in the reference counts
        r0 = x - ufl.as_vector(obstacle.centre_m)
        facing = ufl.conditional(ufl.gt(ufl.dot(r, r0), 0), 1.0, 0.0)
        gap = dist - obstacle.radius_m
        if obstacle.conform_to_mesh:
            gap = gap - ufl.min_value(ufl.sqrt(ufl.dot(r0, r0)) - obstacle.radius_m, 0.0)
        P = facing * (p_sigma - gamma * gap) - (1 - facing) * 1.0
        pv = -ufl.dot(nu, ufl.dot(sigma(v, self.lam, self.mu), nu))
        return (-self.theta / gamma * p_sigma * pv
                + 1 / gamma * _pos(P) * (self.theta * pv - gamma * ufl.dot(v, nu)))
