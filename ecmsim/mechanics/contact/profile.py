r"""Contact profiles: gap and contact pressure sampled along a contact facet group.

:class:`ContactProfile` holds the samples, the same on every rank, sorted by x, and their metrics.
:class:`ContactSampler` takes them from a converged contact problem: at the quadrature points of
the contact forms (:mod:`ecmsim.mechanics.contact.forms`; the contact state is decided there, so
sums over the samples are the forms' own integrals), from the post-processing fields on the whole
mesh (the displacement, discontinuous across the contacts, and the stress per cell). The pressure
is the method's own :math:`[P(u)]_+ = [p_\sigma(u) - \gamma g(u)]_+` with the weights and
:math:`\gamma` of :func:`~ecmsim.mechanics.contact.forms.nitsche_coefficients`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecmsim.core.errors import MeshError
from ecmsim.core.fem import basix, dolfinx
from ecmsim.mechanics.contact.bodies import RigidCircle
from ecmsim.mechanics.contact.forms import PairIntegration, nitsche_coefficients
from ecmsim.mesh import TaggedMesh


#: A gap wider than this [m] counts as separated in ``separated_fraction``: a few Li interatomic distances
#: (0.3 nm). Narrower gaps are open or closed by the Nitsche parameter's sub-nanometre enforcement
#: (penetration ~ p h / (gamma_0 E*)): ``contact_fraction`` counts them by sign and does not converge in
#: gamma_0 where an interface touches with picometre gaps (docs/contact.md, "Nitsche parameter").
SEPARATION_GAP_M = 1e-9


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
            "separated_fraction": float(np.dot(w, g > SEPARATION_GAP_M) / length),
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


class ContactSampler:
    """Samples the contact forms' gap and pressure from the post-processing fields (collective).

    Args:
        tmesh: the parent mesh.
        u: displacement on the whole mesh (discontinuous across the contacts) [m].
        stress: stress per cell (components xx, yy, zz, xy [, xz, yz]) [Pa], as the Nitsche terms see it.
        e_plane: plane-strain modulus E' per cell (DG0) [Pa].
        quadrature_degree: degree of the contact forms' quadrature.
    """

    def __init__(self, tmesh: TaggedMesh, u, stress, e_plane, quadrature_degree: int):
        self.tmesh = tmesh
        self.gdim = tmesh.mesh.geometry.dim
        self.u, self.stress, self.e_plane = u, stress, e_plane
        self.quadrature_degree = quadrature_degree

    def pair(self, entry: PairIntegration, gamma0: float) -> ContactProfile:
        """The profile of a contact pair (gap with its initial gap, along the continuous normal)."""
        facet, data, g0, nu_h = entry.pair.facet, entry.data, entry.initial_gap, entry.normal
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
        w_p, w_m, gamma = nitsche_coefficients(kp, km, gamma0)
        t = w_p[:, None] * self._traction(pts, cp3, nu) + w_m[:, None] * self._traction(pts, cm3, nu)
        p_sigma = -np.einsum("ij,ij->i", t, nu)
        if len(pts):
            jump = self.u.eval(pts, cp3) - self.u.eval(pts, cm3)
            gap = np.einsum("ij,ij->i", jump, nu) + (g0.eval(pts, cp3)[:, 0] if g0 is not None else 0.0)
            if entry.offset is not None:
                gap = gap - entry.offset.eval(pts, cp3)[:, 0] - nu @ np.asarray(entry.lift.value, dtype=float)
        else:
            gap = np.empty(0)
        return self._gather(facet, pts, gap, np.maximum(p_sigma - gamma * gap, 0.0), weights)

    def obstacle(self, obstacle: RigidCircle, data: np.ndarray, gamma0: float, centre: np.ndarray) -> ContactProfile:
        """The profile of a rigid circle whose centre is now at ``centre`` [m] (only the side each
        point faces in the reference counts, as in the forms)."""
        data = self._owned(data)
        cells, lf = data[:, 0], data[:, 1]
        pts, weights, _, length = self._samples(cells, lf)
        m = len(pts) // max(len(cells), 1)
        cells3 = np.tile(cells, m)
        if len(pts):
            r = pts[:, :2] + self.u.eval(pts, cells3) - centre
            dist = np.linalg.norm(r, axis=1)
            nu = r / dist[:, None]
            p_sigma = -np.einsum("ij,ij->i", self._traction(pts, cells3, nu), nu)
            gamma = gamma0 * np.tile(self.e_plane.x.array[cells] / self._height(cells, length), m)
            gap = dist - obstacle.radius_m
            r0 = pts[:, :2] - np.asarray(obstacle.centre_m)
            if obstacle.conform_to_mesh:
                gap = gap - np.minimum(np.linalg.norm(r0, axis=1) - obstacle.radius_m, 0.0)
            facing = np.einsum("ij,ij->i", r, r0) > 0
            pressure = np.where(facing, np.maximum(p_sigma - gamma * gap, 0.0), 0.0)
        else:
            gap = pressure = np.empty(0)
        return self._gather(obstacle.facet, pts, gap, pressure, weights)

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
            ref_points, ref_weights = basix.make_quadrature(basix.CellType.interval, self.quadrature_degree)
            scale = size
        else:
            size = 0.5 * np.linalg.norm(np.cross(edges[0], edges[1]), axis=1)
            ref_points, ref_weights = basix.make_quadrature(basix.CellType.triangle, self.quadrature_degree)
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

    def _gather(self, facet, pts, gap, pressure, weights) -> ContactProfile:
        local = (np.column_stack([pts[:, :3], gap, pressure, weights]) if len(pts) else np.empty((0, 6)))
        rows = np.concatenate(self.tmesh.comm.allgather(local))
        if len(rows) == 0:
            raise MeshError(f"the mesh has no '{facet}' facets to sample")
        rows = rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]
        z = rows[:, 2] if self.gdim == 3 else None
        return ContactProfile(facet, rows[:, 0], rows[:, 1], rows[:, 3], rows[:, 4], rows[:, 5], z)
