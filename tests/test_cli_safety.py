"""The command line never shows a traceback and never loses a user's file.

Each case of the issue "never lose a user's data, never show a traceback" has a test here
(run in-process through ``ecmsim.cli.main`` to stay fast; a few through a real process):
the top-level guard (exit 2 for input, 1 with a ``--debug`` pointer for bugs), help and
``--version``, the traceback cases, and user folders surviving ``run``, ``mesh`` and ``fbg``.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np
import pytest
from conftest import SCENARIOS, assert_one_line_error, run_cli
from conftest import call_cli as call

from ecmsim import cli
from ecmsim.core.errors import InputFileError

FLAT = SCENARIOS / "flat_bilayer.toml"
IMAGE = Path(__file__).resolve().parents[1] / "meshes" / "li_pll_cycled.png"
PROFILE = "z_m,exx,eyy,ezz\n0,0,0,0\n0.01,1e-4,-2e-4,0\n"


def one_line(status: int, err: str, *fragments: str, code: int = 2) -> str:
    lines = [ln for ln in err.splitlines() if ln.strip()]
    assert status == code, (status, err)
    assert "Traceback" not in err, err
    assert len(lines) == 1, err
    for frag in fragments:
        assert frag in lines[0], (frag, lines[0])
    return lines[0]


def snapshot(folder: Path) -> dict[str, bytes | None]:
    return {p.relative_to(folder).as_posix(): (p.read_bytes() if p.is_file() else None)
            for p in sorted(folder.rglob("*"))}


def user_folder(folder: Path, extra: dict[str, str] | None = None) -> dict[str, bytes | None]:
    """A folder of the user's own files: a summary.json of their own, a script, binary data."""
    (folder / "analysis").mkdir(parents=True)
    (folder / "summary.json").write_text('{"metrics": {"mine": 1}}\n')
    (folder / "spectrum.csv").write_text("my,measured,spectrum\n")
    (folder / "analysis" / "fit.py").write_text("print('mine')\n")
    (folder / "raw.bin").write_bytes(bytes(range(256)) * 4)
    for name, text in (extra or {}).items():
        (folder / name).write_text(text)
    return snapshot(folder)


@pytest.fixture(scope="module")
def image(tmp_path_factory):
    """A small synthetic cross-section (electrolyte, electrode, one interfacial void)."""
    from PIL import Image

    from ecmsim.geometry import synthetic as syn

    d = tmp_path_factory.mktemp("img")
    scene = syn.Scene(60, 100, np.full(100, 30.0), interfacial_voids=[(50, 20, 6)])
    Image.fromarray(syn.render(scene.labels(), seed=1)).save(d / "cell.png")
    return d / "cell.png"


MESH_ARGS = ("--pixel-size", "100nm", "--size", "1um")


@pytest.fixture
def profile(tmp_path):
    p = tmp_path / "p.csv"
    p.write_text(PROFILE)
    return p


# -------------------------------------------------------------------------- guard, help, version

def test_version_and_plain_help(capsys):
    status, out, _ = call(capsys, "--version")
    assert status == 0 and out.strip().startswith("ecmsim 0.")
    status, out, _ = call(capsys, "--help")
    assert status == 0 and "``" not in out and "run --keys" in out
    status, out, _ = call(capsys, "mesh", "--help")
    assert status == 0 and "``" not in out


def test_run_help_names_sections_and_where_every_key_is(capsys):
    status, out, _ = call(capsys, "run", "--help")
    assert status == 0
    for section in ("[geometry]", "[materials]", "[loading]", "[interface]", "[mesh]", "[solver]", "[output]"):
        assert section in out
    assert "ecmsim run --keys" in out and "--overwrite" in out


def test_run_keys_lists_every_schema_key_with_unit_and_range(capsys):
    from ecmsim.scenario import schema_keys

    status, out, _ = call(capsys, "run", "--keys")
    assert status == 0
    names = [line.split()[0] for line in out.splitlines()]
    assert names == [f"{s}.{k}" if s else k for s, k in schema_keys()]
    line = next(ln for ln in out.splitlines() if ln.startswith("loading.stack_pressure_Pa"))
    assert "[Pa]" in line and "> 0" in line and "<= 1e+09" in line and "required" in line
    kind = next(ln for ln in out.splitlines() if ln.startswith("geometry.kind"))
    assert "flat | sinusoidal" in kind


