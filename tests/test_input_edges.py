"""The bad inputs of issue 23's fuzz run that ended as a bug (exit 1), ran forever or were taken
without a word: each one line and exit status 2 now, or a plausibility warning (a legal but
unlikely value: a slip of units) on stderr and in the result's ``warnings``."""

from __future__ import annotations

import json
import math
import struct
import zlib
from pathlib import Path

import numpy as np
import pytest
from conftest import SCENARIOS, assert_one_line_error, run_cli
from conftest import call_cli as call


FLAT = SCENARIOS / "flat_bilayer.toml"
CREEP = SCENARIOS / "li_creep_hold.toml"
QUIET = ["-q", "--set", "output.fields=false", "--set", "output.plots=false", "--set", "mesh.size_m=4e-6",
         "--set", "mesh.interface_size_m=2e-6"]


def one_line(status: int, err: str, *fragments: str) -> None:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert status == 2 and len(lines) == 1 and lines[0].startswith("ecmsim: error: "), (status, err)
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])


def png_header(path: Path, width: int, height: int) -> Path:
    """A PNG whose header declares width x height (the data is a few bytes: a decompression bomb)."""
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0))
                     + chunk(b"IDAT", zlib.compress(b"\x00" * 64)) + chunk(b"IEND", b""))
    return path


def spectrum(path: Path, values) -> Path:
    path.write_text("wavelength_m,reflectance\n" + "".join(f"{1.549e-6 + i * 1e-11:.6e},{v:.6g}\n"
                                                            for i, v in enumerate(values)))
    return path


PEAK = np.exp(-((np.arange(200) - 100) / 10.0) ** 2)


def test_deeply_nested_toml(capsys, tmp_path):
    (tmp_path / "n.toml").write_text("a = " + "[" * 600 + "]" * 600 + "\n")
    one_line(*call(capsys, "run", tmp_path / "n.toml")[::2], "nested too deeply")
    one_line(*call(capsys, "run", FLAT, "--set", "a.b=" + "[" * 600 + "]" * 600)[::2], "nested too deeply")


def test_debug_keeps_the_input_exit_status(capsys, tmp_path):
    (tmp_path / "n.toml").write_text("a = " + "[" * 600 + "]" * 600 + "\n")
    status, _, err = call(capsys, "--debug", "run", tmp_path / "n.toml")
    assert status == 2 and "Traceback" in err and err.strip().endswith("nested too deeply to be a scenario file")


@pytest.mark.parametrize("depth", ["1e-300", "1e-9"])
def test_a_window_thinner_than_one_element(capsys, depth):
    one_line(*call(capsys, "run", FLAT, "--set", f"geometry.depth_m={depth}")[::2], "geometry.depth_m",
             "thinner than one element")


def test_image_bombs_and_huge_images(capsys, tmp_path):
    one_line(*call(capsys, "mesh", png_header(tmp_path / "b.png", 20000, 20000), "--pixel-size", "10nm")[::2],
             "Mpx", "crop")
    # in a real process: PIL's own DecompressionBombWarning would be a second line on stderr
    proc = run_cli("mesh", str(png_header(tmp_path / "h.png", 12000, 12000)), "--pixel-size", "10nm")
    assert_one_line_error(proc, "144 Mpx", "crop")


def test_spectra_that_cannot_be_inverted(capsys, tmp_path):
    one_line(*call(capsys, "fbg", "invert", spectrum(tmp_path / "flat.csv", np.zeros(200)), "-o",
                   tmp_path / "a")[::2], "holds no positive value")
    one_line(*call(capsys, "fbg", "invert", spectrum(tmp_path / "neg.csv", PEAK - 0.5), "-o", tmp_path / "b")[::2],
             "reflectance down to -0.5")
    assert not (tmp_path / "a").exists() and not (tmp_path / "b").exists()


def test_a_reflectance_above_one_is_said(capsys, tmp_path):
    status, _, err = call(capsys, "fbg", "invert", spectrum(tmp_path / "five.csv", 5 * PEAK), "-o", tmp_path / "c")
    assert status == 0 and "warning" in err and "reflectance up to 5" in err, err
    assert "reflectance up to 5" in json.loads((tmp_path / "c" / "summary.json").read_text())["warnings"][0]


@pytest.mark.parametrize("text", ["\ufeffquantity = 'x'\n".encode("utf-16"), bytes(range(256))])
def test_binary_and_utf16_case_files(capsys, tmp_path, text):
    (tmp_path / "cases").mkdir()
    (tmp_path / "cases" / "c.toml").write_bytes(text)
    one_line(*call(capsys, "validate", "--cases", tmp_path / "cases", "-o", tmp_path / "o")[::2], "c.toml",
             "not a text file in UTF-8")


