"""The Python API: ``ecmsim.run(scenario, set={...}, out=...)`` returns the results as an object,
``ecmsim.load`` reads a folder back, and ``import ecmsim`` stays light."""

from __future__ import annotations

import os
import subprocess
import sys

import numpy as np
import pytest
from conftest import ROOT, SCENARIOS

import ecmsim
from ecmsim.core.errors import EcmsimError, ScenarioError

COARSE = {"mesh.size_m": 4e-6, "mesh.interface_size_m": 2e-6, "output.plots": False}


def test_import_ecmsim_loads_no_heavy_package():
    probe = ("import sys, ecmsim; heavy = sorted({m.split('.')[0] for m in sys.modules} & {'dolfinx', 'scipy', "
             "'pyvista', 'matplotlib', 'pydantic', 'meshio', 'petsc4py', 'tqdm'}); print(heavy, callable(ecmsim.run))")
    out = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, cwd=ROOT,
                         env=dict(os.environ, PYTHONPATH=str(ROOT)))
    assert out.stdout.strip() == "[] True", out.stderr


def test_run_returns_the_results(tmp_path):
    """The flat bilayer under 3 MPa (set as a Python number): the closed form sigma_nn = -p on the
    interface, the stress tensor and principal stresses in the fields, the same object from load."""
    r = ecmsim.run(SCENARIOS / "flat_bilayer.toml", set={"loading.stack_pressure_Pa": 3e6, **COARSE},
                   out=tmp_path / "p3")
    assert r.metrics["interface_normal_stress_mean_Pa"] == pytest.approx(-3e6, rel=1e-9, abs=0)
    assert r.summary["scenario"]["loading"]["stack_pressure_Pa"] == 3e6
    assert r.fields.cell_data["stress_Pa"].shape[1] == 6
    assert np.allclose(r.fields.cell_data["principal_stress_Pa"][:, 2] / 3e6, -1.0, rtol=0, atol=1e-8)
    assert r.history is None and r.spectra is None
    again = ecmsim.load(tmp_path / "p3")
    assert again.metrics == r.metrics
    # ecmsim.run is also the pipeline's subpackage: importing it keeps the call working
    import importlib
    importlib.import_module("ecmsim.run.pipeline")
    assert callable(ecmsim.run) and ecmsim.run.pipeline.run_scenario is not None


def test_plot_draws_every_view(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    r = ecmsim.run(SCENARIOS / "li_creep_hold.toml", out=tmp_path / "creep",
                   set={**COARSE, "mesh.size_m": 5e-6, "mesh.interface_size_m": 2.5e-6,
                        "protocol.steps": ["Hold for 1 s", "Rest for 1 s"]})
    assert r.history["time_s"][-1] == pytest.approx(2.0, rel=1e-12, abs=0)
    for what, kwargs in (("stress", {"component": "sigma_3"}), ("stress", {"time_s": 0.0}), ("interface", {}),
                         ("history", {"column": "electrode_von_mises_mean_Pa"})):
        ax = r.plot(what, **kwargs)
        assert ax.has_data(), what
    with pytest.raises(EcmsimError, match="no spectrum"):
        r.plot("spectrum")
    with pytest.raises(EcmsimError, match="choose one of"):
        r.plot("stress", component="zz_typo")


def test_bad_overrides_name_the_key(tmp_path):
    with pytest.raises(ScenarioError, match="stack_pressure_Pa"):
        ecmsim.run(SCENARIOS / "flat_bilayer.toml", set={"loading.stack_pressure_Pa": -1.0}, out=tmp_path / "x")
    with pytest.raises(ScenarioError, match="finite"):
        ecmsim.run(SCENARIOS / "flat_bilayer.toml", set={"loading.stack_pressure_Pa": float("nan")},
                   out=tmp_path / "y")
    assert not (tmp_path / "x").exists() and not (tmp_path / "y").exists()


def test_every_python_block_of_docs_api_runs(tmp_path, monkeypatch, capsys):
    """docs/api.md's examples as a reader pastes them, in order, in a folder that sees scenarios/."""
    import re

    import matplotlib
    matplotlib.use("Agg")
    (tmp_path / "scenarios").symlink_to(ROOT / "scenarios")
    (tmp_path / "meshes").symlink_to(ROOT / "meshes")
    monkeypatch.chdir(tmp_path)
    doc = ROOT / "docs" / "api.md"
    blocks = re.findall(r"```python\n(.*?)```", doc.read_text(), flags=re.S)
    assert len(blocks) >= 3
    for code in blocks:
        exec(compile(code, str(doc), "exec"), {})
    printed = capsys.readouterr().out
    assert "1 MPa: mean sigma_nn -1.000 MPa" in printed and "3 MPa: mean sigma_nn -3.000 MPa" in printed
    assert (tmp_path / "results/flat_3MPa/api_plots.png").read_bytes()[:4] == b"\x89PNG"
