"""The end of a run: each rank writes its own files at the same time (``Run.write_alone``).

Rank 0 writes mesh.msh (from the gmsh model it kept) and the VTU; the last rank draws the plots.
A serial run and ``mpirun -n 2`` give the same files; a figure that fails on the drawing rank is
left out with a warning; a failure of one rank's file work reaches every rank (no hang); a run that
fails before writing removes the gmsh model kept for its mesh file.
"""

from __future__ import annotations

import json
import os
import sys

import pytest

from conftest import ROOT, SCENARIOS, mpirun, read_summary, run_cli, run_cli_mpi, run_process

FLAT = str(SCENARIOS / "flat_bilayer.toml")


@pytest.mark.mpi
def test_two_ranks_write_the_files_of_a_serial_run(tmp_path, have_mpirun):
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    p1 = run_cli("run", FLAT, "-o", str(serial), "-q")
    assert p1.returncode == 0, p1.stderr
    p2 = run_cli_mpi(2, "run", FLAT, "-o", str(parallel), "-q")
    assert p2.returncode == 0, p2.stderr + p2.stdout
    a, b = read_summary(serial), read_summary(parallel)
    assert sorted(a["files"]) == sorted(b["files"])
    assert {"mesh.msh", "mesh.report.json", "fields/fields.vtu", "stress_map.png", "interface_stress.png"} <= set(b["files"])
    assert all((parallel / f).exists() for f in b["files"])
    # gmsh meshed the same model on rank 0 in both runs: the same mesh file and report, byte for byte
    for name in ("mesh.msh", "mesh.report.json"):
        assert (serial / name).read_bytes() == (parallel / name).read_bytes(), name
    # the plots were drawn on rank 1 of the parallel run, from the whole field: same picture size
    from PIL import Image
    for png in ("stress_map.png", "interface_stress.png"):
        assert Image.open(serial / png).size == Image.open(parallel / png).size, png
    # each rank sampled its own cells into the map's pixels (ecmsim.io.raster): the merged picture is
    # the serial one (a rank's part lost would leave its cells blank)
    import numpy as np
    a_map, b_map = (np.asarray(Image.open(d / "stress_map.png").convert("RGB"), dtype=int) for d in (serial, parallel))
    assert np.abs(a_map - b_map).max() <= 2
    import pyvista as pv
    assert pv.read(parallel / "fields" / "fields.vtu").n_cells == b["mesh"]["cells"]
    # the times of the work done alone reach summary.json from whichever rank did it
    assert {"plots", "fields", "mesh_file"} <= set(b["timings_s"])


def _script(tmp_path, body: str, out) -> list[str]:
    script = tmp_path / "s.py"
    script.write_text("import sys\nfrom ecmsim.core.fem import MPI\n" + body +
                      f"\nfrom ecmsim.cli import main\nsys.exit(main(['run', {FLAT!r}, '-o', {str(out)!r}, '-q']))\n")
    return [mpirun(), "-n", "2", sys.executable, str(script)]


@pytest.mark.mpi
def test_a_figure_that_fails_on_the_drawing_rank_is_left_out(tmp_path, have_mpirun):
    out = tmp_path / "out"
    cmd = _script(tmp_path, "import ecmsim.io.plots as plots\n"
                            "if MPI.COMM_WORLD.rank == 1:\n"
                            "    plots.interface_stress_plot = lambda *a: 1 / 0\n", out)
    proc = run_process(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode == 0, proc.stderr
    assert "interface_stress.png not drawn" in proc.stderr and "Traceback" not in proc.stderr
    summary = json.loads((out / "summary.json").read_text())
    assert "interface_stress.png" not in summary["files"] and "stress_map.png" in summary["files"]
    assert all((out / f).exists() for f in summary["files"])


@pytest.mark.mpi
def test_a_failure_in_one_ranks_file_work_ends_every_rank(tmp_path, have_mpirun):
    """The VTU writer fails on rank 1 (which then draws no plots) while rank 0 writes mesh.msh: both
    ranks stop at once, with the reason, and no folder is left."""
    import time

    out = tmp_path / "out"
    cmd = _script(tmp_path, "import ecmsim.io.vtu as vtu\n"
                            "def broken(*a, **k):\n"
                            "    raise OSError('disk on fire')\n"
                            "vtu.write_vtu_gathered = broken\n", out)
    start = time.monotonic()
    proc = run_process(cmd, capture_output=True, text=True, timeout=300, cwd=ROOT,
                          env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert proc.returncode != 0
    assert "disk on fire" in proc.stderr, proc.stderr
    assert time.monotonic() - start < 60
    assert not out.exists() and not list(tmp_path.glob("out.partial*"))


def test_a_run_removes_the_gmsh_model_kept_for_its_mesh_file(tmp_path, monkeypatch):
    """Kept on rank 0 from meshing to the end of the run: removed once mesh.msh is written, and
    when the run fails before writing it."""
    import gmsh

    from ecmsim.core.errors import SolverError
    from ecmsim.mesh import session
    from ecmsim.run import pipeline
    from ecmsim.run.stages import mechanics

    pipeline.run_scenario_file(FLAT, tmp_path / "ok", quiet=True, overrides=["output.fields=false"])
    assert (tmp_path / "ok" / "mesh.msh").exists() and (tmp_path / "ok" / "mesh.report.json").exists()
    assert not session._KEPT
    assert not any(m.startswith("ecmsim_") for m in gmsh.model.list())

    def fail(self, *a, **k):
        raise SolverError("no solve today")

    monkeypatch.setattr(mechanics.StaticMechanics, "advance", fail)
    with pytest.raises(SolverError):
        pipeline.run_scenario_file(FLAT, tmp_path / "o", quiet=True)
    assert not session._KEPT
    assert not gmsh.isInitialized() or not any(m.startswith("ecmsim_") for m in gmsh.model.list())
    assert not (tmp_path / "o").exists()
