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
    # dolfinx loaded first, as after ecmsim.run(...) in the same process (a notebook): its HDF5
    # takes h5py's gzip filter away, which the XDMF export must not need
    from ecmsim.core.fem import dolfinx  # noqa: F401
    monkeypatch.chdir(flat_dir)
    blocks = _python_blocks(DOC.read_text())
    assert len(blocks) >= 3
    for code in blocks:
        exec(compile(code, str(DOC), "exec"), {})
    assert (flat_dir / "results/flat_bilayer/von_mises_pyvista.png").read_bytes()[:4] == b"\x89PNG"
    assert (flat_dir / "results/flat_bilayer/fields.vtk").exists()
    assert (flat_dir / "results/flat_bilayer/fields.xdmf").exists()   # meshio's XDMF export of the tensor


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
        assert s.shape[1] == 6   # XX, YY, ZZ, XY, YZ, XZ
        assert np.allclose(s[:, 1], -p, rtol=1e-8, atol=0)
        assert np.allclose(s[:, [0, 2]], -p * nu / (1 - nu), rtol=1e-8, atol=0)
        assert np.abs(s[:, 3:]).max() < 1e-8 * p
        vm = r.region(name).cell_data["von_mises_Pa"]
        assert np.allclose(vm, p * (1 - 2 * nu) / (1 - nu), rtol=1e-8, atol=0)
        # principal stresses, largest first: sigma_1 = sigma_2 = -p nu / (1 - nu), sigma_3 = -p
        principal = r.region(name).cell_data["principal_stress_Pa"] / p
        assert np.allclose(principal[:, :2], -nu / (1 - nu), rtol=1e-8, atol=0)
        assert np.allclose(principal[:, 2], -1.0, rtol=1e-8, atol=0)


def vtk_principal_invariants(grid):
    """VTK's (and ParaView's) Tensor Principal Invariants filter on the grid's stress_Pa."""
    import pyvista as pv
    from vtkmodules.vtkFiltersTensor import vtkTensorPrincipalInvariants

    f = vtkTensorPrincipalInvariants()
    f.SetInputData(grid)
    f.Update()
    return pv.wrap(f.GetOutput())


def test_stress_tensor_is_one_paraview_understands(flat_dir):
    """stress_Pa is a 6-component array with the component names of a symmetric tensor in VTK's
    order: VTK's own Tensor Principal Invariants filter (ParaView's) reads it and returns our
    principal stresses and the closed-form directions (sigma_3 = -p along y)."""
    r = results.load(flat_dir / "results/flat_bilayer")
    grid = r.fields
    names = grid.GetCellData().GetArray("stress_Pa")
    assert [names.GetComponentName(k) for k in range(6)] == ["XX", "YY", "ZZ", "XY", "YZ", "XZ"]
    principal = grid.GetCellData().GetArray("principal_stress_Pa")
    assert [principal.GetComponentName(k) for k in range(3)] == ["sigma_1", "sigma_2", "sigma_3"]
    out = vtk_principal_invariants(grid)
    p = r.metrics["stack_pressure_Pa"]
    for k in range(3):
        assert np.allclose(out.cell_data[f"stress_Pa - Sigma {k + 1}"] / p,
                           grid.cell_data["principal_stress_Pa"][:, k] / p, rtol=0, atol=1e-9)
    direction = out.cell_data["stress_Pa - Sigma 3 (Vector)"]
    assert np.allclose(np.abs(direction[:, 1]), 1.0, atol=1e-9)


def test_principal_stresses_of_a_sheared_field_agree_with_vtk(tmp_path):
    """On a wavy interface every cell has shear: the order of the components matters. Our
    eigenvalues and VTK's filter on the written tensor agree cell by cell, and
    :func:`principal_stresses` matches Mohr's circle sigma = (sxx + syy)/2 +- sqrt(((sxx - syy)/2)^2 + sxy^2)
    for the in-plane pair."""
    from ecmsim.mechanics.elasticity import principal_stresses

    out = tmp_path / "wavy"
    proc = run_cli("run", str(SCENARIOS / "sinusoidal_interface.toml"), "-o", str(out), "-q", "--set",
                   "mesh.size_m=3e-6", "--set", "mesh.interface_size_m=1.5e-6", "--set", "output.plots=false")
    assert proc.returncode == 0, proc.stderr
    grid = results.load(out).fields
    s = grid.cell_data["stress_Pa"]
    scale = np.abs(s).max()
    assert np.abs(s[:, 3]).max() > 1e-2 * scale       # shear is there
    vtk_out = vtk_principal_invariants(grid)
    ours = grid.cell_data["principal_stress_Pa"]
    for k in range(3):
        assert np.allclose(vtk_out.cell_data[f"stress_Pa - Sigma {k + 1}"] / scale, ours[:, k] / scale, rtol=0,
                           atol=1e-9)
    sxx, syy, szz, sxy = s[:, 0], s[:, 1], s[:, 2], s[:, 3]
    radius = np.sqrt(((sxx - syy) / 2) ** 2 + sxy ** 2)
    mohr = np.sort(np.column_stack([(sxx + syy) / 2 + radius, (sxx + syy) / 2 - radius, szz]), axis=1)[:, ::-1]
    assert np.allclose(principal_stresses(s[:, :4]) / scale, mohr / scale, rtol=0, atol=1e-12)
    assert np.allclose(ours / scale, mohr / scale, rtol=0, atol=1e-12)


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
