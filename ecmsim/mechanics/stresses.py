r"""Stresses along the interface and the heterogeneity metrics built on them.

On every interface facet the traction is evaluated at the two ends and the midpoint, from the
cells on both sides (the stress is linear per cell for P2 displacements) and averaged:
:math:`\sigma_n = n\cdot\sigma n` (normal, compression negative) and
:math:`\tau = t\cdot\sigma n` (shear), with n the unit normal pointing from the electrolyte into
the electrode and t = (n_y, -n_x). Integrals along the interface use Simpson's rule per facet,
exact for the linear traction of a P2 solution (and for its square, used by the deviation).

3D: the interface facets are triangles; the traction is sampled at their edge midpoints with
weight area/3 each (exact for quadratics on a triangle, so again for the linear traction and
its square): means and deviations are area-weighted. The shear is the magnitude of the
tangential traction, :math:`|\sigma n - (n\cdot\sigma n)\,n| \ge 0`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ecmsim.core.errors import MeshError
from ecmsim.core.fem import dolfinx
from ecmsim.mechanics.elasticity import ElasticSolution, von_mises


#: Width of the bands at the window's side walls left out of the extremes of the interface stress,
#: as a fraction of the window's width (1 um of a 40 um window): the rollers meet the interface at
#: a corner there (measured on sinusoidal_interface.toml: the stress leaves the interior's range
#: within 0.5 um of the walls, -3.14 and -1.42 MPa at the walls against -2.78 ... -2.01 inside).
EDGE_BAND_FRACTION = 0.025


@dataclass
class InterfaceProfile:
    """Traction samples along the interface, the same on every rank, sorted by x.

    Attributes:
        x_m, y_m: sample positions [m] (facet ends and midpoints).
        normal_stress_Pa: n . sigma n [Pa], compression negative.
        shear_stress_Pa: t . sigma n [Pa].
        weight_m: Simpson weights [m]; sum(weight_m) is the interface length. In 3D: area
            weights [m^2] (the name is kept), summing to the interface area.
        z_m: sample depth [m] in 3D, None in 2D.
    """

    x_m: np.ndarray
    y_m: np.ndarray
    normal_stress_Pa: np.ndarray
    shear_stress_Pa: np.ndarray
    weight_m: np.ndarray
    z_m: np.ndarray | None = None

    @property
    def length_m(self) -> float:
        return float(self.weight_m.sum())

    def mean(self, values: np.ndarray) -> float:
        return float(np.dot(self.weight_m, values) / self.weight_m.sum())

    def metrics(self, window_width_m: float) -> dict[str, float]:
        """Heterogeneity metrics of the normal traction (names carry units).

        Means and deviations weigh every sample. The extremes are those of the profile as written
        (``interface_profile.csv``: one value per point, :meth:`merged`) away from the window's side
        walls: within :data:`EDGE_BAND_FRACTION` of the width of a wall the rollers meet the
        interface at a corner, whose stress is singular in the model (it grows with refinement)
        and is not the cell's."""
        s = self.normal_stress_Pa
        mean = self.mean(s)
        std = float(np.sqrt(max(self.mean((s - mean) ** 2), 0.0)))
        centre = np.abs(self.x_m - window_width_m / 2) <= window_width_m / 4
        edge = ~centre
        centre_mean = self.mean_over(s, centre)
        edge_mean = self.mean_over(s, edge)
        inner = self.merged() if self.z_m is None else self
        keep = inner.away_from_walls()
        s_in, shear_in = inner.normal_stress_Pa[keep], inner.shear_stress_Pa[keep]
        return {
            "interface_normal_stress_mean_Pa": mean,
            "interface_normal_stress_min_Pa": float(s_in.min()),
            "interface_normal_stress_max_Pa": float(s_in.max()),
            "interface_normal_stress_std_Pa": std,
            "interface_normal_stress_cv": std / abs(mean) if mean != 0 else float("inf"),
            "interface_normal_stress_centre_edge_ratio": (centre_mean / edge_mean if edge_mean != 0
                                                          else float("nan")),
            "interface_shear_stress_max_abs_Pa": float(np.abs(shear_in).max()),
            **({"interface_length_m": self.length_m} if self.z_m is None else {"interface_area_m2": self.length_m}),
        }

    def away_from_walls(self) -> np.ndarray:
        """Mask of the samples farther than :data:`EDGE_BAND_FRACTION` of the window's extent from its
        side walls (x, and z in 3D); every sample when none is."""
        keep = np.ones(len(self.x_m), dtype=bool)
        for c in (self.x_m, self.z_m):
            if c is None or len(c) == 0:
                continue
            lo, hi = float(c.min()), float(c.max())
            band = EDGE_BAND_FRACTION * (hi - lo)
            keep &= (c >= lo + band) & (c <= hi - band)
        return keep if keep.any() else np.ones(len(self.x_m), dtype=bool)

    def mean_over(self, values: np.ndarray, mask: np.ndarray) -> float:
        w = self.weight_m * mask
        return float(np.dot(w, values) / w.sum()) if w.sum() > 0 else float("nan")

    def merged(self) -> InterfaceProfile:
        """One sample per distinct point: a vertex shared by two facets appears twice in the raw
        samples, with the (slightly different) stress of each facet's cells; here the two become
        one, their weights summed and their stresses weight-averaged. Weighted means (and so
        ``mean``) are unchanged; the curve no longer zig-zags between the two values."""
        xy, inverse = np.unique(np.column_stack([self.x_m, self.y_m]), axis=0, return_inverse=True)
        inverse = inverse.ravel()
        w = np.bincount(inverse, self.weight_m, len(xy))

        def avg(v):
            return np.bincount(inverse, self.weight_m * v, len(xy)) / w

        return InterfaceProfile(xy[:, 0], xy[:, 1], avg(self.normal_stress_Pa), avg(self.shear_stress_Pa), w)

    def to_csv(self, path) -> None:
        if self.z_m is not None:
            header = "x_m,y_m,z_m,normal_stress_Pa,shear_stress_Pa,weight_m2"
            np.savetxt(path, np.column_stack([self.x_m, self.y_m, self.z_m, self.normal_stress_Pa,
                                              self.shear_stress_Pa, self.weight_m]), delimiter=",", header=header,
                       comments="")
            return
        """``interface_profile.csv`` (docs/results.md): one row per distinct point (:meth:`merged`),
        sorted by x, then y. Columns: x_m, y_m [m]; normal_stress_Pa, shear_stress_Pa [Pa];
        weight_m [m], the Simpson quadrature weight: mean = sum(w s) / sum(w), sum(w) = length."""
        m = self.merged()
        header = "x_m,y_m,normal_stress_Pa,shear_stress_Pa,weight_m"
        np.savetxt(path, np.column_stack([m.x_m, m.y_m, m.normal_stress_Pa, m.shear_stress_Pa, m.weight_m]),
                   delimiter=",", header=header, comments="")