@pytest.mark.parametrize("summary, fragment", [([1, 2], "a JSON list"), ({"metrics": "abc"}, "'metrics' is a JSON str")])
def test_report_of_a_summary_that_is_not_ecmsims(capsys, tmp_path, summary, fragment):
    (tmp_path / "r").mkdir()
    (tmp_path / "r" / "summary.json").write_text(json.dumps(summary))
    one_line(*call(capsys, "report", tmp_path / "r", "-o", tmp_path / "x.html")[::2], fragment)


def test_a_step_that_never_ends(capsys):
    one_line(*call(capsys, "run", CREEP, "--set", 'protocol.steps=["Rest for 1e300 s"]')[::2], "1e300 s", "<= 1e+09 s")
    one_line(*call(capsys, "run", CREEP, "--set", 'protocol.steps=["Rest for 1e9 s"]', "--set",
                   "protocol.dt_max_s=10")[::2], "protocol.dt_max_s", "time steps")


@pytest.mark.parametrize("modulus", ["1e3", "2e12"])
def test_youngs_modulus_limits_are_inclusive_as_documented(capsys, tmp_path, modulus):
    status, _, err = call(capsys, "run", FLAT, "-o", tmp_path / "o", *QUIET, "--set", "loading.stack_pressure_Pa=10",
                          "--set", f'materials.electrode={{youngs_modulus_Pa={modulus}, poissons_ratio=0.3, source="x"}}')
    assert status == 0, err
    one_line(*call(capsys, "run", FLAT, "--set", "materials.electrode={youngs_modulus_Pa=2.1e12, poissons_ratio=0.3, "
                   'source="x"}')[::2], "youngs_modulus_Pa", "must be <= 2000000000000.0")


def test_a_missing_geometry_kind_is_flat_as_keys_says(capsys, tmp_path):
    text = "\n".join(ln for ln in FLAT.read_text().splitlines() if not ln.startswith("kind"))
    (tmp_path / "s.toml").write_text(text)
    status, _, err = call(capsys, "run", tmp_path / "s.toml", "-o", tmp_path / "o", *QUIET)
    assert status == 0, err
    assert json.loads((tmp_path / "o" / "summary.json").read_text())["scenario"]["geometry"]["kind"] == "flat"
    from ecmsim.cli.main import keys_text
    assert "(default 'flat')" in next(ln for ln in keys_text().splitlines() if ln.startswith("geometry.kind"))


def test_resume_of_a_static_run_says_why(capsys, tmp_path):
    one_line(*call(capsys, "run", FLAT, "-o", tmp_path / "o", "--resume", *QUIET)[::2], "no time steps to resume")


# ------------------------------------------------------------------------------------ checkpoints

CYCLING = """title = "c"
[geometry]
kind = "flat"
width_m = 20e-6
electrode_thickness_m = 10e-6
electrolyte_thickness_m = 10e-6
[materials]
electrode = "Li"
electrolyte = "PLL"
[loading]
stack_pressure_Pa = 2.4e6
[mesh]
size_m = 5e-6
[electrochem]
applied_current_density_A_m2 = 2.0
[creep]
enabled = false
[output]
fields = false
plots = false
[protocol]
steps = ["Plate at 0.2 mA/cm2 for 10 minutes"]
dt_initial_s = 200.0
dt_max_s = 200.0
checkpoint_interval_s = 0.0
"""


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """A checkpoint folder of a finished 3-step run (kept by killing the run after step 2's)."""
    import os
    import subprocess
    import sys

    from conftest import ROOT

    tmp = tmp_path_factory.mktemp("ckpt")
    (tmp / "c.toml").write_text(CYCLING)
    env = {**os.environ, "ECMSIM_TEST_KILL_AFTER_CHECKPOINT": "2", "PYTHONPATH": str(ROOT)}
    proc = subprocess.run([sys.executable, "-m", "ecmsim", "run", str(tmp / "c.toml"), "-o", str(tmp / "out"), "-q"],
                          env=env, capture_output=True, text=True)
    assert proc.returncode == -9, proc.stderr
    return tmp


def _damaged(checkpoint: Path, tmp_path: Path, damage) -> tuple[Path, Path]:
    import shutil

    shutil.copy(checkpoint / "c.toml", tmp_path / "c.toml")
    shutil.copytree(checkpoint / "out.checkpoint", tmp_path / "out.checkpoint")
    damage(tmp_path / "out.checkpoint" / "step-2")
    return tmp_path / "c.toml", tmp_path / "out"


def _loop(step: Path, **changes) -> None:
    meta = json.loads((step / "loop.json").read_text())
    meta.update(changes)
    (step / "loop.json").write_text(json.dumps(meta))


