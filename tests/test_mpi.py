"""Serial and ``mpirun -n 2`` runs of the same scenario give the same metrics."""

from __future__ import annotations

import pytest

from conftest import SCENARIOS, assert_same_metrics, read_summary, run_cli, run_cli_mpi

pytestmark = pytest.mark.mpi


@pytest.mark.parametrize("name", ["sinusoidal_interface.toml", "li_pll_cycled_image.toml",
                                  "composite_window.toml"])
def test_parallel_equals_serial(tmp_path, have_mpirun, name):
    serial, parallel = tmp_path / "serial", tmp_path / "parallel"
    p1 = run_cli("run", str(SCENARIOS / name), "-o", str(serial), "-q")
    assert p1.returncode == 0, p1.stderr
    p2 = run_cli_mpi(2, "run", str(SCENARIOS / name), "-o", str(parallel), "-q")
    assert p2.returncode == 0, p2.stderr + p2.stdout
    a, b = read_summary(serial), read_summary(parallel)
    assert b["provenance"]["mpi_ranks"] == 2
    assert a["mesh"]["cells"] == b["mesh"]["cells"]
    assert a["metrics"].keys() == b["metrics"].keys()
    # direct LU in both: agreement to round-off, far inside any solver tolerance; the absolute
    # part from the metric's own scale (a stress near zero, a length of 40 um)
    assert_same_metrics(a, b, rel=1e-8)


def test_bad_input_under_mpi_is_one_line(tmp_path, have_mpirun):
    proc = run_cli_mpi(2, "run", str(SCENARIOS / "flat_bilayer.toml"), "-o", str(tmp_path / "x"),
                       "--set", "loading.stack_pressure_Pa=-1")
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert proc.stderr.count("ecmsim: error:") == 1


@pytest.mark.mpi
def test_an_error_inside_gmsh_on_rank_0_ends_the_job_at_once(tmp_path, have_mpirun):
    """gmsh runs on rank 0 only; when it raised, rank 1 waited in the mesh's distribution until the
    result folder's 60 s deadline aborted the job. Every rank now hears of it at once."""
    import os
    import sys
    import time

    from conftest import ROOT, mpirun, run_process

    script = tmp_path / "fail.py"
    script.write_text(
        "import sys\n"
        "import ecmsim.mesh.tagged as tagged\n"
        "from ecmsim.core.fem import MPI\n"
        "def broken(geometry, options):\n"
        "    raise Exception('gmsh: something inside gmsh went wrong')\n"
        "if MPI.COMM_WORLD.rank == 0:\n"
        "    tagged.build_gmsh_model = broken\n"
        "from ecmsim.cli import main\n"
        f"sys.exit(main(['run', {str(SCENARIOS / 'flat_bilayer.toml')!r}, '-o', {str(tmp_path / 'out')!r}, '-q']))\n")
    start = time.monotonic()
    proc = run_process([mpirun(), "-n", "2", sys.executable, str(script)], capture_output=True, text=True,
                          timeout=300, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)))
    seconds = time.monotonic() - start
    assert proc.returncode == 1, proc.stderr
    lines = [ln for ln in proc.stderr.splitlines() if ln.strip()]
    assert len(lines) == 1 and "something inside gmsh went wrong" in lines[0], proc.stderr
    assert seconds < 30, seconds
    assert not (tmp_path / "out").exists() and not list(tmp_path.glob("out.partial*"))
