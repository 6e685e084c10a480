r"""The Nitsche facet stress of a creeping body: the creep strain fitted to the facets, and its derivative.

The contact terms need the stress on facets, where the quadrature-point state does not exist
(:mod:`ecmsim.mechanics.creep_contact`). :func:`quadrature_fit` gives the cellwise DG(k-1) fit of point values;
for P2 triangles (three points, three DG1 dofs) it interpolates them, so the facet stress
:math:`\mathbb C:(\varepsilon(u) - \Pi_h\varepsilon_c)` is the linear extrapolation of the point stress.
:class:`FacetTangent` holds what its derivative needs, :math:`\sum_q \phi_q\,\mathbb C^{alg}_q :
\varepsilon(\delta u)(X_q)`: per point q of a cell its position X_q and tangent factors as cellwise constants, and
the DG(k-1) function :math:`\phi_q` that the fit gives a unit value at q (docs/creep.md, "Creep with contact").
"""

from __future__ import annotations

import numpy as np

from ecmsim.core.fem import fem, ufl
from ecmsim.mechanics.creep import strain3


def quadrature_fit(element, points: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The matrix (dofs x points) that takes values at a cell's quadrature points to the coefficients of
    their cellwise L2 fit in a discontinuous scalar ``element`` (basix), with the rule's own weights.

    On an affine cell the physical fit equals the reference one. With as many points as dofs (P2
    displacements: the 3-point rule and DG1) it interpolates the point values, so a creep strain linear in
    the cell is reproduced on its facets; with one dof (DG0) it is the quadrature-weighted cell mean.
    """
    T = element.tabulate(0, points)[0, :, :, 0]              # (points, dofs)
    TW = T.T * weights
    return np.linalg.solve(TW @ T, TW)


class FacetTangent:
    """Per quadrature point q of the ``cells``: X_q, theta_q, beta_q and N_q as cellwise constants, and phi_q.

    Args:
        msh: the parent mesh.
        D: the DG(k-1) tensor space of the fit.
        cells: local cells (owned and ghost) in the order of the point arrays.
        points: reference coordinates of the quadrature points.
        fit: :func:`quadrature_fit` of ``D``'s scalar element (square: it interpolates the points).
    """

    def __init__(self, msh, D, cells: np.ndarray, points: np.ndarray, fit: np.ndarray):
        nq = len(points)
        gdim = msh.geometry.dim
        S0 = fem.functionspace(msh, ("Discontinuous Lagrange", 0))
        T0 = fem.functionspace(msh, ("Discontinuous Lagrange", 0, (3, 3)))
        V0 = fem.functionspace(msh, ("Discontinuous Lagrange", 0, (gdim,)))
        S1 = fem.functionspace(msh, D.ufl_element().sub_elements[0])
        self.nq = nq
        self._mesh = msh
        self._cell = S0.dofmap.list[cells, 0]
        xq = fem.Expression(ufl.SpatialCoordinate(msh), points).eval(msh, cells).reshape(-1, nq, gdim)
        s1 = S1.dofmap.list[cells]
        self.fields = []
        for q in range(nq):
            theta, beta, normal = fem.Function(S0), fem.Function(S0), fem.Function(T0)
            theta.x.array[:] = 1.0
            X, phi = fem.Function(V0), fem.Function(S1)
            X.x.array.reshape(-1, gdim)[self._cell] = xq[:, q]
            phi.x.array[s1] = fit[:, q]
            self.fields.append((theta, beta, normal, X, phi))

    def store(self, theta: np.ndarray, beta: np.ndarray, normal: np.ndarray) -> None:
        """The points' tangent factors (cell-major arrays: theta, beta (N,), normal (N, 9)) into the fields."""
        theta, beta = theta.reshape(-1, self.nq), beta.reshape(-1, self.nq)
        normal = normal.reshape(-1, self.nq, 9)
        for q, (th, be, no, _, _) in enumerate(self.fields):
            th.x.array[self._cell] = theta[:, q]
            be.x.array[self._cell] = beta[:, q]
            no.x.array.reshape(-1, 9)[self._cell] = normal[:, q]

    def excess(self, w, mu):
        """sum_q phi_q (C_alg,q - C) : eps(w)(X_q), the fitted excess of the points' consistent tangent over
        the elastic one (deviatoric: the volumetric parts are equal), for a P2 displacement ``w`` (UFL 3x3, Pa;
        ``mu`` the shear modulus field)."""
        x = ufl.SpatialCoordinate(self._mesh)      # the parent mesh, where the facet terms are integrated
        e = strain3(w)
        grad_e = ufl.grad(e)
        eye = ufl.Identity(3)
        total = 0
        for theta, beta, normal, X, phi in self.fields:
            eq = e + ufl.dot(grad_e, X - x)      # the strain at point q: exact, a P2 strain is linear in a cell
            dev = eq - ufl.tr(eq) / 3 * eye
            total = total + phi * 2 * mu * ((theta - 1) * dev + beta * ufl.inner(normal, eq) * normal)
        return total


__all__ = ["FacetTangent", "quadrature_fit"]
