r"""Linear elasticity with piecewise-constant materials: plane strain in 2D, full 3D on a 3D mesh.

Find the displacement u [m] such that

.. math::

    -\nabla\cdot\sigma(u) = f \ \text{in}\ \Omega, \qquad
    \sigma = \lambda\,\mathrm{tr}(\varepsilon)\,I + 2\mu\,\varepsilon, \qquad
    \varepsilon = \tfrac12(\nabla u + \nabla u^T),

with u (or some of its components) prescribed on supported facets and the traction
:math:`\sigma n = t` on loaded ones (a pressure p gives t = -p n). Plane strain:
:math:`\varepsilon_{zz} = 0`, so :math:`\sigma_{zz} = \lambda\,\mathrm{tr}\,\varepsilon = \nu(\sigma_{xx}+\sigma_{yy})`.
Weak form: :math:`\int_\Omega \sigma(u):\varepsilon(v)\,dx = \int_\Omega f\cdot v\,dx + \int_{\Gamma_t} t\cdot v\,ds`.
The same code solves a 3D mesh (u with 3 components, no plane-strain assumption): the space
dimension comes from the mesh.

lambda and mu are DG0 fields set per region from the cell tags, so one compiled form serves
every material combination and every mesh. Stresses are interpolated exactly into the
discontinuous space of one degree less than u (P2 displacement -> linear stress per cell).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np

from ecmsim.core.errors import MaterialError, SolverError
from ecmsim.core.fem import PETSc, destroy_petsc, fem, linear_solver, options_prefix, ufl
from ecmsim.materials import Material
from ecmsim.mesh import TaggedMesh

#: Order of the stored stress components: 4 per point in 2D (plane strain), 6 in 3D.
STRESS_COMPONENTS = ("xx", "yy", "zz", "xy")
STRESS_COMPONENTS_3D = ("xx", "yy", "zz", "xy", "xz", "yz")


def stress_components(gdim: int) -> tuple[str, ...]:
    """Names of the stored stress components of a ``gdim``-dimensional solve."""
    return STRESS_COMPONENTS if gdim == 2 else STRESS_COMPONENTS_3D


@dataclass(frozen=True)
class Support:
    """Prescribed displacement on a named facet group.

    Attributes:
        facet: facet tag name (``bottom``...).
        components: which displacement components are prescribed (0 = x, 1 = y, 2 = z).
        value: ``x -> u`` with x of shape (3, N) [m] returning (gdim, N) [m]; None means zero.
    """

    facet: str
    components: tuple[int, ...] = (0, 1)
    value: Callable[[np.ndarray], np.ndarray] | None = None


@dataclass(frozen=True)
class Traction:
    """A load on a named facet group: a pressure (t = -p n) or a traction field.

    Attributes:
        facet: facet tag name.
        pressure_Pa: uniform pressure [Pa], positive in compression.
        traction: ``(x, n) -> t`` with UFL spatial coordinate and normal, returning a UFL
            vector [Pa]. Write parameters as ``fem.Constant`` to keep one compiled form.
    """

    facet: str
    pressure_Pa: float | None = None
    traction: Callable | None = None


@dataclass
class ElasticSolution:
    """Displacement and stress of a solve, with what is needed to post-process them."""

    tmesh: TaggedMesh
    u: object  # fem.Function, P(degree) vector [m]
    stress: object  # fem.Function, DG(degree-1): 4 components (xx, yy, zz, xy) in 2D, 6 in 3D [Pa]
    materials: Mapping[str, Material]
    degree: int
    info: dict = field(default_factory=dict)

    @property
    def gdim(self) -> int:
        """Space dimension of the solve (2: plane strain, 3)."""
        return self.tmesh.mesh.geometry.dim

    def stress_values(self, owned_only: bool = True) -> np.ndarray:
        """Stress dof values as (N, 4) [Pa] (xx, yy, zz, xy), (N, 6) in 3D (.., xz, yz); owned dofs
        only by default."""
        V = self.stress.function_space
        n = V.dofmap.index_map.size_local if owned_only else None
        return self.stress.x.array.reshape(-1, V.dofmap.index_map_bs)[:n]

    def von_mises_values(self, owned_only: bool = True) -> np.ndarray:
        """Von Mises stress at the stress dofs [Pa] (plane strain, sigma_zz included).

        The stress is linear (or constant) per cell and von Mises is a convex function of it,
        so its maximum over a cell is at one of these dofs (the cell's vertices).
        """
        return von_mises(self.stress_values(owned_only))


def von_mises(s: np.ndarray) -> np.ndarray:
    """sqrt(((sxx-syy)^2 + (syy-szz)^2 + (szz-sxx)^2)/2 + 3 (sxy^2 + sxz^2 + syz^2)) for rows
    (xx, yy, zz, xy) or (xx, yy, zz, xy, xz, yz) [Pa]."""
    sxx, syy, szz = s[:, 0], s[:, 1], s[:, 2]
    shear2 = np.sum(s[:, 3:] ** 2, axis=1)
    return np.sqrt(0.5 * ((sxx - syy) ** 2 + (syy - szz) ** 2 + (szz - sxx) ** 2) + 3.0 * shear2)


def stress_tensors(s: np.ndarray) -> np.ndarray:
    """Rows (xx, yy, zz, xy) or (xx, yy, zz, xy, xz, yz) [Pa] -> symmetric 3 x 3 tensors (n, 3, 3)."""
    s = np.asarray(s, dtype=float)
    full = np.zeros((len(s), 6))
    full[:, :s.shape[1]] = s
    return full[:, [0, 3, 4, 3, 1, 5, 4, 5, 2]].reshape(-1, 3, 3)


def principal_stresses(s: np.ndarray) -> np.ndarray:
    """Principal stresses sigma_1 >= sigma_2 >= sigma_3 [Pa] (n, 3) of rows (xx, yy, zz, xy) or
    (xx, yy, zz, xy, xz, yz): the eigenvalues of each symmetric tensor, largest (most tensile) first.
    In plane strain sigma_zz is one of them (the z axis is principal)."""
    return np.linalg.eigvalsh(stress_tensors(s))[:, ::-1]


def epsilon(u):
    """Small strain sym(grad u)."""
    return ufl.sym(ufl.grad(u))


def sigma(u, lam, mu):
    """Cauchy stress of isotropic linear elasticity [Pa] (in-plane part in plane strain)."""
    return lam * ufl.tr(epsilon(u)) * ufl.Identity(u.ufl_shape[0]) + 2 * mu * epsilon(u)


class PlaneStrainElasticity:
    """An elasticity problem on a tagged mesh (plane strain in 2D, 3D on a 3D mesh); build once,
    solve (again) cheaply.

    Args:
        tmesh: mesh with cell tags naming the regions of ``materials``.
        materials: region name -> Material; every tagged cell region needs one.
        supports: prescribed displacements.
        tractions: loads (pressures are PETSc constants: :meth:`set_pressure` changes them
            without recompiling).
        body_force: ``x -> f`` [N/m^3] as a UFL vector, or None.
        degree: Lagrange degree of the displacement.
        petsc_options: overrides of the chosen solver's PETSc options.
        linear: ``direct`` (MUMPS), ``iterative`` (CG + GAMG with the rigid-body near-nullspace)
            or ``auto`` (by size: :data:`ecmsim.core.fem.ITERATIVE_MIN_DOFS`).
    """

    def __init__(self, tmesh: TaggedMesh, materials: Mapping[str, Material], supports: Sequence[Support],
                 tractions: Sequence[Traction] = (), body_force: Callable | None = None, degree: int = 2,
                 petsc_options: Mapping | None = None, linear: str = "auto"):
        self.tmesh = tmesh
        self.materials = dict(materials)
        self.degree = degree
        msh = tmesh.mesh
        gdim = msh.geometry.dim
        self.V = fem.functionspace(msh, ("Lagrange", degree, (gdim,)))
        self.lam, self.mu = lame_fields(tmesh, self.materials)

        u, v = ufl.TrialFunction(self.V), ufl.TestFunction(self.V)
        x = ufl.SpatialCoordinate(msh)
        n = ufl.FacetNormal(msh)
        ds = ufl.Measure("ds", domain=msh, subdomain_data=tmesh.facet_tags)
        a = ufl.inner(sigma(u, self.lam, self.mu), epsilon(v)) * ufl.dx
        zero = fem.Constant(msh, np.zeros(gdim, dtype=PETSc.ScalarType))
        L = ufl.inner(zero, v) * ufl.dx
        if body_force is not None:
            L += ufl.inner(body_force(x), v) * ufl.dx
        self.pressures: dict[str, object] = {}
        for load in tractions:
            tag = tmesh.facet_ids.get(load.facet)
            if tag is None:
                raise SolverError(f"load on facet '{load.facet}': the mesh has no such facet tag "
                                  f"(it has: {', '.join(tmesh.facet_ids)})")
            if load.pressure_Pa is not None:
                p = fem.Constant(msh, PETSc.ScalarType(load.pressure_Pa))
                self.pressures[load.facet] = p
                L += ufl.inner(-p * n, v) * ds(tag)
            if load.traction is not None:
                L += ufl.inner(load.traction(x, n), v) * ds(tag)

        self.bcs = [bc for s in supports for bc, _ in dirichlet_bcs(self.V, tmesh.facets(s.facet), s)]
        self.plan = linear_solver("elasticity", self.V, linear)
        options = dict(self.plan.options)
        options.update(petsc_options or {})
        self.u = fem.Function(self.V, name="displacement_m")
        self.problem = fem.petsc.LinearProblem(a, L, bcs=self.bcs, u=self.u, petsc_options=options,
                                               petsc_options_prefix=options_prefix("elasticity"))
        self.plan.attach(self.problem.A)

        self.stress, self._stress_expr = stress_field(self.u, self.lam, self.mu, degree)
        #: dof values the next iterative solve starts from (None: zero); see :meth:`set_initial_guess`
        self._guess = None

    def set_initial_guess(self, values) -> None:
        """Start the next solve's Krylov iterations from these displacement dof values (this rank's
        owned and ghost dofs, ``u.x.array``'s layout; e.g. the solution on the coarse mesh this one was
        split from, :func:`ecmsim.mesh.refine.prolongate`) instead of zero. The converged solution is
        the same to the solver's tolerance (the test is on the residual against the load, not against
        the start); a direct solve ignores it."""
        self._guess = None if values is None else np.asarray(values, dtype=PETSc.ScalarType)

    def close(self) -> None:
        """Release the solver's PETSc objects (collective: call on every rank); no solve after."""
        destroy_petsc(self.problem)

    def set_pressure(self, facet: str, pressure_Pa: float) -> None:
        """Change the pressure of a loaded facet group [Pa] (no recompilation)."""
        self.pressures[facet].value = pressure_Pa

    def solve(self) -> ElasticSolution:
        """Solve and return displacement and stress; SolverError if PETSc fails."""
        ksp = self.problem.solver
        guess = self._guess if self.plan.method == "iterative" else None
        if guess is not None:
            self.u.x.array[:] = guess
            fem.petsc.assign(self.u, self.problem.x)
        ksp.setInitialGuessNonzero(guess is not None)
        try:
            self.problem.solve()
        except PETSc.Error as err:
            if self.plan.method == "iterative" and ksp.getConvergedReason() < 0:
                raise SolverError(f"the iterative elasticity solve (CG + GAMG) did not converge in "
                                  f"{ksp.getIterationNumber()} iterations (KSP reason {ksp.getConvergedReason()}); "
                                  "try solver.linear = 'direct'") from None
            raise SolverError(f"the linear elasticity solve failed in PETSc (error code {err.ierr}); "
                              "is every body supported against rigid motion?") from None
        reason = ksp.getConvergedReason()
        if reason <= 0:
            raise SolverError(f"the linear elasticity solve did not converge (KSP reason {reason})")
        self.u.x.scatter_forward()
        if not np.all(np.isfinite(self.u.x.array)):
            raise SolverError("the displacement has non-finite values: the problem is singular "
                              "(check the supports) or a material value is extreme")
        self.stress.interpolate(self._stress_expr)
        return ElasticSolution(self.tmesh, self.u, self.stress, self.materials, self.degree,
                               info={"dofs": self.plan.dofs, "dimension": self.V.mesh.geometry.dim,
                                     "linear_solver": self.plan.method, "ksp_type": ksp.getType(),
                                     "pc_type": ksp.getPC().getType(), "ksp_iterations": ksp.getIterationNumber(),
                                     **({"initial_guess": "given"} if guess is not None else {})})


