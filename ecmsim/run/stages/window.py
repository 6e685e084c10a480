"""The geometry and mesh stage of an interface window: a generator, an image or a voxel stack ->
``run.geometry`` and ``run.tmesh`` (mesh.msh and mesh.report.json in the result folder)."""

from __future__ import annotations

import json
import sys
from types import SimpleNamespace

from ecmsim.run.stages.base import Run, Stage


class WindowMeshStage(Stage):
    """Geometry -> gmsh -> dolfinx (2D, an extruded 3D window, or a 3D voxel stack)."""

    name = "mesh"

    def setup(self, run: Run) -> None:
        from ecmsim.mesh import MeshOptions, estimated_cells, mesh_geometry

        scn, progress = run.scn, run.progress
        if scn.geometry.kind == "image_stack":   # a 3D stack: voxel tetrahedra, no 2D geometry
            run.geometry, run.tmesh = self._mesh_stack(run)
        else:
            run.geometry = (self._image_geometry(run) if scn.geometry.kind == "image"
                            else scn.geometry.build(run.source.parent))
            progress.done("geometry")
            m = scn.mesh
            depth_m = getattr(scn.geometry, "depth_m", None)
            options = MeshOptions(m.size_m, m.interface_size_m, m.refine_distance_m, m.max_cells, m.tip_size_m,
                                  depth_m, m.refine_levels)
            progress(f"meshing {run.geometry.description} (about {estimated_cells(run.geometry, options):.2g} "
                     f"{'tetrahedra' if depth_m else 'triangles'}) ...")
            # mesh.msh and its report are written by rank 0 after the solve, while the last rank writes
            # fields.vtu and draws the plots (Run.write_alone); until then rank 0 keeps the gmsh model
            later = []
            run.tmesh = mesh_geometry(run.geometry, options, run.comm, msh_path=run.folder / "mesh.msh",
                                      msh_later=later, meanwhile=lambda: _import_writers(run))
            run.write_alone(0, later[0], "mesh_file", "mesh.msh written")
        stats = run.tmesh.stats()
        kind = "tetrahedra" if self.is_3d(run) else "triangles"
        levels = run.tmesh.refine_levels
        split = f", gmsh at {2 ** levels}x the sizes, split {levels}x by dolfinx" if levels else ""
        progress(f"mesh: {stats['cells']} {kind}, h from {stats['h_min_m']:.3g} to {stats['h_max_m']:.3g} m{split} "
                 f"({progress.done('mesh'):.1f} s)")
        run.summary["mesh"] = {**stats, "cell_tags": run.tmesh.cell_ids, "facet_tags": run.tmesh.facet_ids}

    @staticmethod
    def _image_geometry(run: Run):
        """The image's geometry. What the image pipeline noted (its route, cleaning, corner rounding) goes to
        stderr and summary.json "image"; not to the run's validity warnings, which are about the solution."""
        from ecmsim.geometry.image.pipeline import rounding_line

        image = run.scn.geometry.build_image(run.source.parent)
        noted = {key: image.info[key] for key in ("warnings", "corner_rounding") if key in image.info}
        if noted:
            run.summary["image"] = noted
        if "corner_rounding" in noted:
            run.progress(rounding_line(noted["corner_rounding"]))
        if run.comm.rank == 0:
            for line in noted.get("warnings", []):
                print(f"ecmsim: image: {line}", file=sys.stderr)
        return image.geometry

    @staticmethod
    def is_3d(run: Run) -> bool:
        return getattr(run.geometry, "depth_m", None) is not None

    def write(self, run: Run) -> list[str]:
        # a window's mesh.msh is queued (setup); an image stack's was written while meshing
        return ["mesh.msh", "mesh.report.json"] if run.scn.geometry.kind == "image_stack" else []

    @staticmethod
    def _mesh_stack(run: Run):
        """``[geometry] kind = "image_stack"``: the stack read, aligned, segmented and meshed into voxel
        tetrahedra (mesh.msh, mesh.report.json); returns (window facts, 3D TaggedMesh)."""
        g = run.scn.geometry
        run.progress(f"stack {g.path}: reading, aligning, segmenting, meshing voxels ...")
        tmesh, report = g.mesh(run.source.parent, run.comm, run.folder / "mesh.msh")
        if run.comm.rank == 0:
            (run.folder / "mesh.report.json").write_text(
                json.dumps({"dimension": 3, "kind": "image_stack", **report}, indent=2, default=str) + "\n")
        shape, voxel = report["labels_shape"], report["voxel_size_m"]
        return SimpleNamespace(width_m=report["width_m"], depth_m=shape[0] * voxel[0],
                               description=f"stack {g.path}"), tmesh


def _import_writers(run: Run) -> None:
    """On the rank that writes fields.vtu and draws the plots (mechanics.WRITER_RANK), while rank 0
    runs gmsh: import VTK's writer and matplotlib now (about 0.6 s), not after the solve."""
    from ecmsim.run.stages.mechanics import WRITER_RANK

    if run.comm.size == 1 or run.comm.rank != WRITER_RANK % run.comm.size:
        return
    if run.scn.output.fields:
        from vtkmodules.vtkIOXML import vtkXMLUnstructuredGridWriter  # noqa: F401
    if run.scn.output.plots and getattr(run.scn.geometry, "depth_m", None) is None:   # 3D: no plots
        import matplotlib.tri  # noqa: F401

        from ecmsim.core.figures import pyplot
        pyplot()


__all__ = ["WindowMeshStage"]
