"""``ecmsim sweep``: the grid, bad input before any run, the gathered table, and the restart."""

from __future__ import annotations

import csv
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conftest import ROOT, SCENARIOS, assert_one_line_error, run_cli
from ecmsim.core.errors import ScenarioError
from ecmsim.io.folders import read_manifest
from ecmsim.studies.sweep import build_points, finished, parse_axes, split_values, validate_points

FLAT = str(SCENARIOS / "flat_bilayer.toml")
#: A coarse, quiet flat run: about 3 s per point, most of it start-up.
FAST = ["--set", "mesh.size_m=4e-6", "--set", "mesh.interface_size_m=2e-6", "--set", "output.fields=false",
        "--set", "output.plots=false", "--set", "solver.element_degree=1"]
PRESSURES = ("1e6", "2e6", "3e6")


def test_split_values_keeps_arrays_and_strings_whole():
    assert split_values("1e6, 2e6,3e6") == ["1e6", "2e6", "3e6"]
    assert split_values('[0.3,0.6],[0.2,0.5]') == ["[0.3,0.6]", "[0.2,0.5]"]
    assert split_values('"a,b",c') == ['"a,b"', "c"]


def test_grid_names_and_fixed_values():
    axes = parse_axes(["loading.stack_pressure_Pa=1e6,2e6", "mesh.size_m=1e-6,2e-6,3e-6", "output.plots=false"])
    points = build_points(axes)
    assert len(points) == 6
    assert points[0].name == "stack_pressure_Pa=1e6__size_m=1e-6"
    assert all(p.params["output.plots"] == "false" for p in points)
    assert {(p.params["loading.stack_pressure_Pa"], p.params["mesh.size_m"]) for p in points} == {
        (a, b) for a in ("1e6", "2e6") for b in ("1e-6", "2e-6", "3e-6")}
    # same last key part on two swept axes: the full dotted key names the folder
    twin = build_points(parse_axes(["mesh.size_m=1e-6,2e-6", "other.size_m=1,2"]))
    assert twin[0].name == "mesh.size_m=1e-6__other.size_m=1"
    assert build_points(parse_axes(["output.plots=false"]))[0].name == "base"


@pytest.mark.parametrize("sets, fragment", [
    (["loading.stack_pressure_Pa"], "expected SECTION.KEY=V1,V2"),
    (["loading.stack_pressure_Pa=1e6,,2e6"], "empty value"),
    (["loading.stack_pressure_Pa=1e6,1e6"], "listed twice"),
    (["loading.stack_pressure_Pa=1e6", "loading.stack_pressure_Pa=2e6"], "given twice"),
    (["=1,2"], "empty key"),
])
def test_malformed_sets(sets, fragment):
    with pytest.raises(ScenarioError, match=fragment):
        build_points(parse_axes(sets))


@pytest.mark.parametrize("args, fragments", [
    (["--set", "loading.stack_presure_Pa=1e6,2e6"], ["unknown key 'loading.stack_presure_Pa'"]),
    (["--set", "loading.stack_pressure_Pa=1e6,-2e6"], ["loading.stack_pressure_Pa = -2000000.0", "must be > 0",
                                                       "sweep point stack_pressure_Pa=-2e6"]),
    (["--set", "loading.stack_pressure_Pa=1e6,abc"], ["loading.stack_pressure_Pa = 'abc'"]),
    (["--set", "loading.stack_pressure_Pa=1e6,,2e6"], ["empty value"]),
    (["-j", "0", "--set", "loading.stack_pressure_Pa=1e6,2e6"], ["-j 0"]),
])
def test_bad_input_one_line_before_any_run(tmp_path, args, fragments):
    out = tmp_path / "sweep"
    proc = run_cli("sweep", FLAT, "-o", str(out), *args)
    assert_one_line_error(proc, *fragments)
    assert not out.exists()  # nothing ran, nothing written


