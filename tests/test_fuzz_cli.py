"""Fuzz: generated bad inputs thrown at every command (``run``, ``mesh``, ``fbg``, ``materials``).

Each command gets at least 50 inputs (seeded, so a failure reproduces): broken and binary
files, every scenario / FBG key with a wrong value, garbage lengths and options, output folders
that may not be written. Every one must end with exit status 2, exactly one line on stderr,
and no traceback; the cases run in-process through ``ecmsim.cli.main`` to stay fast.
"""

from __future__ import annotations

import random
import string
from pathlib import Path

import numpy as np
import pytest
from conftest import SCENARIOS

from ecmsim import cli

FLAT = SCENARIOS / "flat_bilayer.toml"
SEED = 8
GOOD_PROFILE = "z_m,exx,eyy,ezz\n0,0,0,0\n0.01,1e-4,-2e-4,0\n"


def outcome(capsys, args: list) -> str | None:
    """None if ``ecmsim ARGS`` ended as bad input should, else what went wrong."""
    try:
        status = cli.main([str(a) for a in args])
    except SystemExit as exit_:
        status = exit_.code
    except BaseException as err:  # noqa: BLE001 - reported as a fuzz failure
        return f"raised {type(err).__name__}: {err}"
    _, err = capsys.readouterr()
    lines = [ln for ln in err.splitlines() if ln.strip()]
    if status != 2 or len(lines) != 1 or "Traceback" in err or not lines[0].startswith("ecmsim: error: "):
        return f"status {status}, stderr {err!r}"
    return None


def check_all(capsys, cases: list[list], minimum: int = 50) -> None:
    assert len(cases) >= minimum, len(cases)
    failures = [(case, why) for case in cases if (why := outcome(capsys, case)) is not None]
    assert not failures, "\n".join(f"{' '.join(map(str, c))}: {w}" for c, w in failures[:20])


def garbage(rng: random.Random, n: int, alphabet: str = string.printable + "µ€\x00") -> str:
    return "".join(rng.choice(alphabet) for _ in range(n))


def random_files(folder: Path, rng: random.Random, suffix: str, count: int) -> list[Path]:
    """Binary noise, text noise, BOM plus noise, empty files."""
    files = []
    for k in range(count):
        p = folder / f"noise{k}{suffix}"
        kind = k % 4
        if kind == 0:
            p.write_bytes(bytes(rng.randrange(256) for _ in range(rng.randrange(1, 400))))
        elif kind == 1:
            p.write_text(garbage(rng, rng.randrange(1, 300)), encoding="utf-8")
        elif kind == 2:
            p.write_bytes(b"\xef\xbb\xbf" + garbage(rng, 80, string.ascii_letters + "=[]\n,.").encode())
        else:
            p.write_bytes(b"")
        files.append(p)
    return files


def bad_outputs(tmp: Path) -> list[list]:
    """``-o`` targets that must be refused: a file, the root, '.', '..', a user folder."""
    (tmp / "a_file").write_text("x")
    user = tmp / "user_folder"
    user.mkdir(exist_ok=True)
    (user / "notes.txt").write_text("mine")
    return [["-o", tmp / "a_file"], ["-o", "/"], ["-o", "."], ["-o", ".."], ["-o", user]]


# ------------------------------------------------------------------------------------------ run

