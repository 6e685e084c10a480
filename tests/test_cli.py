"""The command line: a full run's files, and bad input ending in one clear line and exit code 2."""

from __future__ import annotations

import json

import pytest

from conftest import SCENARIOS, assert_one_line_error, read_summary, run_cli

FLAT = str(SCENARIOS / "flat_bilayer.toml")
REQUIRED_METRICS = ("interface_normal_stress_mean_Pa", "interface_normal_stress_min_Pa",
                    "interface_normal_stress_max_Pa", "von_mises_max_Pa")


@pytest.fixture(scope="module")
def flat_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("runs") / "flat"
    proc = run_cli("run", FLAT, "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_run_writes_summary_fields_and_plots(flat_run):
    out, proc = flat_run
    summary = read_summary(out)
    for key in REQUIRED_METRICS:
        assert key in summary["metrics"]
    assert summary["metrics"]["interface_normal_stress_mean_Pa"] == pytest.approx(-2.4e6, rel=1e-9, abs=0)
    assert summary["scenario"]["loading"]["stack_pressure_Pa"] == 2.4e6
    assert len(summary["input_hash_sha256"]) == 64
    for pkg in ("ecmsim", "dolfinx", "petsc", "gmsh", "numpy"):
        assert pkg in summary["provenance"]
    assert summary["materials"]["electrode"]["sources"]["youngs_modulus_Pa"]
    for rel in summary["files"]:
        assert (out / rel).exists(), rel
    report = json.loads((out / "mesh.report.json").read_text())  # the mesh's report travels with the run
    assert report["cells"] == summary["mesh"]["cells"] and report["min_angle_deg"] > 20
    for png in ("stress_map.png", "interface_stress.png"):
        assert (out / png).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "mesh:" in proc.stdout and "solved:" in proc.stdout  # progress on stdout
    assert proc.stderr.strip() == ""
    assert not list(out.parent.glob(out.name + ".partial*"))


def test_fields_vtu_carries_the_region_and_boundary_tags(flat_run):
    from ecmsim import results
    r = results.load(flat_run[0])
    assert set(r.fields.cell_data["region"]) == {r.cell_tags["electrode"], r.cell_tags["electrolyte"]}
    assert {r.facet_tags[n] for n in ("top", "bottom", "left", "right", "interface")} == set(
        r.boundaries.cell_data["boundary"])


def test_set_overrides_pressure(tmp_path):
    out = tmp_path / "o"
    proc = run_cli("run", FLAT, "-o", str(out), "-q", "--set", "loading.stack_pressure_Pa=3e6",
                   "--set", "output.fields=false", "--set", "output.plots=false")
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout == "" and proc.stderr == ""  # -q
    m = read_summary(out)["metrics"]
    assert m["interface_normal_stress_mean_Pa"] == pytest.approx(-3e6, rel=1e-9, abs=0)
    assert not (out / "fields").exists()


def test_materials_command():
    proc = run_cli("materials")
    assert proc.returncode == 0
    assert "LiSn" in proc.stdout and "4.9" in proc.stdout
    proc = run_cli("materials", "silica")
    assert "p12" in proc.stdout and "0.252" in proc.stdout
    assert_one_line_error(run_cli("materials", "unobtainium"), "unknown material 'unobtainium'")


@pytest.mark.parametrize("args, fragments", [
    (["run", "scenarios/nope.toml"], ["scenarios/nope.toml", "not found"]),
    (["run", FLAT, "--set", "materials.electrode=Lithium"], ["materials.electrode = 'Lithium'", "unknown material"]),
    (["run", FLAT, "--set", "loading.stack_pressure_Pa=-1e6"], ["loading.stack_pressure_Pa = -1000000.0", "> 0"]),
    (["run", FLAT, "--set", "loading.stack_pressure_Pa=high"], ["loading.stack_pressure_Pa = 'high'", "number"]),
    (["run", FLAT, "--set", "loading.stack_presure_Pa=1e6"], ["unknown key 'loading.stack_presure_Pa'"]),
    (["run", FLAT, "--set", "mesh.max_cells=50"], ["triangles", "mesh.size_m = 1e-06 m", "limit mesh.max_cells = 50", "larger mesh size"]),
])
def test_bad_input_one_line_exit_2_no_results(tmp_path, args, fragments):
    out = tmp_path / "result"
    proc = run_cli(*args, "-o", str(out))
    assert_one_line_error(proc, *fragments)
    assert not out.exists()
    assert not list(out.parent.glob(out.name + ".partial*"))


def test_failed_run_keeps_previous_results(tmp_path, flat_run):
    out = tmp_path / "keep"
    assert run_cli("run", FLAT, "-o", str(out), "-q", "--set", "output.fields=false").returncode == 0
    before = (out / "summary.json").read_text()
    proc = run_cli("run", FLAT, "-o", str(out), "--set", "mesh.max_cells=50")
    assert proc.returncode == 2
    assert (out / "summary.json").read_text() == before


def test_refuses_to_replace_a_foreign_folder(tmp_path):
    out = tmp_path / "precious"
    out.mkdir()
    (out / "thesis.tex").write_text("do not delete")
    proc = run_cli("run", FLAT, "-o", str(out))
    assert_one_line_error(proc, "holds 'thesis.tex', which ecmsim did not write")
    assert (out / "thesis.tex").exists()


def test_summary_is_strict_json(flat_run):
    out, _ = flat_run
    json.loads((out / "summary.json").read_text(), parse_constant=lambda c: pytest.fail(f"non-JSON {c}"))