def test_long_names_stay_short_and_distinct():
    many = [f"section.key_with_a_long_name_{i}=1.000000001,2.000000002" for i in range(8)]
    points = build_points(parse_axes(many))
    assert len(points) == 256 and len({p.name for p in points}) == 256
    assert max(len(p.name) for p in points) <= 150


def test_refuses_a_foreign_output_folder(tmp_path):
    (tmp_path / "mine.txt").write_text("precious")
    proc = run_cli("sweep", FLAT, "-o", str(tmp_path), "--set", "loading.stack_pressure_Pa=1e6,2e6")
    assert_one_line_error(proc, "not an ecmsim sweep folder")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["mine.txt"]


def _rows(out: Path) -> list[dict]:
    with (out / "sweep.csv").open() as fh:
        return list(csv.DictReader(fh))


def _ran(stdout: str) -> set[str]:
    return {ln.split("run: ", 1)[1].split(" (")[0] for ln in stdout.splitlines() if ln.startswith("[sweep] run: ")}


def _adopted(stdout: str) -> set[str]:
    return {ln[len("[sweep] "):].split(": the complete result", 1)[0] for ln in stdout.splitlines()
            if ": the complete result a killed run left in " in ln}


def _dead_pid() -> int:
    """The id of a process that has ended (not reused within a test)."""
    child = subprocess.Popen([sys.executable, "-c", ""])
    child.wait()
    return child.pid


def test_sweep_restart_after_kill_runs_only_missing_points(tmp_path):
    """Kill the whole sweep (SIGKILL to its process group, as a scheduler does) once the first point
    has finished; the rerun runs exactly the points without a complete summary.json, leaves the
    finished ones untouched, and the table has every point with the right answer."""
    out = tmp_path / "sweep"
    args = [sys.executable, "-m", "ecmsim", "sweep", FLAT, "-o", str(out), "-j", "1",
            "--set", f"loading.stack_pressure_Pa={','.join(PRESSURES)}", *FAST]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(args, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
                            start_new_session=True)
    points = out / "points"
    names = {f"stack_pressure_Pa={v}" for v in PRESSURES}
    deadline = time.monotonic() + 120
    try:
        # a point's summary.json is written into its staging folder <name>.partial-* first and the
        # folder renamed afterwards: only the final names count as finished
        while not any((points / n / "summary.json").exists() for n in names) and time.monotonic() < deadline:
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
    done_before = {n: (points / n / "summary.json").read_bytes() for n in names
                   if (points / n / "summary.json").exists()}
    assert done_before and set(done_before) < names, done_before.keys()

    # whatever the kill caught mid-run: make sure one point looks interrupted (staging folder left)
    missing = sorted(names - set(done_before))
    planted = points / f"{missing[0]}.partial-{_dead_pid()}-abcdef"
    planted.mkdir(exist_ok=True)
    (planted / "mesh.msh").write_text("half written")
    rerun = run_cli("sweep", FLAT, "-o", str(out), "-j", "2",
                    "--set", f"loading.stack_pressure_Pa={','.join(PRESSURES)}", *FAST)
    assert rerun.returncode == 0, rerun.stderr
    # a point the kill caught between writing its manifest and its rename is put in place, not run
    assert _ran(rerun.stdout) | _adopted(rerun.stdout) == names - set(done_before)
    assert missing[0] in _ran(rerun.stdout)
    for name in done_before:
        assert f"skip (finished): {name}" in rerun.stdout
        assert (points / name / "summary.json").read_bytes() == done_before[name]  # not rerun
    # no staging folder is left: the planted one was removed, a complete one adopted
    assert not list(points.glob("*.partial*"))
    rows = _rows(out)
    assert [r["status"] for r in rows] == ["ok"] * len(PRESSURES)
    for row in rows:
        assert float(row["interface_normal_stress_mean_Pa"]) == pytest.approx(
            -float(row["loading.stack_pressure_Pa"]), rel=1e-9, abs=0)
    assert (out / "sweep.png").read_bytes()[:4] == b"\x89PNG"

    again = run_cli("sweep", FLAT, "-o", str(out), "--set", f"loading.stack_pressure_Pa={','.join(PRESSURES)}",
                    *FAST)
    assert again.returncode == 0 and _ran(again.stdout) == set()
    # a changed input (the scenario file, another fixed value) has another hash: the point is stale
    point = build_points(parse_axes([f"loading.stack_pressure_Pa={PRESSURES[0]}", *FAST[1::2]]))[0]
    validate_points(Path(FLAT), [point])
    assert finished(points / f"stack_pressure_Pa={PRESSURES[0]}", point.input_hash)
    changed = build_points(parse_axes([f"loading.stack_pressure_Pa={PRESSURES[0]}", *FAST[1::2],
                                       "loading.temperature_K=300"]))[0]
    validate_points(Path(FLAT), [changed])
    assert not finished(points / f"stack_pressure_Pa={PRESSURES[0]}", changed.input_hash)


