"""Where the small-strain model stops being valid: the history check of creep and growth strains
(mechanics/validity.py) and its way to stderr and summary.json."""

from __future__ import annotations

import pytest

from conftest import read_summary, run_cli
from ecmsim.mechanics.validity import WARN_LOCAL_STRAIN, history_warnings


def _rows(creep, total, times):
    return [{"time_s": t, "electrode_creep_strain_max": c, "electrode_creep_strain_mean": 0.1 * c,
             "electrode_total_strain_max": e, "electrolyte_creep_strain_max": 0.0,
             "electrolyte_total_strain_max": 0.01} for c, e, t in zip(creep, total, times, strict=True)]


def test_history_warnings_name_region_value_and_times():
    rows = _rows(creep=[0.0, 0.01, 0.08, 0.3, 0.2], total=[0.001, 0.01, 0.02, 0.04, 0.03],
                 times=[0.0, 10.0, 20.0, 30.0, 40.0])
    (line,) = history_warnings(rows)
    assert line.startswith("warning: the electrode leaves the small-strain range: its equivalent creep strain "
                           "reaches 0.3 at t = 30 s (above 5 % from t = 20 s on; area mean 0.02 at the end)")
    assert "not reliable" in line
    # the total strain is checked too, and nothing below the threshold is reported
    rows[2]["electrode_total_strain_max"] = 0.06
    lines = history_warnings(rows)
    assert len(lines) == 2
    assert "total strain (largest principal value of sym grad u) reaches 0.06 at t = 20 s" in lines[1]
    assert history_warnings(rows, threshold=0.5) == []
    assert history_warnings(_rows([WARN_LOCAL_STRAIN] * 2, [0.0] * 2, [0.0, 1.0])) == []   # strictly above
    assert history_warnings([]) == []


CYCLING = """title = "plating beyond small strain"
[geometry]
kind = "flat"
width_m = 20e-6
electrode_thickness_m = 20e-6
electrolyte_thickness_m = 20e-6
[materials]
electrode = "Li"
electrolyte = "PLL"
[loading]
stack_pressure_Pa = 2.4e6
temperature_K = 333.15
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
steps = ["Plate at 0.2 mA/cm2 for 2 hours"]
dt_initial_s = 2400.0
dt_max_s = 2400.0
"""


@pytest.mark.fem
def test_a_run_beyond_small_strain_says_so_on_stderr_and_in_the_summary(tmp_path):
    """2 h of plating at 0.2 mA/cm2 put 1.94 um of Li into the 10 um deposition layer: a growth strain
    of 0.19 along the normal, far beyond small strain; the stress stays small (no warning from the
    von Mises check), the history check names it."""
    path = tmp_path / "plate.toml"
    path.write_text(CYCLING)
    proc = run_cli("run", str(path), "-o", str(tmp_path / "out"), "-q")
    assert proc.returncode == 0, proc.stderr
    summary = read_summary(tmp_path / "out")
    lines = [w for w in summary["warnings"] if "leaves the small-strain range" in w]
    assert len(lines) == 1 and lines[0].startswith("warning: the electrode leaves the small-strain range: its total "
                                                   "strain")
    total = summary["metrics"]["electrode_total_strain_max"]
    assert 0.15 < total < 0.25 and f"reaches {total:.3g} at t = 7200 s" in lines[0]
    assert f"ecmsim: {lines[0]}" in proc.stderr            # the pipeline prints every warning
