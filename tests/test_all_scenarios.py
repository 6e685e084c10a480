"""Every shipped scenario is meshed and solved (coarse, fast), not only validated.

Each file of scenarios/ runs through ``ecmsim run`` with coarser mesh overrides; the result must be
a complete folder with finite metrics that make sense for a stack under compression: the mean
interface traction compressive, and within the range that force balance allows (the interface
carries p W; over a rough or voided interface the mean over its length is smaller in magnitude
than p for a longer line, larger where voids take load off part of it).
"""

from __future__ import annotations

import math

import pytest
from conftest import SCENARIOS, read_summary, shipped_scenarios

pytestmark = pytest.mark.fem

#: The fibre-in-cell scenarios (mm-scale cross-sections, a different set of metrics) run in
#: tests/test_fbg_cell.py with their own reduced settings.
SCENARIO_FILES = sorted(p.name for p in shipped_scenarios() if 'kind = "fbg_cell"' not in p.read_text()
                        and "[fibre_readout]" not in p.read_text())
#: The cycling scenarios with the fibre read-out (a fibre-cell solve each, lists of peaks among the
#: metrics) run in tests/test_fibre_readout.py (one short cycle).
COARSE = {"mesh.size_m": "2e-6", "mesh.interface_size_m": "0.5e-6"}


def test_the_list_is_every_shipped_scenario():
    assert len(SCENARIO_FILES) >= 9


@pytest.mark.parametrize("name", SCENARIO_FILES)
def test_shipped_scenario_runs_coarse(name, tmp_path):
    text = (SCENARIOS / name).read_text()
    sets = dict(COARSE)
    if "depth_m" in text:   # 3D: the 2D coarse sizes would make ~5e4 tetrahedra
        sets.update({"mesh.size_m": "5e-6", "mesh.interface_size_m": "2e-6"})
    if "tip_size_m" in text:
        sets["mesh.tip_size_m"] = "0.25e-6"
    if "depth_m" in text:  # a 3D window: tetrahedra, coarser still
        sets.update({"mesh.size_m": "4e-6", "mesh.interface_size_m": "2e-6"})
    if "Plate at" in text:   # plating/stripping cycles: one short cycle
        sets.update({"protocol.steps": '["Plate at 0.2 mA/cm2 for 10 minutes", "Strip at 0.2 mA/cm2 for 10 minutes"]',
                     "protocol.cycles": "1"})
    if 'kind = "image_stack"' in text:
        sets["geometry.voxel_factor"] = "3"   # the voxels are the mesh
    if 'model = "contact"' in text:
        sets["interface.load_steps"] = "2"
    if "particles = true" in text:   # every particle's boundary is meshed: half the window
        sets["geometry.window_width_m"] = "20e-6"
    from ecmsim.run.pipeline import run_scenario_file  # in process: the suite has imported dolfinx already

    out = tmp_path / "out"
    run_scenario_file(SCENARIOS / name, out, [f"{k}={v}" for k, v in sets.items()] + ["output.plots=false"],
                      quiet=True)
    summary = read_summary(out)
    for rel in summary["files"]:
        assert (out / rel).exists(), rel
    m = summary["metrics"]
    p = m["stack_pressure_Pa"]
    for key, value in m.items():
        assert value is not None and math.isfinite(value), key
    if "interface" in summary["mesh"]["facet_tags"]:
        assert -3 * p < m["interface_normal_stress_mean_Pa"] < -0.3 * p
    else:   # windows without an electrode: per-phase metrics instead (tests/test_windows_without_electrode.py)
        assert "interface_normal_stress_mean_Pa" not in m and m["von_mises_mean_electrolyte_Pa"] > 0
    assert m["von_mises_max_Pa"] > 0 and m["hydrostatic_stress_min_Pa"] < 0
    assert summary["mesh"]["cells"] < 20_000  # coarse indeed: the suite stays fast