def test_a_complete_result_left_in_staging_is_put_in_place_not_run_again(tmp_path):
    """A run killed between writing its result's manifest and renaming its staging folder left the whole
    result in ``<name>.partial-<pid>-*``: the rerun puts it in place (same bytes) instead of running the point.
    One of another input (another hash) or without a manifest is removed and the point runs; one whose
    writer still runs is left alone."""
    out = tmp_path / "sweep"
    sweep = ["sweep", FLAT, "-o", str(out), "--set", f"loading.stack_pressure_Pa={','.join(PRESSURES[:2])}", *FAST]
    first = run_cli(*sweep)
    assert first.returncode == 0, first.stderr
    points = out / "points"
    kept, stale = (f"stack_pressure_Pa={v}" for v in PRESSURES[:2])
    summary = (points / kept / "summary.json").read_bytes()
    dead = _dead_pid()
    (points / kept).rename(points / f"{kept}.partial-{dead}-aaaaaa")
    (points / stale).rename(points / f"{stale}.partial-{dead}-bbbbbb")
    doc = json.loads((points / f"{stale}.partial-{dead}-bbbbbb" / "summary.json").read_text())
    doc["input_hash_sha256"] = "0" * 64     # the result of another input
    (points / f"{stale}.partial-{dead}-bbbbbb" / "summary.json").write_text(json.dumps(doc))
    live = points / f"{stale}.partial-{os.getpid()}-cccccc"     # a run of this point still writing
    live.mkdir()
    assert read_manifest(points / f"{kept}.partial-{dead}-aaaaaa") is not None

    rerun = run_cli(*sweep)
    assert rerun.returncode == 0, rerun.stderr
    assert _adopted(rerun.stdout) == {kept} and _ran(rerun.stdout) == {stale}
    assert (points / kept / "summary.json").read_bytes() == summary
    assert sorted(p.name for p in points.glob("*.partial*")) == [live.name]
    assert [r["status"] for r in _rows(out)] == ["ok", "ok"]


def test_a_failing_point_is_reported_and_the_others_gathered(tmp_path):
    """A point that fails at run time, where validation cannot see it (an image file that is not
    there: the schema does not open files), is status 'failed' with an empty metric row; the other
    points are gathered."""
    out = tmp_path / "sweep"
    proc = run_cli("sweep", str(ROOT / "scenarios" / "li_sn_pll_cycled_image.toml"), "-o", str(out),
                   "--set", "geometry.path=../meshes/li_sn_pll_cycled.png,../meshes/no_such_image.png", *FAST)
    assert proc.returncode == 1
    assert "1 point(s) failed: path=" in proc.stderr and "no_such_image" in proc.stderr
    rows = _rows(out)
    failed = [r for r in rows if r["status"] == "failed"]
    assert len(failed) == 1 and "no_such_image" in failed[0]["point"]
    assert failed[0]["interface_normal_stress_mean_Pa"] == ""
    assert [r["status"] for r in rows if r is not failed[0]] == ["ok"]
    assert "error" in (out / "logs" / f"{failed[0]['point']}.log").read_text()


