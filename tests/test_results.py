"""Result files where people look: fields.vtu/pvd (pyvista, meshio), ecmsim.results.load, docs/results.md."""

from __future__ import annotations

import re

import numpy as np
import pytest
from conftest import ROOT, SCENARIOS, run_cli

from ecmsim import results
from ecmsim.core.errors import InputFileError
from ecmsim.scenario.guards import constrained_modulus

DOC = ROOT / "docs" / "results.md"


@pytest.fixture(scope="module")
def flat_dir(tmp_path_factory):
    """results/flat_bilayer as docs/results.md expects it, under a temporary working folder."""
    cwd = tmp_path_factory.mktemp("docs_cwd")
    proc = run_cli("run", str(SCENARIOS / "flat_bilayer.toml"), "-o", "results/flat_bilayer", "-q",
                   "--set", "mesh.size_m=2e-6", "--set", "mesh.interface_size_m=1e-6",
                   "--set", "output.plots=false", cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return cwd


def _python_blocks(text: str) -> list[str]:
    return re.findall(r"```python\n(.*?)```", text, flags=re.S)


def test_every_python_block_of_docs_results_runs(flat_dir, monkeypatch):
    monkeypatch.chdir(flat_dir)
    blocks = _python_blocks(DOC.read_text())
    assert len(blocks) >= 3
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), {})
    assert (flat_dir / "results/flat_bilayer/von_mises_pyvista.png").read_bytes()[:4] == b"\x89PNG"
    assert (flat_dir / "results/flat_bilayer/fields.vtk").exists()


def test_fields_vtu_matches_the_flat_bilayer_closed_form(flat_dir):
    """Uniaxial strain under rollers: u_y(top) = -p (t_e / M_e + t_s / M_s), sigma_yy = -p,
    sigma_xx = sigma_zz = -p nu / (1 - nu) in each layer, sigma_xy = 0."""
    r = results.load(flat_dir / "results/flat_bilayer")
    p = r.metrics["stack_pressure_Pa"]
    mats = r.summary["materials"]
    geo = r.summary["scenario"]["geometry"]
    grid = r.fields
    assert grid.celltypes[0] == 22  # VTK_QUADRATIC_TRIANGLE
    top = np.isclose(grid.points[:, 1], grid.points[:, 1].max(), rtol=1e-12, atol=0)
    assert top.sum() >= 3
    expected_top = -p * sum(geo[f"{name}_thickness_m"] / constrained_modulus(mats[name]["youngs_modulus_Pa"],
                                                                               mats[name]["poissons_ratio"])
                            for name in ("electrode", "electrolyte"))
    uy = grid.point_data["displacement_m"][:, 1]
    assert np.allclose(uy[top], expected_top, rtol=1e-8, atol=0)
    assert np.abs(grid.point_data["displacement_m"][:, 0]).max() < 1e-8 * abs(expected_top)
    for name in ("electrode", "electrolyte"):
        nu = mats[name]["poissons_ratio"]
        s = r.region(name).cell_data["stress_Pa"]
        assert np.allclose(s[:, 1], -p, rtol=1e-8, atol=0)
        assert np.allclose(s[:, [0, 2]], -p * nu / (1 - nu), rtol=1e-8, atol=0)
        assert np.abs(s[:, 3]).max() < 1e-8 * p
        vm = r.region(name).cell_data["von_mises_Pa"]
        assert np.allclose(vm, p * (1 - 2 * nu) / (1 - nu), rtol=1e-8, atol=0)


def test_interface_profile_csv_has_one_row_per_point_and_documented_columns(flat_dir):
    r = results.load(flat_dir / "results/flat_bilayer")
    prof = r.interface
    assert list(prof) == ["x_m", "y_m", "normal_stress_Pa", "shear_stress_Pa", "weight_m"]
    for column in prof:
        assert f"`{column}`" in DOC.read_text()
    xy = np.column_stack([prof["x_m"], prof["y_m"]])
    assert len(np.unique(xy, axis=0)) == len(xy)  # no repeated point (the old saw-tooth)
    assert np.all(np.diff(prof["x_m"]) > 0)
    assert prof["weight_m"].sum() == pytest.approx(r.summary["scenario"]["geometry"]["width_m"], rel=1e-12, abs=0)


def test_load_without_fields_reads_the_mesh_and_refuses_non_results(tmp_path):
    out = tmp_path / "nofields"
    proc = run_cli("run", str(SCENARIOS / "flat_bilayer.toml"), "-o", str(out), "-q", "--set", "mesh.size_m=4e-6",
                   "--set", "mesh.interface_size_m=4e-6", "--set", "output.fields=false", "--set", "output.plots=false")
    assert proc.returncode == 0, proc.stderr
    r = results.load(out)
    assert r.fields.n_cells == r.summary["mesh"]["cells"]
    assert r.region("electrode").n_cells + r.region("electrolyte").n_cells == r.fields.n_cells
    with pytest.raises(InputFileError, match="no region 'fibre'"):
        r.region("fibre")
    with pytest.raises(InputFileError, match="no summary.json"):
        results.load(tmp_path)
