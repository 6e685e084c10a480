"""A FIB-SEM stack solved in 3D through the package (ecmsim.mechanics.stack3d): a flat Li/PLL
stack against the laterally confined (uniaxial-strain) closed form, a stack with voids through
the same route, and serial vs ``mpirun -n 2``."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest
from conftest import ROOT, mpirun, run_process
from stack_cases import DZ, P, PX, run

pytestmark = pytest.mark.fem


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    folder = tmp_path_factory.mktemp("stack_solve")
    return folder, run(folder)


def test_flat_stack_3d_solve_uniaxial_strain(serial, tmp_path):
    """Top displacement p (h_Li/M_Li + h_PLL/M_PLL), interface traction -p (std 0), von Mises per
    layer p (1 - 2 nu)/(1 - nu): exact for P1 on this patch (rel. 1e-8). Putting PLL in both layers
    moves the top by 7 %."""
    from ecmsim import materials
    from ecmsim.core.fem import MPI
    from ecmsim.mechanics.stack3d import solve_stack
    from ecmsim.mesh.voxel import mesh_stack
    from stack_cases import FLAT_LABELS, flat_stack

    mats = {"electrode": materials.get("Li"), "electrolyte": materials.get("PLL")}
    tm, report = mesh_stack(flat_stack(tmp_path / "f.tif"), PX, DZ, tmp_path / "f.msh", MPI.COMM_WORLD,
                            align=False, label_values=FLAT_LABELS)
    assert report["tetrahedra"] == 5 * 24 * 20 * 6 and report["void_volume_fraction"] == pytest.approx(0, abs=1e-12)
    sol, m = solve_stack(tm, mats, P, degree=1, linear="direct")
    V = sol.u.function_space
    y = V.tabulate_dof_coordinates()[:, 1]
    top = np.isclose(y, y.max(), atol=0)
    uy = sol.u.x.array.reshape(-1, 3)[: len(y)][top, 1]
    M = {k: v.youngs_modulus_Pa * (1 - v.poissons_ratio) / ((1 + v.poissons_ratio) * (1 - 2 * v.poissons_ratio))
         for k, v in mats.items()}
    exact = -P * (10 * PX / M["electrode"] + 14 * PX / M["electrolyte"])
    assert np.allclose(uy, exact, rtol=1e-8, atol=0)
    assert m["interface_normal_stress_mean_Pa"] == pytest.approx(-P, rel=1e-8, abs=0)
    assert m["interface_normal_stress_std_Pa"] < 1e-6 * P
    assert m["interface_area_m2"] == pytest.approx(20 * PX * 5 * DZ, rel=1e-9, abs=0)
    for region, mat in mats.items():
        nu = mat.poissons_ratio
        assert m[f"von_mises_max_{region}_Pa"] == pytest.approx(P * (1 - 2 * nu) / (1 - nu), rel=1e-8, abs=0)
    assert serial[1]["flat"]["metrics"]["interface_normal_stress_mean_Pa"] == pytest.approx(-P, rel=1e-8, abs=0)


def test_stack_with_voids_3d_metrics(serial):
    m = serial[1]["voids"]["metrics"]
    assert serial[1]["voids"]["report"]["void_volume_fraction"] > 0.01
    # the interfacial void takes load off part of the interface: mean compression above p, peaks at its rim
    assert m["interface_normal_stress_mean_Pa"] < -P
    assert m["interface_normal_stress_min_Pa"] < 1.5 * m["interface_normal_stress_mean_Pa"]
    assert m["interface_area_m2"] < 24 * PX * 6 * DZ      # the void's footprint is missing
    assert m["von_mises_max_electrolyte_Pa"] > m["von_mises_mean_electrolyte_Pa"] > 0


@pytest.mark.mpi
def test_stack_solve_parallel_equals_serial(serial, tmp_path, have_mpirun):
    proc = run_process([mpirun(), "-n", "2", sys.executable, str(ROOT / "tests" / "stack_cases.py"), str(tmp_path)],
                          capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr
    par = json.loads((Path(tmp_path) / "metrics.json").read_text())
    for case in ("flat", "voids"):
        a, b = serial[1][case], par[case]
        assert a["cells"] == b["cells"] and a["dofs"] == b["dofs"]
        assert a["metrics"].keys() == b["metrics"].keys()
        for key, value in a["metrics"].items():
            tol = 1e-8 * P if key.endswith("_Pa") else 1e-12
            assert b["metrics"][key] == pytest.approx(value, rel=1e-8, abs=tol), (case, key)


def test_image_stack_scenario_runs_through_ecmsim_run(tmp_path):
    """``[geometry] kind = "image_stack"``: grey stack -> drift undone -> segmented -> voxel tetrahedra
    -> 3D solve -> the 3D interface metrics in summary.json, the stack report in mesh.report.json."""
    from conftest import SCENARIOS, read_summary

    from ecmsim.run.pipeline import run_scenario_file

    run_scenario_file(SCENARIOS / "li_pll_stack.toml", tmp_path / "out", ["output.fields=false"], quiet=True)
    s = read_summary(tmp_path / "out")
    m = s["metrics"]
    assert s["solver"]["dimension"] == 3
    assert "interface_area_m2" in m and "interface_length_m" not in m
    assert -3 * m["stack_pressure_Pa"] < m["interface_normal_stress_mean_Pa"] < -0.3 * m["stack_pressure_Pa"]
    report = json.loads((tmp_path / "out" / "mesh.report.json").read_text())
    truth = json.loads((ROOT / "meshes" / "li_pll_stack.json").read_text())
    drift_in = np.array(truth["drift_px"])
    found = np.array(report["segmentation"]["alignment"]["drift_px"])
    assert np.abs(np.round(found) + drift_in).max() <= 1          # the drift put in, undone to a pixel
    assert report["void_volume_fraction"] == pytest.approx(truth["phase_fraction_true"]["void"], abs=0.03)
    assert report["tetrahedra"] == s["mesh"]["cells"]


def test_contact_on_an_image_stack_is_refused_in_one_line(tmp_path):
    from conftest import SCENARIOS, assert_one_line_error, run_cli

    proc = run_cli("run", str(SCENARIOS / "li_pll_stack.toml"), "-o", str(tmp_path / "x"),
                   "--set", "interface.model='contact'")
    assert_one_line_error(proc, "contact", "image_stack", "voxel staircase")
