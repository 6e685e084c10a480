"""Scenario files with the geometry kinds rough, voids, filaments and image."""

from __future__ import annotations

import shutil

import numpy as np
import pytest
from geometry_helpers import MESHES, SCENARIOS

from ecmsim import scenario
from ecmsim.core.errors import GeometryError, ScenarioError
from ecmsim.mesh.partition import _conforming_partition

NEW = ["rough_interface", "interfacial_voids", "li_filaments", "li_pll_pristine_image", "li_pll_cycled_image",
       "li_sn_pll_cycled_image"]


@pytest.mark.parametrize("name", NEW)
def test_every_new_scenario_loads_and_builds_a_conforming_geometry(name):
    path = SCENARIOS / f"{name}.toml"
    sc = scenario.load(path)
    g = sc.geometry.build(path.parent)
    assert g.width_m == pytest.approx(40e-6)
    assert {r.label for r in g.regions} == {"electrode", "electrolyte"}
    assert _conforming_partition(g) is not None  # regions share their vertices: tips can be refined


def test_seed_override_changes_a_generated_geometry():
    path = SCENARIOS / "interfacial_voids.toml"
    a = scenario.load(path).geometry.build(path.parent)
    b = scenario.load(path, ["geometry.seed=3"]).geometry.build(path.parent)
    assert not np.array_equal(a.regions[1].outer, b.regions[1].outer)


def _write(tmp_path, geometry_lines: str):
    text = (SCENARIOS / "li_pll_cycled_image.toml").read_text()
    head, rest = text.split("[geometry]", 1)
    rest = rest.split("[materials]", 1)[1]
    path = tmp_path / "case.toml"
    path.write_text(head + "[geometry]\n" + geometry_lines + "\n[materials]" + rest)
    return path


def test_image_path_is_relative_to_the_scenario_file_and_sidecar_fills_gaps(tmp_path):
    (tmp_path / "img").mkdir()
    shutil.copy(MESHES / "li_pll_cycled.png", tmp_path / "img" / "cell.png")
    shutil.copy(MESHES / "li_pll_cycled.json", tmp_path / "img" / "cell.json")
    path = _write(tmp_path, 'kind = "image"\npath = "img/cell.png"\nwindow_width_m = 20e-6\n')
    sc = scenario.load(path)
    options, image = sc.geometry.image_options(path.parent)
    assert image == tmp_path / "img" / "cell.png"
    assert options.pixel_size_m == 50e-9 and options.electrode_side == "top"   # from cell.json
    assert sc.geometry.build(path.parent).width_m == pytest.approx(20e-6)


def test_image_scenario_errors_name_the_problem(tmp_path):
    shutil.copy(MESHES / "li_pll_cycled.png", tmp_path / "bare.png")  # no sidecar
    path = _write(tmp_path, 'kind = "image"\npath = "bare.png"\n')
    with pytest.raises(GeometryError, match="pixel size missing"):
        scenario.load(path).geometry.build(path.parent)
    path = _write(tmp_path, 'kind = "image"\npath = "bare.png"\npixel_size_m = 50e-9\nwindow_width_m = 90e-6\n')
    with pytest.raises(GeometryError, match="not inside the image"):
        scenario.load(path).geometry.build(path.parent)
    path = _write(tmp_path, 'kind = "image"\npath = "bare.png"\npixel_size_m = -50e-9\n')
    with pytest.raises(ScenarioError, match=r"geometry.pixel_size_m = -5e-08: must be >= 1e-10 \[m\]"):
        scenario.load(path)
    path = _write(tmp_path, 'kind = "image"\npath = "bare.png"\nmedian_px = 0\n')
    with pytest.raises(ScenarioError, match=r"geometry.median_px = 0: must be >= 1 \[px\]"):
        scenario.load(path)
    path = _write(tmp_path, 'kind = "image"\npath = "bare.png"\nmin_radius_m = -2e-6\n')
    with pytest.raises(ScenarioError, match=r"geometry.min_radius_m = -2e-06: must be > 0.0 \[m\]"):
        scenario.load(path)
    path = _write(tmp_path, 'kind = "image"\npath = "bare.png"\npixel_size_m = 50e-9\nmin_radius_m = 20e-6\n')
    with pytest.raises(GeometryError, match="min_radius_m must be > 0 and at most 200 pixels"):
        scenario.load(path).geometry.build(path.parent)


def test_generator_scenarios_check_their_ranges(tmp_path):
    text = (SCENARIOS / "interfacial_voids.toml").read_text()
    bad = tmp_path / "bad.toml"
    bad.write_text(text.replace("void_fraction = 0.25", "void_fraction = 0.95"))
    with pytest.raises(ScenarioError, match=r"bad.toml: geometry.void_fraction = 0.95: must be < 0.9"):
        scenario.load(bad)
    bad.write_text(text.replace("correlation_length_m = 2e-6     # [m]\n", ""))
    with pytest.raises(ScenarioError, match="correlation_length_m"):
        scenario.load(bad)
