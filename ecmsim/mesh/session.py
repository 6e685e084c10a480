"""One gmsh model at a time: the context manager every mesher builds in, its stand-in on the
ranks that do not run gmsh, and meshing with the scaling back to metres."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager

from ecmsim.core.errors import MeshError


#: names of the models that :func:`keep_model` keeps past their ``gmsh_model`` block
_KEPT: set[str] = set()


def keep_model(name: str) -> None:
    """Keep the gmsh model ``name`` when its :func:`gmsh_model` block ends (for work done on it
    later, such as writing its mesh file); :func:`release_model` removes it then."""
    _KEPT.add(name)


def release_model(name: str) -> None:
    """Remove a model kept by :func:`keep_model` (nothing if it is gone)."""
    import gmsh

    if name in _KEPT:
        _KEPT.discard(name)
        if gmsh.isInitialized() and name in gmsh.model.list():
            gmsh.model.setCurrent(name)
            gmsh.model.remove()


@contextmanager
def gmsh_model(name: str = "ecmsim") -> Iterator[object]:
    """An empty gmsh model, removed afterwards (unless :func:`keep_model`); gmsh quiet unless
    ECMSIM_GMSH_VERBOSE is set."""
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
        if name not in _KEPT:
            gmsh.model.remove()


@contextmanager
def _nothing():
    """Stands in for :func:`gmsh_model` on the ranks that do not run gmsh."""
    yield None


def on_rank0(comm, work: Callable[[], object], meanwhile: Callable[[], object] | None = None) -> None:
    """Run ``work`` (gmsh) on rank 0, then tell every rank whether it failed, so that no rank waits in
    the mesh's distribution for a rank 0 that has stopped (an error inside gmsh used to hold an
    ``mpirun -n 2`` job for a minute): a MeshError is raised on every rank; any other error is
    re-raised on rank 0 and named by the other ranks. ``meanwhile``: run by the other ranks before
    they wait (work of their own while rank 0 meshes)."""
    failure, original = None, None
    if comm.rank != 0 and meanwhile is not None:
        meanwhile()
    if comm.rank == 0:
        try:
            work()
        except MeshError as err:
            failure = ("input", str(err))
        except Exception as err:  # noqa: BLE001 - re-raised below, after every rank has heard of it
            original, failure = err, ("bug", f"{type(err).__name__}: {err}")
    failure = comm.bcast(failure, root=0)
    if failure is None:
        return
    if original is not None:
        raise original
    if failure[0] == "input":
        raise MeshError(failure[1])
    raise RuntimeError(f"meshing failed on MPI rank 0 ({failure[1]})")


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
