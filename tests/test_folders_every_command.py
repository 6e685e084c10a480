"""Every command that writes follows the result-folder rules of docs/outputs.md through the one
mechanism of ``ecmsim.io.folders``: ``mesh`` (2D and 3D), ``sweep``, ``study``, ``validate``,
``report`` and ``fbg`` never replace a file they did not write, and replace their own.

Each case here replaced a user's file before issue 23 (the fuzz run's "data loss" list).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from conftest import SCENARIOS
from conftest import call_cli as call

from ecmsim import cli
from ecmsim.io.folders import MANIFEST

FLAT = SCENARIOS / "flat_bilayer.toml"
FAST = ("--set", "output.fields=false", "--set", "output.plots=false", "--set", "mesh.size_m=4e-6",
        "--set", "mesh.interface_size_m=2e-6")


def refused(status: int, err: str, *fragments: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert status == 2 and len(lines) == 1 and "Traceback" not in err, (status, err)
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


@pytest.fixture
def stack(tmp_path):
    import tifffile

    lab = np.full((4, 12, 12), 2, np.uint8)
    lab[:, :6] = 1
    tifffile.imwrite(tmp_path / "s.tif", lab, photometric="minisblack")
    return tmp_path / "s.tif"


def test_mesh_3d_keeps_a_user_mesh_and_report(capsys, tmp_path, stack):
    folder = tmp_path / "work"
    folder.mkdir()
    (folder / "s.msh").write_text("my own mesh")
    (folder / "s.report.json").write_text('{"mine": true}')
    before = snapshot(folder)
    args = ("mesh", stack, "--pixel-size", "50nm", "--slice-spacing", "50nm", "--labels",
            "electrode=1,electrolyte=2", "--no-align")
    status, _, err = call(capsys, *args, "-o", folder / "s.msh")
    refused(status, err, "s.msh", "ecmsim did not write it")
    assert snapshot(folder) == before
    status, _, err = call(capsys, *args, "-o", folder / "t.msh")
    assert status == 0, err
    assert json.loads((folder / "t.report.json").read_text())["files"] == ["t.msh"]
    status, _, err = call(capsys, *args, "-o", folder / "t.msh")   # its own: replaced
    assert status == 0, err
    assert {k: v for k, v in snapshot(folder).items() if k.startswith("s.")} == before
    assert not [p for p in folder.iterdir() if ".partial" in p.name]


def test_mesh_to_the_root_is_refused(capsys, stack):
    status, _, err = call(capsys, "mesh", stack, "--pixel-size", "50nm", "--slice-spacing", "50nm", "-o", "/")
    refused(status, err, "root")


def test_sweep_keeps_a_users_sweep_files(capsys, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "sweep.json").write_text('{"my": "notes"}')
    (folder / "sweep.csv").write_text("my,own,table\n")
    before = snapshot(folder)
    status, _, err = call(capsys, "sweep", FLAT, "-o", folder, "--set", "loading.stack_pressure_Pa=1e6,2e6")
    refused(status, err, "not an ecmsim sweep folder")
    assert snapshot(folder) == before


def test_a_sweep_folder_is_a_sweeps_only(capsys, tmp_path):
    """A study's folder is not a sweep's, and a sweep's manifest names what it writes."""
    folder = tmp_path / "s"
    folder.mkdir()
    (folder / MANIFEST).write_text(json.dumps({"written_by": "ecmsim", "command": "study", "files": []}))
    status, _, err = call(capsys, "sweep", FLAT, "-o", folder, "--set", "loading.stack_pressure_Pa=1e6,2e6")
    refused(status, err, "'ecmsim study'")


def test_study_keeps_a_users_study_files(capsys, tmp_path):
    study = tmp_path / "s.toml"
    study.write_text(f'title = "t"\n[[run]]\nname = "a"\nscenario = "{FLAT}"\n')
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "study.json").write_text("{}")
    (folder / "report.html").write_text("<p>my own page</p>")
    before = snapshot(folder)
    status, _, err = call(capsys, "study", study, "-o", folder)
    refused(status, err, "not an ecmsim study folder")
    assert snapshot(folder) == before


