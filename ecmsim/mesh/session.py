"""One gmsh model at a time: the context manager every mesher builds in, its stand-in on the
ranks that do not run gmsh, and meshing with the scaling back to metres."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

from ecmsim.core.errors import MeshError


@contextmanager
def gmsh_model(name: str = "ecmsim") -> Iterator[object]:
    """An empty gmsh model, removed afterwards; gmsh quiet unless ECMSIM_GMSH_VERBOSE is set."""
    import os

    import gmsh

    if not gmsh.isInitialized():
        gmsh.initialize(interruptible=False)
        from ecmsim.core.interrupt import reclaim
        reclaim()   # gmsh resets SIGTERM to its default action: ours ends a run cleanly
    gmsh.option.restoreDefaults()  # options are global: one model's sizes must not leak into the next
    gmsh.option.setNumber("General.Terminal", 1 if os.environ.get("ECMSIM_GMSH_VERBOSE") else 0)
    from ecmsim.core.interrupt import hard_interrupt

    gmsh.model.add(name)
    try:
        with hard_interrupt():  # gmsh's C++ would hold Ctrl-C for minutes
            yield gmsh.model
    finally:
        gmsh.model.remove()


@contextmanager
def _nothing():
    """Stands in for :func:`gmsh_model` on the ranks that do not run gmsh."""
    yield None


def generate_scaled(dim: int, unit: float, what: str) -> None:
    """Mesh the current gmsh model in ``dim`` dimensions and scale it by ``unit`` (model units -> m).

    MeshError naming ``what`` when gmsh fails or produces no element of that dimension."""
    import gmsh

    try:
        gmsh.model.mesh.generate(dim)
    except Exception as err:  # gmsh raises bare Exception
        raise MeshError(f"gmsh failed to mesh {what}: {err}") from None
    if sum(len(t) for t in gmsh.model.mesh.getElements(dim)[1]) == 0:
        raise MeshError(f"gmsh produced no {'triangles' if dim == 2 else 'tetrahedra'} for {what}")
    gmsh.model.mesh.affineTransform([unit, 0, 0, 0, 0, unit, 0, 0, 0, 0, unit, 0])  # 2D: z = 0 stays 0