def run_cases(tmp: Path) -> list[list]:
    from ecmsim.scenario import schema_keys

    rng = random.Random(SEED)
    bad_values = ["-1", "'text'", "nan", "inf", "1e400", "[1, 2]", "{ a = 1 }", "-1e-300"]
    cases = []
    for i, (section, key) in enumerate(schema_keys()):
        if key == "title" or (section, key) == ("geometry", "kind"):
            continue
        name = f"{section}.{key}"
        cases.append(["run", FLAT, "--set", f"{name}={bad_values[i % len(bad_values)]}", "-o", tmp / "o"])
    cases += [["run", FLAT, "--set", s, "-o", tmp / "o"] for s in
              ("noequals", "=5", "a..b=1", "nosuch.key=1", "loading=3", "geometry.kind='hexagonal'",
               "materials.electrode={ youngs_modulus_Pa = -1, poissons_ratio = 0.3, source = 'x' }",
               "materials.electrolyte={ youngs_modulus_Pa = 1e9, poissons_ratio = 0.7, source = 'x' }",
               "mesh.size_m=15e-6", "mesh.max_cells=10")]
    text = FLAT.read_text()
    for k in range(12):  # truncated copies: never complete
        p = tmp / f"cut{k}.toml"
        p.write_text(text[: rng.randrange(0, int(0.7 * len(text)))])
        cases.append(["run", p, "-o", tmp / "o"])
    for k, (old, new) in enumerate([("[loading]", "[loadings]"), ("kind = \"flat\"", "kind = flat"),
                                    ("2.4e6", "\"2.4e6\""), ("[mesh]", "[mesh]\n[mesh]"), ("40e-6", "40 um")]):
        p = tmp / f"edit{k}.toml"
        p.write_text(text.replace(old, new, 1))
        cases.append(["run", p, "-o", tmp / "o"])
    cases += [["run", f, "-o", tmp / "o"] for f in random_files(tmp, rng, ".toml", 12)]
    cases += [["run", tmp / "missing.toml"], ["run", tmp], ["run", FLAT, "--bogus"], ["run"]]
    cases += [["run", FLAT, *o] for o in bad_outputs(tmp)]
    return cases