def test_a_bug_is_one_line_exit_1_with_a_debug_pointer(capsys, monkeypatch):
    from ecmsim import materials

    monkeypatch.setattr(materials, "format_table", lambda: {}["boom"])
    status, _, err = call(capsys, "materials")
    line = one_line(status, err, "internal error", "ecmsim materials", "KeyError", "--debug", code=1)
    assert "cli/main.py:" in line  # where it failed: the innermost frame of ecmsim's code, from the package
    with pytest.raises(KeyError):  # --debug: the traceback, before or after the command
        cli.main(["materials", "--debug"])
    with pytest.raises(KeyError):
        cli.main(["--debug", "materials"])


def test_an_os_error_is_input_not_a_bug(capsys, monkeypatch):
    from ecmsim import materials

    def denied():
        raise PermissionError(13, "Permission denied", "/some/file")

    monkeypatch.setattr(materials, "format_table", denied)
    status, _, err = call(capsys, "materials")
    one_line(status, err, "/some/file", "Permission denied")


def test_command_line_mistakes_are_one_line(capsys):
    for args in (["bogus"], ["run", FLAT, "--nope"], ["materials", "a", "b"], ["fbg"], ["mesh"],
                 ["mesh", IMAGE, "--median-px", "five"], []):
        status, _, err = call(capsys, *args)
        one_line(status, err, "ecmsim: error:", "--help")


# ------------------------------------------------------------------------------ traceback cases

def test_binary_scenario_file(capsys, tmp_path):
    bad = tmp_path / "image.toml"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n\x00\x00\xff\xfe")
    status, _, err = call(capsys, "run", bad, "-o", tmp_path / "o")
    one_line(status, err, "image.toml", "not a text file in UTF-8")


def test_bom_prefixed_scenario_file_is_read(tmp_path):
    from ecmsim import scenario

    bom = tmp_path / "windows.toml"
    bom.write_bytes(b"\xef\xbb\xbf" + FLAT.read_bytes())
    assert scenario.load(bom).loading.stack_pressure_Pa == 2.4e6


@pytest.mark.parametrize("target", [".", "/", ".."])
def test_output_current_folder_or_root_is_refused(capsys, tmp_path, monkeypatch, target, profile):
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    for command in (["run", FLAT], ["fbg", profile]):
        status, _, err = call(capsys, *command, "-o", target)
        one_line(status, err, f"-o {target}", "not a result folder")
    assert snapshot(tmp_path) == before


def deny_staging(monkeypatch):
    """The folder that would hold the result is read-only (also when the tests run as root)."""
    real = Path.mkdir

    def mkdir(self, *args, **kwargs):
        if ".partial-" in self.name:
            raise PermissionError(13, "Permission denied", str(self))
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Path, "mkdir", mkdir)


def test_read_only_output_folder_run(capsys, tmp_path, monkeypatch):
    deny_staging(monkeypatch)
    status, _, err = call(capsys, "run", FLAT, "-o", tmp_path / "ro" / "out", "-q")
    one_line(status, err, "ro/out", "Permission denied")


def test_read_only_output_folder_fbg(capsys, tmp_path, monkeypatch, profile):
    deny_staging(monkeypatch)
    status, _, err = call(capsys, "fbg", profile, "-o", tmp_path / "ro")
    one_line(status, err, "ro", "Permission denied")


def test_read_only_output_folder_mesh(capsys, tmp_path, monkeypatch, image):
    deny_staging(monkeypatch)
    status, _, err = call(capsys, "mesh", image, *MESH_ARGS, "-o", tmp_path / "ro" / "m.msh")
    one_line(status, err, "Permission denied")


def test_read_only_output_folder_for_real(tmp_path, profile):
    """A real read-only folder. Root writes anywhere: as root (CI) the command runs without the
    capabilities that let root ignore permissions (setpriv), so the folder is read-only to it too."""
    import shutil
    import subprocess
    import sys

    from conftest import ROOT

    ro = tmp_path / "ro"
    ro.mkdir()
    os.chmod(ro, 0o555)
    cmd = [sys.executable, "-m", "ecmsim", "fbg", str(profile), "-o", str(ro / "out")]
    if os.geteuid() == 0:
        setpriv = shutil.which("setpriv")
        assert setpriv, "setpriv (util-linux) is needed to test a read-only folder as root"
        cmd = [setpriv, "--bounding-set=-dac_override,-dac_read_search,-fowner", *cmd]
    try:
        proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT, timeout=300,
                              env=dict(os.environ, PYTHONPATH=str(ROOT)))
        assert_one_line_error(proc, "Permission denied")
        assert list(ro.iterdir()) == []
    finally:
        os.chmod(ro, 0o755)