def test_validate_keeps_a_users_report_and_replaces_its_own(capsys, tmp_path):
    from ecmsim.studies import checks, validate

    cases = tmp_path / "cases"
    cases.mkdir()
    (cases / "toy.toml").write_text('quantity = "toy"\nclass = "analytic"\nunit = "Pa"\nquick = true\n'
                                    '[reference]\nkind = "closed-form"\nvalue = 1.0\nsource = "toy"\n'
                                    '[tolerance]\nrelative = 0.1\nreason = "toy"\n[simulated]\ncheck = "toy_one"\n')
    checks.CHECKS["toy_one"] = checks.CheckSpec(lambda ctx: checks.Result(1.0))
    try:
        out = tmp_path / "out"
        out.mkdir()
        (out / "report.md").write_text("# my own notes\n")
        before = snapshot(out)
        with pytest.raises(Exception, match="report.md: exists and ecmsim did not write it"):
            validate.run_validation(out, cases_dir=cases, echo=lambda s: None)
        assert snapshot(out) == before
        validate.run_validation(out, cases_dir=cases, echo=lambda s: None, overwrite=True)
        assert "ecmsim validation report" in (out / "report.md").read_text()
        validate.run_validation(out, cases_dir=cases, echo=lambda s: None)   # its own now: replaced
        assert (out / "figures" / "toy.png").read_bytes()[:4] == b"\x89PNG"
        assert not [p for p in out.iterdir() if ".partial" in p.name]
    finally:
        del checks.CHECKS["toy_one"]


def test_shipped_validation_report_is_validates_own():
    """The repository's validation/report/ (report.md, report.json, figures) is listed as validate's, so
    ``ecmsim validate -o validation/report`` replaces it (and the files of other scripts stay foreign)."""
    from ecmsim.studies.validate import ROOT

    data = json.loads((ROOT / "validation" / "report" / ".report.md.ecmsim.json").read_text())
    assert data["command"] == "validate" and {"report.md", "report.json"} <= set(data["files"])
    assert "figures/kirsch_hole.png" in data["files"]
    assert not any("fbg_cell_li_sweep" in f for f in data["files"])


@pytest.fixture(scope="module")
def result(tmp_path_factory):
    out = tmp_path_factory.mktemp("res") / "flat"
    assert cli.main(["run", str(FLAT), "-o", str(out), "-q", *FAST]) == 0
    return out


def test_report_keeps_a_user_file(capsys, tmp_path, result):
    mine = tmp_path / "report.html"
    mine.write_text("<p>my page</p>")
    status, _, err = call(capsys, "report", result, "-o", mine)
    refused(status, err, "report.html", "ecmsim did not write it")
    assert mine.read_text() == "<p>my page</p>"
    before = snapshot(result)
    status, _, err = call(capsys, "report", result, "-o", result / "summary.json")
    refused(status, err, "HTML")
    assert snapshot(result) == before
    status, _, err = call(capsys, "report", result, "-o", mine, "--overwrite")
    assert status == 0, err
    assert "<html" in mine.read_text()
    status, _, err = call(capsys, "report", result, "-o", mine)   # its own now
    assert status == 0, err


def test_report_into_an_existing_folder_and_the_root(capsys, tmp_path, result):
    folder = tmp_path / "pages"
    folder.mkdir()
    status, _, err = call(capsys, "report", result, "-o", folder)
    assert status == 0, err
    assert (folder / "report.html").read_text().startswith("<!DOCTYPE html>") or "<html" in (
        folder / "report.html").read_text()
    assert not list(tmp_path.glob("*.partial*")) and not list(folder.glob("*.partial*"))
    status, _, err = call(capsys, "report", result, "-o", "/")
    refused(status, err, "root")


def test_fbg_invert_keeps_a_user_folder(capsys, tmp_path):
    folder = tmp_path / "mine"
    folder.mkdir()
    (folder / "spectrum.csv").write_text("mine\n")
    spectrum = tmp_path / "in.csv"
    spectrum.write_text("wavelength_m,reflectance\n" + "".join(
        f"{1.549e-6 + i * 1e-11:.6e},{np.exp(-((i - 100) / 10) ** 2):.6f}\n" for i in range(200)))
    before = snapshot(folder)
    status, _, err = call(capsys, "fbg", "invert", spectrum, "-o", folder)
    refused(status, err, "spectrum.csv", "ecmsim did not write")
    assert snapshot(folder) == before