def lame_fields(tmesh: TaggedMesh, materials: Mapping[str, Material]):
    """lambda and mu [Pa] as DG0 functions on the mesh, set per region from the cell tags.

    MaterialError if a tagged region has no material or some cells carry no region tag.
    """
    msh = tmesh.mesh
    Q = fem.functionspace(msh, ("DG", 0))
    lam, mu = fem.Function(Q, name="lambda_Pa"), fem.Function(Q, name="mu_Pa")
    imap = msh.topology.index_map(msh.topology.dim)
    n_cells = imap.size_local + imap.num_ghosts
    covered = np.zeros(n_cells, dtype=bool)
    for region in tmesh.cell_ids:
        if region not in materials:
            raise MaterialError(f"mesh region '{region}' has no material (given: {', '.join(materials)})")
        cells = tmesh.cells(region)
        lam.x.array[cells] = materials[region].lame_lambda_Pa
        mu.x.array[cells] = materials[region].lame_mu_Pa
        covered[cells] = True
    if not covered.all():
        raise MaterialError(f"{(~covered).sum()} cells carry no region tag")
    return lam, mu


def stress_field(u, lam, mu, degree: int):
    """The stress function (DG(degree-1), components xx, yy, zz, xy [Pa]; in 3D also xz, yz) on the
    mesh of ``lam`` and the expression that fills it from ``u`` (``stress.interpolate(expression)``).

    ``u`` lives on the same mesh (continuous or discontinuous Lagrange of ``degree``), so the
    interpolation is exact: the stress of a degree-k displacement is a polynomial of degree k-1.
    """
    msh = lam.function_space.mesh
    s = sigma(u, lam, mu)
    if u.ufl_shape[0] == 3:
        components = [s[0, 0], s[1, 1], s[2, 2], s[0, 1], s[0, 2], s[1, 2]]
    else:
        components = [s[0, 0], s[1, 1], lam * ufl.tr(epsilon(u)), s[0, 1]]   # plane strain: s_zz
    S = fem.functionspace(msh, ("Discontinuous Lagrange", degree - 1, (len(components),)))
    expression = fem.Expression(ufl.as_vector(components), S.element.interpolation_points)
    return fem.Function(S, name="stress_Pa"), expression