def test_pixel_size_overflow(capsys, tmp_path):
    status, _, err = call(capsys, "mesh", IMAGE, "--pixel-size", "1e300m", "-o", tmp_path / "m.msh")
    one_line(status, err, "--pixel-size", "< 1 m")


def test_profile_with_huge_z(capsys, tmp_path):
    p = tmp_path / "far.csv"
    p.write_text("z_m,exx,eyy,ezz\n0,0,0,0\n1e298,0,0,0\n")
    status, _, err = call(capsys, "fbg", p, "-o", tmp_path / "o")
    one_line(status, err, "far.csv", "z_m = 1e+298", "100 m")


@pytest.mark.parametrize("kwargs, words", [
    (dict(z_m=[0, 0.01, 0.02], exx=[0, 1e-4], eyy=0, ezz=0), ["exx has 2 value(s) for 3 positions"]),
    (dict(z_m=[0, 0.01], exx=0, eyy=0, ezz=0, T_K=[300, 300, 300]), ["T_K has 3 value(s) for 2"]),
    (dict(z_m=[0, 0.01], exx=["a", "b"], eyy=0, ezz=0), ["exx must hold real numbers"]),
    (dict(z_m=["x", "y"], exx=0, eyy=0, ezz=0), ["z_m must hold real numbers"]),
    (dict(z_m=[0, 0.01], exx=0, eyy=0, ezz=[1e-4 + 1j, 0]), ["ezz must hold real numbers"]),
    (dict(z_m=[[0, 1], [2, 3]], exx=0, eyy=0, ezz=0), ["at least two points along z_m (got shape (2, 2))"]),
])
def test_python_api_profile_arrays(kwargs, words):
    from ecmsim.fbg import StrainProfile

    with pytest.raises(InputFileError) as info:
        StrainProfile(**kwargs)
    for w in words:
        assert w in str(info.value)


def test_python_api_peak_finder_arrays():
    from ecmsim.fbg.analysis import find_peaks
    from ecmsim.fbg.parameters import Interrogator

    with pytest.raises(InputFileError, match="same length"):
        find_peaks(np.linspace(1.5e-6, 1.6e-6, 5), np.zeros(4), Interrogator(), 1.55e-6)
    with pytest.raises(InputFileError, match="reflectance must hold real numbers"):
        find_peaks([1.5e-6, 1.6e-6], ["high", "low"], Interrogator(), 1.55e-6)


def test_tex_like_title_is_drawn_as_text(tmp_path):
    from ecmsim.core.figures import plain_text, pyplot as _pyplot, run_title

    plt = _pyplot()
    for title in ("$\\frac{$", "a_b^c$", "$x$ and $", "cost \\$5"):
        fig, ax = plt.subplots()
        ax.set_title(plain_text(title))
        fig.savefig(tmp_path / "t.png")  # would raise ValueError for "$\frac{$" unescaped
        plt.close(fig)
    assert run_title("Flat", ["loading.stack_pressure_Pa=3.5e6", "mesh.size_m = 2e-6", "title=x"]) == \
        "Flat (--set stack_pressure_Pa=3.5e6, size_m=2e-6)"


def test_plot_failure_keeps_the_result_and_titles_name_overrides(capsys, tmp_path, monkeypatch):
    """A TeX-like title, and a figure that fails after the whole solve: the result is written,
    the failed figure left out with a warning, the titles name the --set overrides."""
    from ecmsim.io import plots

    titles = []
    real_map = plots.stress_map
    monkeypatch.setattr(plots, "stress_map", lambda p, s, prof, title: (titles.append(title), real_map(p, s, prof,
                                                                                                      title)))
    monkeypatch.setattr(plots, "interface_stress_plot", lambda *a: 1 / 0)
    out = tmp_path / "o"
    status, _, err = call(capsys, "run", FLAT, "-o", out, "-q", "--set", 'title="$\\\\frac{$ a_b^c$"',
                          "--set", "output.fields=false", "--set", "loading.stack_pressure_Pa=3e6")
    assert status == 0, err
    assert "interface_stress.png not drawn" in err and "Traceback" not in err
    summary = json.loads((out / "summary.json").read_text())
    assert "interface_stress.png" not in summary["files"] and "stress_map.png" in summary["files"]
    assert all((out / f).exists() for f in summary["files"])
    assert titles == ["$\\frac{$ a_b^c$ (--set fields=false, stack_pressure_Pa=3e6)"]


# --------------------------------------------------------------- user folders survive, per command

