r"""Mean dilatation (B-bar) for creeping cells: no volumetric locking when Norton flow makes a
region nearly incompressible.

Norton creep is volume-preserving. Once a region creeps, its deviatoric response softens
(:math:`\theta = q/q^{tr} \to 0` in the consistent tangent) while the bulk modulus K stays, so the
region behaves like a material with an effective Poisson's ratio near 0.5. A displacement-only
P2 element then has to make :math:`\mathrm{div}\,u` small at every quadrature point: it locks
volumetrically, and the pressure :math:`K\,\mathrm{tr}\,\varepsilon` oscillates from element to
element (measured on the cycling windows: docs/creep.md, "Nearly incompressible flow").

B-bar (Hughes, IJNME 15, 1413 (1980)): in a creeping cell T the volumetric strain is replaced by
its cell mean,

.. math::

    \bar\varepsilon(u) = \mathrm{dev}\,\varepsilon(u) + \tfrac13\,\Pi_0(\mathrm{tr}\,\varepsilon(u))\,I,
    \qquad \Pi_0 f = \frac{1}{|T|}\int_T f\,dx ,

and the creep update and the residual :math:`\int\sigma(\bar\varepsilon):\varepsilon(v)\,dx` use
:math:`\bar\varepsilon`. The pressure :math:`K\,\Pi_0(\mathrm{tr}(\varepsilon - \varepsilon_g))` is
then constant per cell, so :math:`\int p\,\mathrm{div}\,v = \int p\,\Pi_0(\mathrm{div}\,v)`: the
method *is* the mixed P2–P0 displacement–pressure formulation with the (discontinuous) pressure
eliminated cell by cell (Malkus & Hughes, CMAME 15, 63 (1978)). P2–P0 satisfies the inf-sup
condition on triangles (Boffi, Brezzi & Fortin, *Mixed Finite Element Methods and Applications*,
Springer 2013), so displacement and pressure converge uniformly as K/μ → ∞ (pressure in L2 at
order h; measured in tests/test_locking.py). Tetrahedra use the same forms (nothing here depends
on the dimension) but no 3D creep benchmark is run. With degree 1 the trace is already constant
per cell: nothing changes (P1 stays displacement-only and locks; use degree 2).

Implementation: no new unknowns, the same sparsity, forms compiled once.

- at the quadrature points (numpy) the trace of the strain is replaced by its quadrature-weighted
  cell mean (exact: the trace of a P_k strain is a polynomial of degree k - 1 and the rule of
  degree 2(k - 1) integrates it);
- in UFL (consistent tangent, Nitsche facet stress) the cell mean of a polynomial f of degree
  ≤ 2 is written at any point x of an affine cell as its Taylor expansion about x,
  :math:`\Pi_0 f = f + \nabla f\cdot d + \tfrac12\nabla\nabla f : (d\otimes d + M)`,
  :math:`d = x_c - x`, with the centroid :math:`x_c` and (degree 3 only) the second moment
  :math:`M = |T|^{-1}\int_T (y - x_c)\otimes(y - x_c)\,dy` of the cell as DG0 fields. It is exact,
  so the tangent is the derivative of the residual and Newton keeps its quadratic rate. The
  tangent's volumetric part :math:`K\,\Pi_0(\mathrm{tr}\,\varepsilon(\delta u))\,\mathrm{tr}\,\varepsilon(v)`
  stays symmetric positive definite (CG + GAMG still applies).

Only cells whose law creeps (A' > 0) use B-bar; elastic regions keep the displacement formulation,
so a zero prefactor is still linear elasticity to round-off.
"""

from __future__ import annotations

import numpy as np

from ecmsim.core.errors import SolverError
from ecmsim.core.fem import basix, fem, ufl