def dirichlet_bcs(V, facets: np.ndarray, support: Support) -> list[tuple[object, object | None]]:
    """Dirichlet conditions of ``support`` on the (local) ``facets`` of the space ``V``.

    Returns ``(bc, g)`` per prescribed component, ``g`` the value function of that component
    (a collapsed sub-space Function) or None when the value is zero; changing ``g`` changes the bc.
    """
    out = []
    fdim = V.mesh.topology.dim - 1
    for i in support.components:
        Vi = V.sub(i)
        if support.value is None:
            dofs = fem.locate_dofs_topological(Vi, fdim, facets)
            out.append((fem.dirichletbc(PETSc.ScalarType(0), dofs, Vi), None))
        else:
            Vc, _ = Vi.collapse()
            g = fem.Function(Vc)
            g.interpolate(lambda x, i=i: support.value(x)[i])
            dofs = fem.locate_dofs_topological((Vi, Vc), fdim, facets)
            out.append((fem.dirichletbc(g, dofs, Vi), g))
    return out


def window_supports(tmesh: TaggedMesh) -> list[Support]:
    """Supports of the interface window: electrolyte bottom fixed, roller sides (u_x = 0 on left
    and right; in 3D also u_z = 0 on front and back).

    The 3D bottom is fixed in all components, as in 2D: a window extruded from a cross-section
    then reproduces the plane-strain solution exactly (u_z = 0), which the tests use."""
    gdim = tmesh.mesh.geometry.dim
    supports = [Support("bottom", tuple(range(gdim))), Support("left", (0,)), Support("right", (0,))]
    if gdim == 3:
        supports += [Support("front", (2,)), Support("back", (2,))]
    return supports


def stack_pressure_problem(tmesh: TaggedMesh, materials: Mapping[str, Material], stack_pressure_Pa: float,
                           degree: int = 2, linear: str = "auto") -> PlaneStrainElasticity:
    """The interface window of the reference model: :func:`window_supports` and the stack
    pressure on the electrode top (2D plane strain or 3D, from the mesh)."""
    return PlaneStrainElasticity(
        tmesh, materials, supports=window_supports(tmesh),
        tractions=[Traction("top", pressure_Pa=stack_pressure_Pa)],
        degree=degree, linear=linear)


#: The same class by its dimension-neutral name.
Elasticity = PlaneStrainElasticity


__all__ = ["principal_stresses", "stress_tensors", "PlaneStrainElasticity", "Elasticity", "window_supports", "stress_components", "STRESS_COMPONENTS_3D",
           "Support", "Traction", "ElasticSolution", "stack_pressure_problem",
           "von_mises", "sigma", "epsilon", "lame_fields", "stress_field", "dirichlet_bcs", "STRESS_COMPONENTS"]