@pytest.mark.parametrize("damage, fragment", [
    (lambda s: (s / "loop.json").write_text((s / "loop.json").read_text()[:40]), "loop.json"),
    (lambda s: (s / "loop.json").write_text("[1, 2]"), "not an object"),
    (lambda s: (s / "rank0.npz").write_bytes((s / "rank0.npz").read_bytes()[:100]), "damaged"),
    (lambda s: _loop(s, t_s=math.nan), "time t = nan"),
    (lambda s: _loop(s, t_s=1e6, step_end_s=1e6), "outside the protocol"),
    (lambda s: (s.parent / "step-xyz").mkdir(), None),
], ids=["loop-truncated", "loop-list", "npz-truncated", "t-nan", "t-beyond-end", "stray-folder"])
def test_damaged_checkpoints_are_one_line(capsys, tmp_path, checkpoint, damage, fragment):
    scenario, out = _damaged(checkpoint, tmp_path, damage)
    status, _, err = call(capsys, "run", scenario, "-o", out, "--resume", "-q")
    if fragment is None:    # a stray folder is not a checkpoint: the real one is resumed
        assert status == 0, err
        return
    one_line(status, err, "--resume", fragment)


# ------------------------------------------------------------------------------------ plausibility

@pytest.mark.parametrize("setting, fragment", [
    ("loading.stack_pressure_Pa=2.4", "did you mean 2.4 MPa"),
    ("loading.temperature_K=60", "did you mean 60 °C = 333.15 K"),
])
def test_plausibility_warnings_on_stderr_and_in_the_summary(capsys, tmp_path, setting, fragment):
    status, _, err = call(capsys, "run", FLAT, "-o", tmp_path / "o", *QUIET, "--set", setting)
    assert status == 0, err
    lines = [ln for ln in err.splitlines() if fragment in ln]
    assert len(lines) == 1 and lines[0].startswith("ecmsim: warning: "), err
    warnings = json.loads((tmp_path / "o" / "summary.json").read_text())["warnings"]
    assert any(fragment in w for w in warnings), warnings


def test_a_window_of_millimetres_is_said_before_meshing():
    """A 40 mm window (meant 40 um) meshes for a minute at 4 um: the warning comes before that."""
    from ecmsim import scenario
    from ecmsim.scenario.guards import plausibility_warnings

    scn = scenario.load(FLAT, ["geometry.width_m=40e-3", "mesh.size_m=4e-6"])
    (line,) = plausibility_warnings(scn)
    assert "geometry.width_m = 0.04 m" in line and "did you mean 0.04 mm" in line
    assert plausibility_warnings(scenario.load(FLAT)) == []


@pytest.mark.parametrize("sets, warned", [
    ([], True),                                                    # the sinusoid's creeping Li in contact at 0.5
    (["interface.nitsche_parameter=0.99"], True),
    (["interface.nitsche_parameter=1"], False),
    (["creep.enabled=false"], False),                              # nothing creeps
    (["interface.model=bonded", "interface.nitsche_parameter=0.5"], None),   # contact keys refused when bonded
])
def test_a_small_nitsche_parameter_with_creep_is_said(sets, warned):
    """Below gamma_0 = 1 (none tried) a creeping contact rests on the facet stress more than on the gap
    (docs/contact.md): said, not refused; and only where a body creeps in contact."""
    from ecmsim import scenario
    from ecmsim.core.errors import EcmsimError
    from ecmsim.scenario.guards import plausibility_warnings

    path = SCENARIOS / "cycling_li_sinusoid_contact.toml"
    if warned is None:
        with pytest.raises(EcmsimError, match="nitsche_parameter"):
            scenario.load(path, sets)
        return
    lines = plausibility_warnings(scenario.load(path, ["interface.nitsche_parameter=0.5", *sets]))
    if warned:
        (line,) = lines
        assert "interface.nitsche_parameter =" in line and "below 1 " in line and "creep" in line, line
    else:
        assert lines == []


def test_no_warning_at_the_reference_conditions(capsys, tmp_path):
    status, _, err = call(capsys, "run", FLAT, "-o", tmp_path / "o", *QUIET)
    assert status == 0 and "warning" not in err, err


def test_a_micrograph_pixel_of_micrometres_is_said(capsys, tmp_path):
    image = Path(__file__).resolve().parents[1] / "meshes" / "li_pll_cycled.png"
    status, _, err = call(capsys, "mesh", image, "--pixel-size", "2um", "-o", tmp_path / "m.msh", "--no-preview")
    assert status == 0, err
    assert "ecmsim: warning: --pixel-size = 2e-06 m is above 1 µm" in err
    assert any("above 1 µm" in w for w in json.loads((tmp_path / "m.report.json").read_text())["warnings"])


def test_a_profile_in_mm_and_celsius_is_said(capsys, tmp_path):
    (tmp_path / "p.csv").write_text("z_m,exx,eyy,ezz,T_K\n0,0,0,0,60\n10,1e-4,-2e-4,0,60\n")
    status, _, err = call(capsys, "fbg", tmp_path / "p.csv", "-o", tmp_path / "o", "-q")
    assert status == 0, err
    assert "is the z column in mm?" in err and "is it in °C?" in err
    assert len(json.loads((tmp_path / "o" / "summary.json").read_text())["warnings"]) == 2