def interface_profile(solution: ElasticSolution, facet: str = "interface", side: str = "both",
                      sides: tuple[str, str] = ("electrolyte", "electrode")) -> InterfaceProfile:
    """Sample the traction on the facets tagged ``facet``.

    ``sides``: the two cell regions the facets separate; the normal points from ``sides[0]``
    into ``sides[1]`` (electrolyte -> electrode for the interface, electrolyte -> particle for
    ``electrolyte_particle``). ``side``: one of ``sides`` evaluates the stress of that side's
    cells; ``"both"`` (default) averages the two, which cancels most of the jump of a discrete
    stress across the interface (equilibrium makes the exact traction continuous).
    """
    tm = solution.tmesh
    msh = tm.mesh
    if msh.geometry.dim == 3:
        return _interface_profile_3d(solution, facet, side, sides)
    comm = msh.comm
    n_owned = msh.topology.index_map(1).size_local
    facets = tm.facets(facet)
    facets = facets[facets < n_owned]
    X = msh.geometry.x
    fnodes = dolfinx.mesh.entities_to_geometry(msh, 1, facets)
    a, b = X[fnodes[:, 0], :2], X[fnodes[:, 1], :2]
    t = b - a
    length = np.linalg.norm(t, axis=1)
    pts = np.concatenate([a, 0.5 * (a + b), b])
    weights = np.concatenate([length / 6, 4 * length / 6, length / 6])
    pts3 = np.column_stack([pts, np.zeros(len(pts))])

    pair = sides
    sides = tuple(pair) if side == "both" else (side,)
    normal_sum = np.zeros(len(pts))
    shear_sum = np.zeros(len(pts))
    for name in sides:
        cells, nrm = _side_cells_and_normals(tm, facets, fnodes, name, facet, flip=name == pair[1])
        cells3 = np.concatenate([cells, cells, cells])
        normals = np.concatenate([nrm, nrm, nrm])
        s = solution.stress.eval(pts3, cells3) if len(pts3) else np.empty((0, 4))
        nx, ny = normals[:, 0], normals[:, 1]
        sxx, syy, sxy = s[:, 0], s[:, 1], s[:, 3]
        tx, ty = sxx * nx + sxy * ny, sxy * nx + syy * ny      # traction sigma n
        normal_sum += tx * nx + ty * ny
        shear_sum += tx * ny - ty * nx                           # t = (n_y, -n_x)
    local = np.column_stack([pts, normal_sum / len(sides), shear_sum / len(sides), weights])
    rows = np.concatenate(comm.allgather(local))
    if len(rows) == 0:
        raise MeshError(f"the mesh has no '{facet}' facets to sample")
    rows = rows[np.lexsort((rows[:, 1], rows[:, 0]))]
    return InterfaceProfile(rows[:, 0], rows[:, 1], rows[:, 2], rows[:, 3], rows[:, 4])


