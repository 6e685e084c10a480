"""What is in contact, the bodies of the mesh, and where the contact integrals live.

- The contacts: :class:`ContactPair` (a facet group shared by two bodies, split into two surfaces)
  and :class:`RigidCircle` (a rigid circular obstacle touching the facets of one body).
- Facet groups between two regions: :func:`facet_regions` names their ("+", "-") regions
  (``interface`` and ``island``: electrode "+" over electrolyte "-"; ``<a>_<b>``: a "+", b "-"),
  :func:`electrode_contact_groups` picks those where the electrode touches another phase.
- Bodies: regions joined by a facet group that is not a contact are glued into one body
  (:func:`find_bodies`); :func:`make_bodies` gives each its submesh, the entity map to the parent
  mesh and its displacement space, and refuses a split that would leave facets between two
  bodies that are not contact facets (they would silently become two free surfaces).
- Integration data of the contact forms (custom dolfinx integration data on the parent mesh):
  :func:`pair_data` (the interior facets of a pair, each row oriented so that its "+" cell lies
  in the "+" region, e.g. the electrode), :func:`exterior_data` (a facet group's exterior facets
  next to a body), :func:`obstacle_body`, and :func:`body_facets` (parent facets as facets of a
  body's submesh, where its prescribed displacements act).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import numpy as np

from ecmsim.core.errors import MeshError
from ecmsim.core.fem import MPI, dolfinx, fem
from ecmsim.mesh import TaggedMesh


@dataclass(frozen=True)
class ContactPair:
    """Contact across a facet group shared by two bodies (a split conforming interface).

    Attributes:
        facet: facet tag name: ``interface`` (electrode "+" over electrolyte "-") or ``<a>_<b>``
            (region a "+", region b "-").
        initial_gap: ``x -> g0`` [m] (x of shape (3, N), returns (N,)): the distance between the
            two surfaces before loading, measured along the normal, >= 0; None: touching. It is
            interpolated in the displacement space, so it enters as a field on the facets.
        gap_offset: True gives the pair an offset h [m] subtracted from the gap, g_N = g(u) - h, set per
            facet between solves without recompiling (:attr:`~ecmsim.mechanics.contact.forms.PairIntegration.offset`:
            plated (+) or stripped (-) Li moving the "+" surface, docs/electrochem.md).
    """

    facet: str = "interface"
    initial_gap: Callable[[np.ndarray], np.ndarray] | None = None
    gap_offset: bool = False


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


@dataclass
class Body:
    """One body: its regions, its submesh and displacement (current and at the last load step)."""

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


def cell_mask(tmesh: TaggedMesh, cells: np.ndarray) -> np.ndarray:
    """Boolean mask over the parent's local cells (owned and ghost), True at ``cells``."""
    imap = tmesh.mesh.topology.index_map(tmesh.mesh.topology.dim)
    mask = np.zeros(imap.size_local + imap.num_ghosts, dtype=bool)
    mask[cells] = True
    return mask


def make_bodies(tmesh: TaggedMesh, pairs: Sequence[ContactPair], degree: int) -> list[Body]:
    """The bodies of the mesh split at the ``pairs``: submesh, entity map, Lagrange(``degree``) space,
    displacement. MeshError for a pair inside one body or a facet between bodies that is no contact."""
    tm = tmesh
    msh = tm.mesh
    contact_facets = [p.facet for p in pairs]
    bodies = []
    for regions in find_bodies(tm, contact_facets):
        cells = np.unique(np.concatenate([tm.cells(r) for r in regions])).astype(np.int32)
        b = Body("+".join(regions), regions, cells)
        b.mesh, b.entity_map, _, _ = dolfinx.mesh.create_submesh(msh, msh.topology.dim, cells)
        tdim = msh.topology.dim
        b.mesh.topology.create_connectivity(tdim - 1, tdim)
        b.mesh.topology.create_connectivity(tdim, tdim - 1)
        b.V = fem.functionspace(b.mesh, ("Lagrange", degree, (msh.geometry.dim,)))
        b.u = fem.Function(b.V, name=f"displacement_{b.name}_m")
        b.u_old = fem.Function(b.V)
        bodies.append(b)
    for p in pairs:
        sides = facet_regions(p.facet, sorted(tm.cell_ids))
        if sides is None:
            raise MeshError(f"contact facet group '{p.facet}' does not lie between two tagged regions")
        if next(b for b in bodies if sides[0] in b.regions) is next(b for b in bodies if sides[1] in b.regions):
            raise MeshError(f"contact facet group '{p.facet}' joins regions of one body ({sides[0]}, "
                            f"{sides[1]} are also glued by another facet group): declare that group a contact too")
    check_split(tmesh, bodies, pairs)
    return bodies


