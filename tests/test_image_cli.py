"""``ecmsim mesh`` through a real process: files written, and bad input -> one line, exit 2."""

from __future__ import annotations

import json

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli
from geometry_helpers import MESHES

from ecmsim.geometry import synthetic as syn


def run(*args: str, cwd=None):
    return run_cli("mesh", *args, cwd=cwd, timeout=120)


def test_mesh_command_writes_mesh_report_and_preview(tmp_path):
    out = tmp_path / "cycled.msh"
    done = run(str(MESHES / "li_pll_cycled.png"), "--window", "20um", "--size", "1um", "--interface-size",
               "0.25um", "-o", str(out))
    assert done.returncode == 0, done.stderr
    report = json.loads(out.with_suffix(".report.json").read_text())
    assert out.is_file() and out.with_suffix(".preview.png").is_file()
    assert report["window_width_m"] == pytest.approx(20e-6)
    assert report["cells"] > 500 and report["void_count"] > 0
    assert report["mesh_vs_image"]["void_area_fraction_difference"] == pytest.approx(0, abs=2e-4)
    assert "void fraction" in done.stdout


@pytest.fixture(scope="module")
def files(tmp_path_factory):
    from PIL import Image

    d = tmp_path_factory.mktemp("bad")
    (d / "notes.png").write_text("this is not an image\n")
    rng = np.random.default_rng(0)
    Image.fromarray(np.clip(rng.normal(120, 10, (120, 200)), 0, 255).astype(np.uint8)).save(d / "grey.png")
    scene = syn.Scene(120, 200, np.full(200, 60.0), interfacial_voids=[(100, 40, 12)])
    Image.fromarray(syn.render(scene.labels(), seed=1)).save(d / "ok.png")   # no sidecar: no pixel size
    Image.fromarray(scene.labels()).save(d / "labels.png")
    return d


@pytest.mark.parametrize("case, args, words", [
    ("unreadable", ["notes.png", "--pixel-size", "20nm"], ["notes.png", "cannot read"]),
    ("missing", ["absent.tif", "--pixel-size", "20nm"], ["absent.tif", "not found"]),
    ("one phase", ["grey.png", "--pixel-size", "20nm"], ["one phase only"]),
    ("no pixel size", ["ok.png"], ["pixel size missing"]),
    ("zero pixel size", ["ok.png", "--pixel-size", "0nm"], ["--pixel-size", "> 0"]),
    ("negative pixel size", ["ok.png", "--pixel-size=-5nm"], ["--pixel-size", "> 0"]),
    ("pixel size without unit", ["ok.png", "--pixel-size", "20"], ["--pixel-size", "unit"]),
    ("window too wide", ["ok.png", "--pixel-size", "50nm", "--window", "20um"], ["not inside the image"]),
    ("window off the side", ["ok.png", "--pixel-size", "50nm", "--window", "2um", "--window-x", "9um"],
     ["not inside the image"]),
    ("label not in image", ["labels.png", "--pixel-size", "50nm", "--labels", "void=0,electrode=7,electrolyte=2"],
     ["electrode = 7", "does not occur"]),
    ("unknown phase", ["ok.png", "--pixel-size", "50nm", "--phases", "void,electrolyte,cathode"],
     ["unknown phase 'cathode'"]),
])
def test_bad_input_is_one_line_and_exit_code_2(files, tmp_path, case, args, words):
    assert_one_line_error(run(*args, "-o", str(tmp_path / "out.msh"), cwd=files), *words)
    assert not (tmp_path / "out.msh").exists()


def test_stack_cli_writes_tetrahedra_and_3d_report(tmp_path):
    import json

    import tifffile

    from ecmsim.geometry import synthetic as syn

    lab = np.full((6, 40, 50), 2, np.uint8)
    lab[:, :18] = 1
    lab[:, 16:20, 20:30] = 0
    grey = np.stack([syn.render_phases(lab[k], {0: 40, 1: 95, 2: 165}, seed=k, noise_sigma=8, shading=0,
                                       curtains=0) for k in range(6)])
    tifffile.imwrite(tmp_path / "s.tif", grey)
    proc = run_cli("mesh", str(tmp_path / "s.tif"), "--pixel-size", "50nm", "--slice-spacing", "50nm",
                   "--phases", "void,electrode,electrolyte", "--no-align", "-o", str(tmp_path / "s.msh"))
    assert proc.returncode == 0, proc.stderr
    report = json.loads((tmp_path / "s.report.json").read_text())
    assert report["dimension"] == 3 and report["tetrahedra"] > 0
    assert report["void_volume_fraction"] == pytest.approx((lab == 0).mean(), abs=0.01)