def _side_cells(tm, facets: np.ndarray, side: str, facet: str) -> np.ndarray:
    """The one cell of region ``side`` next to each facet (2D and 3D); MeshError if there is not exactly one."""
    msh = tm.mesh
    tdim = msh.topology.dim
    imap = msh.topology.index_map(tdim)
    in_side = np.zeros(imap.size_local + imap.num_ghosts, bool)
    in_side[tm.cells(side)] = True
    msh.topology.create_connectivity(tdim - 1, tdim)
    f2c = msh.topology.connectivity(tdim - 1, tdim)
    cells = np.empty(len(facets), dtype=np.int32)
    for i, f in enumerate(facets):
        adj = [c for c in f2c.links(f) if in_side[c]]
        if len(adj) != 1:
            raise MeshError(f"facet {f} of '{facet}' has {len(adj)} '{side}' neighbours (expected 1)")
        cells[i] = adj[0]
    return cells


def _side_cells_and_normals(tm, facets: np.ndarray, fnodes: np.ndarray, side: str, facet: str, flip: bool):
    """The ``side`` cell of each facet and the unit normal pointing out of it (into it if ``flip``:
    the normal always points from the first region of the pair into the second)."""
    msh = tm.mesh
    cells = _side_cells(tm, facets, side, facet)
    if len(facets) == 0:
        return cells, np.empty((0, 2))
    X = msh.geometry.x
    cnodes = dolfinx.mesh.entities_to_geometry(msh, 2, cells)
    off = np.array([[n for n in cn if n not in fn][0] for cn, fn in zip(cnodes, fnodes, strict=True)])
    a, b, c = X[fnodes[:, 0], :2], X[fnodes[:, 1], :2], X[off, :2]
    t = b - a
    nrm = np.column_stack([t[:, 1], -t[:, 0]]) / np.linalg.norm(t, axis=1)[:, None]
    nrm[np.einsum("ij,ij->i", nrm, c - a) > 0] *= -1    # now the outward normal of the side cell
    if flip:
        nrm *= -1                                          # keep first -> second region
    return cells, nrm


