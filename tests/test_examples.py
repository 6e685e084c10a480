"""The README's commands that need shipped inputs: the example FBG profile exists and runs."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import numpy as np
from conftest import ROOT, run_cli


def test_shipped_fbg_profile_is_what_its_script_writes(tmp_path):
    shipped = np.loadtxt(ROOT / "examples" / "fbg_profile.csv", delimiter=",", skiprows=1)
    code = ("import runpy, numpy as np, sys; sys.path.insert(0, 'examples'); "
            "m = runpy.run_path('examples/make_fbg_profile.py'); np.save(sys.argv[1], m['profile']())")
    subprocess.run([sys.executable, "-c", code, str(tmp_path / "p.npy")], cwd=ROOT, check=True)
    assert np.allclose(np.load(tmp_path / "p.npy"), shipped, rtol=1e-8, atol=0)


def test_readme_fbg_command_runs(tmp_path):
    """The README's fbg profile gives a peak. The README command runs whole (with the decomposition,
    2/3 of its CPU) in tests/test_docs_commands.py::test_command_block_runs[README.md:44]; here the
    simulated spectrum's peaks are enough (the decomposition does not make them)."""
    line = next(ln for ln in (ROOT / "README.md").read_text().splitlines() if "ecmsim fbg " in ln)
    profile = re.search(r"ecmsim fbg (\S+)", line).group(1)
    proc = run_cli("fbg", str(ROOT / profile), "-o", str(tmp_path / "fbg"), "--no-decompose")
    assert proc.returncode == 0, proc.stderr
    metrics = json.loads((tmp_path / "fbg" / "summary.json").read_text())["metrics"]
    assert metrics["fbg_peak_count"] >= 1


def test_no_reference_to_files_outside_the_repository():
    outside = ("../" + "ARCHITECTURE", "ARCHITECTURE " + "stage", "/work/" + "shared", "../" + "shared")
    for path in [*ROOT.glob("*.md"), *ROOT.glob("docs/*.md"), *ROOT.glob("ecmsim/**/*.py"),
                 *ROOT.glob("tests/*.py")]:
        text = path.read_text()
        for fragment in outside:
            assert fragment not in text, (path, fragment)
