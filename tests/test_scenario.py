"""Scenario loading, overrides and error messages (no dolfinx needed)."""

from pathlib import Path

import pytest

from ecmsim import scenario
from ecmsim.core.errors import ScenarioError

from conftest import SCENARIOS, shipped_scenarios

FLAT = SCENARIOS / "flat_bilayer.toml"


def test_shipped_scenarios_validate():
    for path in shipped_scenarios():
        scn = scenario.load(path)
        assert scn.loading.stack_pressure_Pa > 0


def test_defaults_filled_and_hash_stable():
    a = scenario.load(FLAT)
    b = scenario.load(FLAT)
    assert a.solver.element_degree == 2 and a.interface.model == "bonded"
    assert a.input_hash() == b.input_hash()
    c = scenario.load(FLAT, ["loading.stack_pressure_Pa=3e6"])
    assert c.loading.stack_pressure_Pa == 3e6
    assert c.input_hash() != a.input_hash()


def test_override_can_switch_geometry_kind():
    scn = scenario.load(FLAT, ["geometry.kind=sinusoidal", "geometry.amplitude_m=1e-6",
                               "geometry.wavelength_m=10e-6"])
    assert scn.geometry.kind == "sinusoidal"


def test_inline_material():
    scn = scenario.load(FLAT, ["materials.electrode={youngs_modulus_Pa=5e9, poissons_ratio=0.3, source='mine'}"])
    mat = scn.materials.resolve()["electrode"]
    assert mat.youngs_modulus_Pa == 5e9 and mat.sources["youngs_modulus_Pa"] == "mine"


@pytest.mark.parametrize("overrides, fragments", [
    (["loading.stack_pressure_Pa=-2.4e6"], ["loading.stack_pressure_Pa = -2400000.0", "must be > 0", "[Pa]"]),
    (["loading.stack_pressure_Pa=abc"], ["loading.stack_pressure_Pa = 'abc'", "finite number"]),
    (["loading.stack_pressure_Pa=nan"], ["finite number"]),
    (["loading.stack_pressure_Pa=true"], ["finite number"]),
    (["materials.electrode=Lithium"], ["materials.electrode = 'Lithium'", "unknown material", "known: Li"]),
    (["geometry.foo=1"], ["unknown key 'geometry.foo'", "allowed: kind, width_m"]),
    (["loading.pressure=1"], ["unknown key 'loading.pressure'", "stack_pressure_Pa"]),
    (["geometry.kind=blob"], ["geometry.kind = 'blob'", "'flat'", "'sinusoidal'"]),
    (["geometry.kind=sinusoidal"], ["missing key 'geometry.amplitude_m'"]),
    (["geometry.kind=sinusoidal", "geometry.amplitude_m=30e-6", "geometry.wavelength_m=1e-5"],
     ["geometry.amplitude_m = 3e-05 must be < the thinner layer"]),
    (["mesh.size_m=1e-4"], ["mesh.size_m", "half the thinnest"]),
    (["solver.element_degree=2.5"], ["solver.element_degree = 2.5", "whole number"]),
    (["solver.element_degree=7"], ["must be <= 3"]),
    (["materials.electrode={youngs_modulus_Pa=5e9, poissons_ratio=0.7, source='x'}"],
     ["materials.electrode.poissons_ratio = 0.7", "< 0.5"]),
    (["interface.model=glued"], ["interface.model = 'glued'"]),
])
def test_bad_values_name_file_key_value_and_range(overrides, fragments):
    with pytest.raises(ScenarioError) as info:
        scenario.load(FLAT, overrides)
    msg = str(info.value)
    assert msg.startswith(str(FLAT)), msg
    assert "\n" not in msg
    for frag in fragments:
        assert frag in msg, (frag, msg)


def test_missing_and_broken_files(tmp_path: Path):
    with pytest.raises(ScenarioError, match="scenario file not found"):
        scenario.load(tmp_path / "nope.toml")
    bad = tmp_path / "bad.toml"
    bad.write_text("[geometry\nkind = 1")
    with pytest.raises(ScenarioError, match="not valid TOML"):
        scenario.load(bad)


def test_override_syntax_errors():
    with pytest.raises(ScenarioError, match="SECTION.KEY=VALUE"):
        scenario.load(FLAT, ["loading.stack_pressure_Pa"])
    with pytest.raises(ScenarioError, match="is a value, not a section"):
        scenario.load(FLAT, ["title.x=1"])


@pytest.mark.parametrize("key, unit", [("width_m", "[m]"), ("interface_diffusion_m3_s", "[m3/s]"),
                                       ("body_thermal_expansion_per_K", "[1/K]"), ("temperature_K", "[K]"),
                                       ("dt_max_s", "[s]"), ("applied_current_density_A_m2", "[A/m2]")])
def test_error_messages_name_the_unit_of_the_key(key, unit):
    """The unit an out-of-range message appends is read from the key's suffix, compound suffixes first."""
    from ecmsim.scenario.load import _unit_of

    assert _unit_of(["section", key]) == unit