def _interface_profile_3d(solution: ElasticSolution, facet: str, side: str, pair: tuple[str, str]
                          ) -> InterfaceProfile:
    tm = solution.tmesh
    msh = tm.mesh
    comm = msh.comm
    n_owned = msh.topology.index_map(2).size_local
    facets = tm.facets(facet)
    facets = facets[facets < n_owned]
    X = msh.geometry.x
    fnodes = dolfinx.mesh.entities_to_geometry(msh, 2, facets).reshape(-1, 3)
    a, b, c = X[fnodes[:, 0]], X[fnodes[:, 1]], X[fnodes[:, 2]]
    cross = np.cross(b - a, c - a)
    area = 0.5 * np.linalg.norm(cross, axis=1)
    pts = np.concatenate([0.5 * (a + b), 0.5 * (b + c), 0.5 * (c + a)])
    weights = np.concatenate([area / 3, area / 3, area / 3])
    sides = tuple(pair) if side == "both" else (side,)
    normal_sum = np.zeros(len(pts))
    shear_sum = np.zeros(len(pts))
    for name in sides:
        cells = _side_cells(tm, facets, name, facet)
        nrm = cross / np.linalg.norm(cross, axis=1)[:, None] if len(facets) else np.empty((0, 3))
        if len(facets):
            centroid = X[dolfinx.mesh.entities_to_geometry(msh, 3, cells).reshape(-1, 4)].mean(axis=1)
            nrm[np.einsum("ij,ij->i", nrm, centroid - a) > 0] *= -1   # outward of the side cell
            if name == pair[1]:
                nrm = -nrm                                             # first -> second region
        cells3 = np.concatenate([cells, cells, cells])
        normals = np.concatenate([nrm, nrm, nrm])
        sv = solution.stress.eval(pts, cells3) if len(pts) else np.empty((0, 6))
        # rows (xx, yy, zz, xy, xz, yz) -> symmetric tensors
        sig = sv[:, [0, 3, 4, 3, 1, 5, 4, 5, 2]].reshape(-1, 3, 3)
        t = np.einsum("kij,kj->ki", sig, normals)
        tn = np.einsum("ki,ki->k", t, normals)
        normal_sum += tn
        shear_sum += np.linalg.norm(t - tn[:, None] * normals, axis=1)
    local = np.column_stack([pts, normal_sum / len(sides), shear_sum / len(sides), weights])
    rows = np.concatenate(comm.allgather(local))
    if len(rows) == 0:
        raise MeshError(f"the mesh has no '{facet}' facets to sample")
    rows = rows[np.lexsort((rows[:, 2], rows[:, 1], rows[:, 0]))]
    return InterfaceProfile(rows[:, 0], rows[:, 1], rows[:, 3], rows[:, 4], rows[:, 5], z_m=rows[:, 2])


def field_metrics(solution: ElasticSolution) -> dict[str, float]:
    """Bulk stress metrics, reduced over ranks (names carry units)."""
    from ecmsim.core.fem import MPI

    comm = solution.tmesh.comm
    vm = solution.von_mises_values()
    s = solution.stress_values()
    out = {"von_mises_max_Pa": comm.allreduce(float(vm.max()) if len(vm) else 0.0, op=MPI.MAX)}
    hyd = (s[:, 0] + s[:, 1] + s[:, 2]) / 3.0
    out["hydrostatic_stress_min_Pa"] = comm.allreduce(float(hyd.min()) if len(hyd) else np.inf, op=MPI.MIN)
    out["hydrostatic_stress_max_Pa"] = comm.allreduce(float(hyd.max()) if len(hyd) else -np.inf, op=MPI.MAX)
    return out