def check_split(tmesh: TaggedMesh, bodies: Sequence[Body], pairs: Sequence[ContactPair]) -> None:
    """Every facet between two bodies must be a contact facet: any other would silently become
    two free surfaces (e.g. an untagged or unknown facet group between two regions)."""
    tm = tmesh
    msh = tm.mesh
    tdim = msh.topology.dim
    imap = msh.topology.index_map(tdim)
    body_of_cell = np.full(imap.size_local + imap.num_ghosts, -1)
    for i, b in enumerate(bodies):
        body_of_cell[b.cells] = i
    f2c = msh.topology.connectivity(tdim - 1, tdim)
    fmap = msh.topology.index_map(tdim - 1)
    contact = np.zeros(fmap.size_local + fmap.num_ghosts, dtype=bool)
    for p in pairs:
        contact[tm.facets(p.facet)] = True
    n_owned = fmap.size_local
    offsets, links = f2c.offsets, f2c.array
    two = np.flatnonzero(np.diff(offsets[:n_owned + 1]) == 2)
    c0, c1 = links[offsets[two]], links[offsets[two] + 1]
    loose = int(np.count_nonzero((body_of_cell[c0] != body_of_cell[c1]) & ~contact[two]))
    loose = tm.comm.allreduce(loose, op=MPI.SUM)
    if loose:
        raise MeshError(f"{loose} facets lie between two bodies ({', '.join(b.name for b in bodies)}) without "
                        f"being contact facets (contact groups: {', '.join(p.facet for p in pairs)}; mesh "
                        f"facet groups: {', '.join(tm.facet_ids)})")


def body_facets(tmesh: TaggedMesh, body: Body, parent_facets: np.ndarray) -> np.ndarray:
    """Submesh facets of ``body`` that are the given parent facets (those next to the body)."""
    msh = tmesh.mesh
    tdim = msh.topology.dim
    f2c, c2f = msh.topology.connectivity(tdim - 1, tdim), msh.topology.connectivity(tdim, tdim - 1)
    sub_c2f = body.mesh.topology.connectivity(tdim, tdim - 1)
    inside = cell_mask(tmesh, body.cells)
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


def pair_data(tmesh: TaggedMesh, pair: ContactPair) -> tuple[np.ndarray, tuple[str, str]]:
    """Interior-facet integration data (plus cell, local facet, minus cell, local facet) per row,
    and the ("+", "-") regions: each row is swapped where needed so that its "+" cell lies in the
    "+" region."""
    tm = tmesh
    msh = tm.mesh
    plus, minus = facet_regions(pair.facet, sorted(tm.cell_ids))
    data = fem.compute_integration_domains(fem.IntegralType.interior_facet, msh.topology, tm.facets(pair.facet))
    data = np.asarray(data, dtype=np.int32).reshape(-1, 4).copy()
    in_plus, in_minus = cell_mask(tm, tm.cells(plus)), cell_mask(tm, tm.cells(minus))
    swap = ~in_plus[data[:, 0]]
    data[swap] = data[swap][:, [2, 3, 0, 1]]
    if not (in_plus[data[:, 0]].all() and in_minus[data[:, 2]].all()):
        raise MeshError(f"facet group '{pair.facet}' has facets that are not between '{plus}' and '{minus}'")
    return data, (plus, minus)


def exterior_data(tmesh: TaggedMesh, name: str, body: Body) -> np.ndarray:
    """Exterior-facet integration data (cell, local facet) of the group ``name`` next to ``body``."""
    msh = tmesh.mesh
    facets = np.intersect1d(tmesh.facets(name), dolfinx.mesh.exterior_facet_indices(msh.topology))
    data = np.asarray(fem.compute_integration_domains(fem.IntegralType.exterior_facet, msh.topology, facets),
                      dtype=np.int32).reshape(-1, 2)
    return data[cell_mask(tmesh, body.cells)[data[:, 0]]]


def obstacle_body(tmesh: TaggedMesh, bodies: Sequence[Body], obstacle: RigidCircle) -> Body:
    """The one body whose exterior facets form the obstacle's facet group (collective)."""
    comm = tmesh.comm
    counts = [comm.allreduce(len(exterior_data(tmesh, obstacle.facet, b)), op=MPI.SUM) for b in bodies]
    touched = [b for b, c in zip(bodies, counts, strict=True) if c > 0]
    if len(touched) != 1:
        raise MeshError(f"obstacle facets '{obstacle.facet}' must bound exactly one body "
                        f"(they bound {len(touched)})")
    return touched[0]