def test_run_keeps_a_user_folder_byte_for_byte(capsys, tmp_path):
    out = tmp_path / "mine"
    before = user_folder(out)
    status, _, err = call(capsys, "run", FLAT, "-o", out, "-q")
    one_line(status, err, "mine", "ecmsim did not write", "--overwrite")
    assert snapshot(out) == before
    # --overwrite: the run's files go in, every other file of the user stays as it was
    status, _, err = call(capsys, "run", FLAT, "-o", out, "-q", "--overwrite", "--set", "output.fields=false",
                          "--set", "output.plots=false")
    assert status == 0, err
    after = snapshot(out)
    assert {k: v for k, v in after.items() if k in before and k != "summary.json"} == \
        {k: v for k, v in before.items() if k != "summary.json"}
    assert "interface_profile.csv" in after


def test_run_keeps_an_old_result_with_added_files(capsys, tmp_path):
    out = tmp_path / "r"
    status, _, err = call(capsys, "run", FLAT, "-o", out, "-q", "--set", "output.fields=false", "--set",
                          "output.plots=false")
    assert status == 0, err
    (out / "my_notes.md").write_text("what I saw")
    before = snapshot(out)
    status, _, err = call(capsys, "run", FLAT, "-o", out, "-q")
    one_line(status, err, "my_notes.md")
    assert snapshot(out) == before


def test_fbg_keeps_a_user_folder_byte_for_byte(capsys, tmp_path, profile):
    out = tmp_path / "mine"
    before = user_folder(out)
    status, _, err = call(capsys, "fbg", profile, "-o", out)
    one_line(status, err, "ecmsim did not write", "--overwrite")
    assert snapshot(out) == before
    status, _, err = call(capsys, "fbg", profile, "-o", out, "--overwrite", "-q")
    assert status == 0, err
    after = snapshot(out)
    kept = [k for k in before if k not in ("summary.json", "spectrum.csv")]
    assert all(after[k] == before[k] for k in kept) and after["spectrum.csv"] != before["spectrum.csv"]
    # an fbg result is not replaced by a run
    fbg_out = tmp_path / "fbg"
    assert call(capsys, "fbg", profile, "-o", fbg_out, "-q")[0] == 0
    before = snapshot(fbg_out)
    status, _, err = call(capsys, "run", FLAT, "-o", fbg_out, "-q")
    one_line(status, err, "ecmsim fbg")
    assert snapshot(fbg_out) == before


def test_mesh_keeps_user_files_byte_for_byte(capsys, tmp_path, image):
    folder = tmp_path / "meshes"
    before = user_folder(folder, {"cell.msh": "my own mesh", "cell.report.json": "{}"})
    status, _, err = call(capsys, "mesh", image, *MESH_ARGS, "-o", folder)
    one_line(status, err, "cell", "ecmsim did not write it", "--overwrite")
    assert snapshot(folder) == before
    # a fresh name in the same folder: written beside the user's files, which stay as they were
    status, out, err = call(capsys, "mesh", image, *MESH_ARGS, "-o", folder / "new.msh")
    assert status == 0, err
    assert "meshing cell.png (about" in out  # a progress line before the long stage
    after = snapshot(folder)
    assert {k: after[k] for k in before} == before
    assert {"new.msh", "new.report.json", "new.preview.png"} <= set(after)
    assert json.loads(after["new.report.json"])["files"] == ["new.msh", "new.preview.png"]
    status, _, err = call(capsys, "mesh", image, *MESH_ARGS, "-o", folder / "new.msh", "--no-preview")
    assert status == 0, err  # its own earlier mesh is replaced; the old preview is its own, so it goes too
    assert sorted(snapshot(folder)) == sorted(set(after) - {"new.preview.png"})


def test_default_output_folder_names_the_overrides(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    status, out, err = call(capsys, "run", FLAT, "--set", "loading.stack_pressure_Pa=3e6", "--set",
                            "output.fields=false", "--set", "output.plots=false")
    assert status == 0, err
    folder = tmp_path / "results" / "flat_bilayer+stack_pressure_Pa=3e6+fields=false+plots=false"
    assert json.loads((folder / "summary.json").read_text())["metrics"]["stack_pressure_Pa"] == 3e6
    assert "meshing" in out and "solving" in out  # progress before the long stages


def test_real_process_shows_no_traceback(tmp_path):
    bad = tmp_path / "x.toml"
    bad.write_bytes(b"\xff\xfe\x00binary")
    assert_one_line_error(run_cli("run", str(bad)), "not a text file")
    assert_one_line_error(run_cli("run", str(FLAT), "-o", "/"), "not a result folder")