@pytest.mark.mpi
def test_sweep_under_mpirun_deals_points_to_ranks(tmp_path, have_mpirun):
    """mpirun -n 2 ecmsim sweep: each rank runs its share of the points as single-process runs."""
    from conftest import read_summary, run_cli_mpi

    out = tmp_path / "sweep"
    proc = run_cli_mpi(2, "sweep", FLAT, "-o", str(out), "--set", "loading.stack_pressure_Pa=1e6,2e6,3e6", *FAST)
    assert proc.returncode == 0, proc.stderr
    assert "(rank 0)" in proc.stdout and "(rank 1)" in proc.stdout
    rows = _rows(out)
    assert [r["status"] for r in rows] == ["ok"] * 3
    for row in rows:
        summary = read_summary(out / "points" / row["point"])
        assert summary["provenance"]["mpi_ranks"] == 1
        assert summary["metrics"]["interface_normal_stress_mean_Pa"] == pytest.approx(
            -float(row["loading.stack_pressure_Pa"]), rel=1e-9, abs=0)


def test_a_folder_named_ecmsim_in_the_current_folder_does_not_shadow_the_package(tmp_path):
    """Started from a folder that holds a folder named ``ecmsim`` (a result folder, say), every point
    used to die with ImportError: the points ran as ``python -m ecmsim`` with the current folder
    first on the path. The sweep runs as a user starts it, through the ``ecmsim`` script; the
    folder here even holds an ``__init__.py`` (a copy of a package, a user's module)."""
    (tmp_path / "ecmsim").mkdir()
    (tmp_path / "ecmsim" / "notes.txt").write_text("my results")
    (tmp_path / "ecmsim" / "__init__.py").write_text("raise ImportError(\"cannot import name '__version__'\")\n")
    script = Path(sys.executable).with_name("ecmsim")
    proc = subprocess.run([str(script), "sweep", FLAT, "-o", "sw", "-j", "1", "--set",
                           "loading.stack_pressure_Pa=1e6", *FAST], cwd=tmp_path, capture_output=True, text=True,
                          timeout=300, env={k: v for k, v in os.environ.items() if k != "PYTHONPATH"})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert _rows(tmp_path / "sw")[0]["status"] == "ok"


def test_gather_keeps_integer_metrics_and_trusts_only_the_same_input(tmp_path):
    """sweep.csv: every scalar metric, integers (counts) as well as floats; a point whose summary
    belongs to another input (a stale folder) is 'failed', never another input's numbers."""
    from ecmsim.studies.sweep import Axis, Point, gather

    axes = [Axis("loading.stack_pressure_Pa", ("1e6", "2e6"))]
    points = [Point("p1", {"loading.stack_pressure_Pa": "1e6"}, input_hash="h1"),
              Point("p2", {"loading.stack_pressure_Pa": "2e6"}, input_hash="h2")]
    for name, digest in (("p1", "h1"), ("p2", "stale")):
        (tmp_path / "points" / name).mkdir(parents=True)
        (tmp_path / "points" / name / "summary.json").write_text(json.dumps(
            {"input_hash_sha256": digest, "metrics": {"mean_Pa": -2.4e6, "fbg_peak_count": 3, "flag": True,
                                                      "peaks_nm": [1.0, 2.0]}}))
    gather(tmp_path, points, axes)
    rows = _rows(tmp_path)
    assert [r["status"] for r in rows] == ["ok", "failed"]
    assert rows[0]["fbg_peak_count"] == "3" and rows[0]["mean_Pa"] == "-2400000.0"
    assert rows[1]["fbg_peak_count"] == "" and rows[1]["mean_Pa"] == ""
    assert "flag" not in rows[0] and "peaks_nm" not in rows[0]
    assert not finished(tmp_path / "points" / "p2", "h2") and finished(tmp_path / "points" / "p1", "h1")