class MeanDilatation:
    """The B-bar projection of the volumetric strain on a set of cells (module docstring).

    Args:
        msh: the mesh (affine simplices).
        cells: local cells (owned and ghost) in the order of the point arrays.
        nq: quadrature points per cell of the point arrays.
        qdeg: degree of that quadrature rule (basix default scheme).
        active: per entry of ``cells``, True where the volumetric strain is projected (creeping cells).
        degree: Lagrange degree of the displacement (1: nothing to project).
        points: reference coordinates of the quadrature points of the point arrays (checked against
            basix's default rule of degree ``qdeg``, whose weights give the cell means).
    """

    def __init__(self, msh, cells: np.ndarray, nq: int, qdeg: int, active: np.ndarray, degree: int,
                 points: np.ndarray):
        self.degree = degree
        self.nq = nq
        active = np.asarray(active, dtype=bool) & (degree > 1)
        self._active_cells = active
        self.enabled = bool(msh.comm.allreduce(bool(active.any())))
        pts, w = basix.make_quadrature(getattr(basix.CellType, msh.topology.cell_name()), qdeg)
        if pts.shape != np.shape(points) or not np.allclose(pts, points):
            raise SolverError("mean dilatation: the quadrature points are not basix's default rule")
        self._weights = np.asarray(w) / np.sum(w)      # affine cells: |det J| is constant per cell
        tdim, gdim = msh.topology.dim, msh.geometry.dim
        D0 = fem.functionspace(msh, ("Discontinuous Lagrange", 0))
        self.indicator = fem.Function(D0, name="mean_dilatation")
        self.indicator.x.array[D0.dofmap.list[cells, 0]] = active
        # centroid (and second moment) of every local cell from its vertices
        nodes = msh.geometry.dofmaps[0][cells][:, : tdim + 1]   # vertices come first
        vert = msh.geometry.x[nodes][:, :, :gdim]
        centre = vert.mean(axis=1)
        Dv = fem.functionspace(msh, ("Discontinuous Lagrange", 0, (gdim,)))
        self.centroid = fem.Function(Dv, name="cell_centroid_m")
        self.centroid.x.array.reshape(-1, gdim)[Dv.dofmap.list[cells, 0]] = centre
        self.moment = None
        if degree >= 3:
            rel = vert - centre[:, None, :]
            M = np.einsum("cvi,cvj->cij", rel, rel) / ((tdim + 1) * (tdim + 2))   # uniform simplex
            Dt = fem.functionspace(msh, ("Discontinuous Lagrange", 0, (gdim, gdim)))
            self.moment = fem.Function(Dt, name="cell_second_moment_m2")
            self.moment.x.array.reshape(-1, gdim * gdim)[Dt.dofmap.list[cells, 0]] = M.reshape(-1, gdim * gdim)

    def describe(self) -> str:
        """How the volumetric strain is treated, for ``summary.json`` -> ``solver``."""
        if not self.enabled:
            return "pointwise (displacement formulation)"
        return f"mean dilatation (B-bar, P{self.degree}-P0) in creeping cells, pointwise elsewhere"

    def project_points(self, strain: np.ndarray) -> np.ndarray:
        """(N, 3, 3) strains at the points (cell-major) with the trace of active cells replaced by its cell mean."""
        if not self.enabled:
            return strain
        tr = np.trace(strain, axis1=1, axis2=2).reshape(-1, self.nq)
        shift = (tr @ self._weights)[:, None] - tr          # cell mean - point value
        shift[~self._active_cells] = 0.0
        return strain + (shift.reshape(-1) / 3.0)[:, None, None] * np.eye(3)

    def cell_mean(self, f):
        """The cell mean of a UFL polynomial ``f`` of degree <= 2 (its Taylor expansion, exact on affine cells)."""
        msh = self.centroid.function_space.mesh
        d = self.centroid - ufl.SpatialCoordinate(msh)
        g = ufl.grad(f)
        mean = f + ufl.dot(g, d)
        if self.moment is not None:
            mean = mean + 0.5 * ufl.inner(ufl.grad(g), ufl.outer(d, d) + self.moment)
        return mean

    def trace(self, e):
        """tr(e) of a 3x3 UFL strain, replaced by its cell mean in active cells."""
        tr = ufl.tr(e)
        if not self.enabled:
            return tr
        return tr + self.indicator * (self.cell_mean(tr) - tr)


__all__ = ["MeanDilatation"]