def phase_metrics(solution: ElasticSolution) -> dict[str, float]:
    """Von Mises stress per cell region [Pa]: ``von_mises_mean_<region>_Pa`` (area- or
    volume-weighted mean) and ``von_mises_max_<region>_Pa``, reduced over ranks.

    The mean of a cell is the mean of its stress-dof values (the vertices of the linear stress
    of a P2 solve, the one value of P1): exact where the stress is uniform (layers under the
    stack pressure, tested against the uniaxial-strain closed form), a quadrature of the
    convex von Mises function elsewhere (it can only overestimate, by the stress variation
    within a cell). The maximum is exact for a stress linear per cell (convexity).
    """
    from ecmsim.core.fem import MPI

    tm = solution.tmesh
    msh = tm.mesh
    tdim = msh.topology.dim
    n_owned = msh.topology.index_map(tdim).size_local
    S = solution.stress.function_space
    dofs = S.dofmap.list[:n_owned]
    vm_dof = solution.von_mises_values(owned_only=False)
    vm_cell_mean = vm_dof[dofs].mean(axis=1)
    vm_cell_max = vm_dof[dofs].max(axis=1)
    X = msh.geometry.x
    nodes = dolfinx.mesh.entities_to_geometry(msh, tdim, np.arange(n_owned, dtype=np.int32))
    p = X[nodes]
    if tdim == 2:
        e1, e2 = p[:, 1, :2] - p[:, 0, :2], p[:, 2, :2] - p[:, 0, :2]
        size = 0.5 * np.abs(e1[:, 0] * e2[:, 1] - e1[:, 1] * e2[:, 0])
    else:
        size = np.abs(np.einsum("ij,ij->i", p[:, 1] - p[:, 0], np.cross(p[:, 2] - p[:, 0], p[:, 3] - p[:, 0]))) / 6
    comm = tm.comm
    out: dict[str, float] = {}
    for region in sorted(tm.cell_ids):
        cells = tm.cells(region)
        cells = cells[cells < n_owned]
        w = comm.allreduce(float(size[cells].sum()), op=MPI.SUM)
        wv = comm.allreduce(float(np.dot(size[cells], vm_cell_mean[cells])), op=MPI.SUM)
        vmax = comm.allreduce(float(vm_cell_max[cells].max()) if len(cells) else -np.inf, op=MPI.MAX)
        if w > 0:
            out[f"von_mises_mean_{region}_Pa"] = wv / w
            out[f"von_mises_max_{region}_Pa"] = vmax
    return out


def phase_boundaries(tmesh) -> dict[str, tuple[str, str]]:
    """``<a>_<b>`` facet groups of the mesh whose two names are cell regions: name -> (a, b)."""
    out = {}
    regions = set(tmesh.cell_ids)
    for name in tmesh.facet_ids:
        for a in regions:
            b = name[len(a) + 1:] if name.startswith(a + "_") else None
            if b in regions:
                out[name] = (a, b)
    return out


def boundary_metrics(solution: ElasticSolution) -> dict[str, float]:
    """Traction statistics on every ``<a>_<b>`` phase boundary (e.g. ``electrolyte_particle``):
    ``<facet>_normal_stress_{mean,min,max,std}_Pa`` (normal from a into b, compression < 0),
    ``<facet>_shear_stress_max_abs_Pa`` and ``<facet>_length_m`` (``_area_m2`` in 3D)."""
    out: dict[str, float] = {}
    for facet, pair in sorted(phase_boundaries(solution.tmesh).items()):
        prof = interface_profile(solution, facet, sides=pair)
        s = prof.normal_stress_Pa
        mean = prof.mean(s)
        out[f"{facet}_normal_stress_mean_Pa"] = mean
        out[f"{facet}_normal_stress_min_Pa"] = float(s.min())
        out[f"{facet}_normal_stress_max_Pa"] = float(s.max())
        out[f"{facet}_normal_stress_std_Pa"] = float(np.sqrt(max(prof.mean((s - mean) ** 2), 0.0)))
        out[f"{facet}_shear_stress_max_abs_Pa"] = float(np.abs(prof.shear_stress_Pa).max())
        out[f"{facet}_{'length_m' if prof.z_m is None else 'area_m2'}"] = prof.length_m
    return out


__all__ = ["InterfaceProfile", "interface_profile", "field_metrics", "von_mises", "phase_metrics",
           "boundary_metrics", "phase_boundaries"]
