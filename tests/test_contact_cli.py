"""``[interface] model = "contact"`` through the scenario schema and the command line; serial vs MPI."""

from __future__ import annotations

import json
import os
import sys

import pytest

from conftest import ROOT, SCENARIOS, assert_one_line_error, mpirun, read_summary, run_cli, run_cli_mpi, run_process
from ecmsim import scenario
from ecmsim.core.errors import ScenarioError

CONTACT = SCENARIOS / "sinusoidal_contact.toml"


@pytest.fixture(scope="module")
def serial_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("contact") / "serial"
    proc = run_cli("run", str(CONTACT), "-o", str(out))
    assert proc.returncode == 0, proc.stderr
    return out, proc


def test_contact_scenario_writes_contact_outputs(serial_run):
    out, proc = serial_run
    summary = read_summary(out)
    for name in ("contact_profile.csv", "contact.png", "interface_profile.csv", "stress_map.png", "summary.json"):
        assert (out / name).is_file(), name
        assert name in summary["files"]
    m = summary["metrics"]
    for key in ("contact_fraction", "contact_pressure_mean_Pa", "contact_pressure_max_Pa", "contact_force_N_per_m",
                "gap_max_m", "interface_normal_stress_mean_Pa", "interface_normal_stress_min_Pa",
                "interface_normal_stress_max_Pa", "von_mises_max_Pa"):
        assert key in m, key
    assert m["contact_fraction"] == pytest.approx(1.0)        # the relief stays closed under compression
    # the contact carries the stack load: its vertical component is p W, the normal force a little more
    assert 2.4e6 * 40e-6 < m["contact_force_N_per_m"] < 1.15 * 2.4e6 * 40e-6
    info = summary["solver"]
    assert info["interface_model"] == "contact" and info["load_steps"] == 4
    assert len(info["newton_iterations"]) == 4 and max(info["newton_iterations"]) <= 3
    assert "load step 4/4" in proc.stdout
    header = (out / "contact_profile.csv").read_text().splitlines()[0]
    assert header == "x_m,y_m,gap_m,contact_pressure_Pa,weight_m"


@pytest.mark.mpi
def test_contact_parallel_equals_serial(serial_run, tmp_path, have_mpirun):
    serial, _ = serial_run
    proc = run_cli_mpi(2, "run", str(CONTACT), "-o", str(tmp_path / "parallel"), "-q")
    assert proc.returncode == 0, proc.stderr + proc.stdout
    a, b = read_summary(serial), read_summary(tmp_path / "parallel")
    assert b["provenance"]["mpi_ranks"] == 2
    assert a["solver"]["newton_iterations"] == b["solver"]["newton_iterations"]
    for key, value in a["metrics"].items():
        assert b["metrics"][key] == pytest.approx(value, rel=1e-8, abs=1e-14), key


@pytest.mark.mpi
def test_rough_voids_parallel_equals_serial(tmp_path, have_mpirun):
    """Voids and a pore: interface facets end at free surfaces, some owned across the rank boundary."""
    from contact_cases import rough_void_metrics

    serial = rough_void_metrics()
    path = os.pathsep.join([str(ROOT), str(ROOT / "tests"), os.environ.get("PYTHONPATH", "")])
    env = dict(os.environ, PYTHONPATH=path)
    proc = run_process([mpirun(), "-n", "2", sys.executable, str(ROOT / "tests" / "contact_cases.py"), "rough_voids",
                           str(tmp_path / "m.json")], capture_output=True, text=True, timeout=600, env=env)
    assert proc.returncode == 0, proc.stderr
    parallel = json.loads((tmp_path / "m.json").read_text())
    assert parallel["ranks"] == 2
    assert parallel["newton_iterations"] == serial["newton_iterations"]
    for key, value in serial.items():
        if key != "newton_iterations":
            assert parallel[key] == pytest.approx(value, rel=1e-8, abs=1e-14), key


def test_divergence_is_a_one_line_error_with_step_and_residual(tmp_path):
    """Slip with friction needs more Newton iterations than allowed: exit 2, one line, no field."""
    out = tmp_path / "x"
    proc = run_cli("run", str(CONTACT), "-o", str(out), "--set", "interface.friction_coefficient=0.1",
                   "--set", "interface.newton_max_iterations=2")
    assert_one_line_error(proc, "load step 1 of 4", "residual norm", "DIVERGED_MAX_IT")
    assert not out.exists() and not list(out.parent.glob("x.partial*"))


def _interface(**keys):
    data = scenario.read_toml(CONTACT)
    data["interface"] = keys
    return data


def test_contact_keys_validated():
    scn = scenario.validate(_interface(model="contact"))
    itf = scn.interface
    assert (itf.nitsche_parameter, itf.nitsche_variant, itf.load_steps) == (100.0, "skew", 4)
    bad = [({"model": "contact", "nitsche_parameter": -1.0}, "interface.nitsche_parameter = -1.0: must be > 0"),
           ({"model": "contact", "load_steps": 0}, "interface.load_steps = 0: must be >= 1"),
           ({"model": "contact", "friction_coefficient": 20.0}, "must be <= 10"),
           ({"model": "contact", "nitsche_variant": "penalty"}, "interface.nitsche_variant"),
           ({"model": "glued"}, "interface.model"),
           ({"model": "bonded", "load_steps": 8}, "interface.load_steps applies to interface.model = 'contact' only")]
    for keys, message in bad:
        with pytest.raises(ScenarioError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
            scenario.validate(_interface(**keys), "s.toml")