def test_fuzz_run(capsys, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    check_all(capsys, run_cases(tmp_path))


# ----------------------------------------------------------------------------------------- mesh

@pytest.fixture(scope="module")
def image(tmp_path_factory):
    from PIL import Image

    from ecmsim.geometry import synthetic as syn

    d = tmp_path_factory.mktemp("img")
    scene = syn.Scene(60, 100, np.full(100, 30.0), interfacial_voids=[(50, 20, 6)])
    Image.fromarray(syn.render(scene.labels(), seed=1)).save(d / "cell.png")
    return d / "cell.png"


def test_fuzz_mesh(capsys, tmp_path, image):
    rng = random.Random(SEED)
    out = ["-o", tmp_path / "m.msh"]
    lengths = ["0nm", "-5nm", "1e300m", "nan m", "inf nm", "20", "20 parsecs", "", "1e-400m", "1m", "5 5nm"]
    lengths += [garbage(rng, rng.randrange(1, 12)) for _ in range(8)]
    cases = [["mesh", image, "--pixel-size", v, *out] for v in lengths]
    px = ["--pixel-size", "100nm"]
    for option in ("--window", "--window-height", "--size", "--interface-size", "--tip-size", "--refine-distance"):
        cases += [["mesh", image, *px, option, v, *out] for v in ("abc", "-1um", "0um", "2m")]
    cases += [["mesh", image, *px, "--window", "999um", *out], ["mesh", image, *px, "--window-x", "99um", *out],
              ["mesh", image, *px, "--levels", "a,b", *out], ["mesh", image, *px, "--levels", "10,20", *out],
              ["mesh", image, *px, "--phases", "x,y", *out], ["mesh", image, *px, "--phases", "void", *out],
              ["mesh", image, *px, "--labels", "void=a", *out], ["mesh", image, *px, "--labels", "foo", *out],
              ["mesh", image, *px, "--median-px", "five", *out], ["mesh", image, *px, "--max-cells", "10", *out],
              ["mesh", image, *px, "--electrode-side", "left", *out]]
    cases += [["mesh", f, *px, *out] for f in random_files(tmp_path, rng, ".png", 8)]
    truncated = tmp_path / "truncated.png"
    truncated.write_bytes(image.read_bytes()[:200])
    cases += [["mesh", truncated, *px, *out], ["mesh", tmp_path / "absent.png", *px, *out],
              ["mesh", tmp_path, *px, *out]]
    (tmp_path / "dir.msh").mkdir()
    (tmp_path / "file").write_text("x")
    cases += [["mesh", image, *px, "-o", tmp_path / "dir.msh"], ["mesh", image, *px, "-o", tmp_path / "file"]]
    check_all(capsys, cases)


# ------------------------------------------------------------------------------------------ fbg

def test_fuzz_fbg(capsys, tmp_path):
    from ecmsim.fbg import parameters

    rng = random.Random(SEED)
    good = tmp_path / "good.csv"
    good.write_text(GOOD_PROFILE)
    out = ["-o", tmp_path / "f"]
    bodies = ["z_m,exx,eyy\n0,0,0\n1,0,0\n", "z_m,exx,eyy,ezz\n0,a,0,0\n0.01,0,0,0\n",
              "z_m,exx,eyy,ezz\n0,nan,0,0\n0.01,0,0,0\n", "z_m,exx,eyy,ezz\n0,inf,0,0\n0.01,0,0,0\n",
              "z_m,exx,eyy,ezz\n0.01,0,0,0\n0,0,0,0\n", "z_m,exx,eyy,ezz\n0,0,0,0\n",
              "z_m,exx,eyy,ezz\n0,0.5,0,0\n0.01,0,0,0\n", "z_m,exx,eyy,ezz\n0,0,0,0\n1e298,0,0,0\n",
              "z_m,exx,eyy,ezz,T_K\n0,0,0,0,-5\n0.01,0,0,0,300\n", "z_m,exx,eyy,ezz,colour\n0,0,0,0,1\n0.01,0,0,0,1\n",
              "z_m,z_m,exx,eyy,ezz\n0,0,0,0,0\n", "z_m,exx,eyy,ezz\n",
              "z_m,exx,eyy,ezz,step\n0,0,0,0,0.5\n0.01,0,0,0,0.5\n",
              "z_m,exx,eyy,ezz\n0,0,0,0\n0.01,0,0\n", "z_m;exx;eyy;ezz\n0;0;0;0\n0.01;0;0;0\n",
              "z_m,exx,eyy,ezz\n0,0,0,0\n0,0,0,0\n", "z_m,exx,eyy,ezz\n-1e300,0,0,0\n1e300,0,0,0\n",
              "\ufeffz_m,exx,eyy,ezz\n0,0,0,0\n1e299,0,0,0\n"]
    cases = []
    for k, body in enumerate(bodies):
        p = tmp_path / f"bad{k}.csv"
        p.write_text(body, encoding="utf-8")
        cases.append(["fbg", p, *out])
    cases += [["fbg", f, *out] for f in random_files(tmp_path, rng, ".csv", 10)]
    bad_values = ["-1", "'text'", "nan", "1e400", "[1]", "true"]
    for i, key in enumerate(parameters.known_keys()):
        if key == "grating.centre_m":
            continue
        cases.append(["fbg", good, "--set", f"{key}={bad_values[i % len(bad_values)]}", *out])
    cases += [["fbg", good, "--set", s, *out] for s in ("nokey=1", "grating.nope=1", "=1", "x", "grating.length_m=")]
    measured = tmp_path / "measured.csv"
    measured.write_text("wavelength_nm,R\n1550,a\n")
    cases += [["fbg", good, "--measured", measured, *out], ["fbg", good, "--measured", tmp_path / "none.csv", *out],
              ["fbg", tmp_path / "absent.csv", *out], ["fbg", tmp_path / "*.nothing", *out], ["fbg", good]]
    cases += [["fbg", good, *o] for o in bad_outputs(tmp_path)]
    check_all(capsys, cases)


# ------------------------------------------------------------------------------------ materials

def test_fuzz_materials(capsys):
    rng = random.Random(SEED)
    cases = [["materials", garbage(rng, rng.randrange(1, 20), string.ascii_letters + string.digits + "_-µ ")]
             for _ in range(45)]
    cases += [["materials", "Li", "extra"], ["materials", "--nope"], ["materials", "li "], ["materials", ""],
              ["materials", "\x00"], ["materials", "../Li"], ["materials", "Li", "--set", "x=1"]]
    check_all(capsys, cases)


def test_fuzz_sample_in_real_processes(tmp_path):
    """A few of the generated inputs through a real ``python -m ecmsim`` (stderr as a user sees it:
    warnings and all)."""
    from conftest import assert_one_line_error, run_cli

    rng = random.Random(SEED)
    cases = run_cases(tmp_path)
    sample = [cases[i] for i in (0, len(cases) // 2, -1)]
    noise = random_files(tmp_path, rng, ".csv", 2)[0]
    sample += [["fbg", noise, "-o", tmp_path / "f"], ["materials", garbage(rng, 8, string.ascii_letters)],
               ["mesh", noise, "--pixel-size", "1e300m"]]
    for case in sample:
        assert_one_line_error(run_cli(*map(str, case), cwd=tmp_path))
