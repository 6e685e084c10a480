"""Geometry -> gmsh model -> dolfinx mesh with named cell and facet tags.

Contract (see docs/architecture.md): cells are tagged ``electrode``, ``electrolyte`` (``fibre``);
facets ``top``, ``bottom``, ``left``, ``right`` (the window's edges), ``interface`` (between
electrode and electrolyte) and ``void`` (edges of uncovered holes). A facet between two other
labels is named ``<a>_<b>`` with the labels in alphabetical order. The name <-> id map travels
with the mesh (:class:`TaggedMesh`) and is written into ``.msh`` files as physical names, so a
mesh made elsewhere can be read back by name.

Electrode pieces that reach the top edge neither directly nor through other electrode pieces
(dead Li islands inside the electrolyte) keep the ``electrode`` cell tag, but their boundary
with the electrolyte is tagged ``island``, not ``interface``: it is electronically cut off.

gmsh runs on rank 0 only; the mesh is distributed with facet-sharing ghosts (needed by
interior-facet integrals on the interface).

3D: with a depth (``geometry.depth_m``), the window [0, W] x [0, H] x [0, depth] is meshed with
tetrahedra: every region becomes a volume, every tagged curve a tagged surface with the same
name, and the two new window faces are ``front`` (z = 0) and ``back`` (z = depth). x is the
width, y the height (stacking direction), z the depth.

The room's modules, each importing only those listed before it (this file only re-exports):

- :mod:`~ecmsim.mesh.tags`: tag ids and how a boundary is named;
- :mod:`~ecmsim.mesh.options`: :class:`MeshOptions` and the cell-count estimate;
- :mod:`~ecmsim.mesh.session`: the gmsh model context, meshing and scaling to metres;
- :mod:`~ecmsim.mesh.partition`: conforming partitions (shared vertices, short edges, tips);
- :mod:`~ecmsim.mesh.sizes`: size fields and the narrow-feature sizing;
- :mod:`~ecmsim.mesh.refine`: large 2D windows meshed coarser and refined in dolfinx, in parallel;
- :mod:`~ecmsim.mesh.mesh3d`: extruded and genuinely 3D windows;
- :mod:`~ecmsim.mesh.build`: :func:`build_gmsh_model` and its two routes (OpenCASCADE, built-in);
- :mod:`~ecmsim.mesh.preview`, :mod:`~ecmsim.mesh.report`: the mesh picture and quality report;
- :mod:`~ecmsim.mesh.tagged`: :class:`TaggedMesh`, :func:`mesh_geometry`, :func:`read_msh`, :func:`restrict`;
- :mod:`~ecmsim.mesh.voxel`, :mod:`~ecmsim.mesh.cell`: voxel stacks and the fibre cell section.

The tunable constants are re-exported for reading; the code reads them in the module that
defines them, so patch them there (e.g. ``ecmsim.mesh.build.GEO_ROUTE_MIN_VERTICES``).
"""

from ecmsim.mesh.build import GEO_ROUTE_MIN_VERTICES, SHORT_EDGE_FRACTION, build_gmsh_model
from ecmsim.mesh.options import MeshOptions, estimated_cells
from ecmsim.mesh.partition import CORNER_MOVE_MIN_DEG, TIP_TURN_DEG
from ecmsim.mesh.refine import REFINE_MIN_CELLS
from ecmsim.mesh.session import generate_scaled, gmsh_model
from ecmsim.mesh.sizes import (
    NARROW_CONE_DEG,
    NARROW_GEODESIC_RATIO,
    NARROW_GRADING,
    NARROW_GRID_MAX,
    NARROW_SIZE_FACTOR,
    NARROW_SIZE_FLOOR,
    SHORT_CORNER_TURN_DEG,
)
from ecmsim.mesh.tagged import TaggedMesh, mesh_geometry, read_msh, restrict
from ecmsim.mesh.tags import CELL_IDS, FACET_IDS

__all__ = [
    "CELL_IDS", "FACET_IDS", "MeshOptions", "TaggedMesh", "build_gmsh_model", "estimated_cells", "generate_scaled",
    "gmsh_model", "mesh_geometry", "read_msh", "restrict",
    "CORNER_MOVE_MIN_DEG", "GEO_ROUTE_MIN_VERTICES", "NARROW_CONE_DEG", "NARROW_GEODESIC_RATIO", "NARROW_GRADING",
    "NARROW_GRID_MAX", "NARROW_SIZE_FACTOR", "NARROW_SIZE_FLOOR", "REFINE_MIN_CELLS", "SHORT_CORNER_TURN_DEG",
    "SHORT_EDGE_FRACTION", "TIP_TURN_DEG",
]
