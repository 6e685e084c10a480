"""Lab-notebook protocol steps, the [protocol] section, the creep keys of material records."""

from __future__ import annotations

import pytest

from conftest import SCENARIOS
from ecmsim import materials, scenario
from ecmsim.scenario import steps
from ecmsim.core.errors import MaterialError, ScenarioError
from ecmsim.materials.creep import CREEP_KEYS, law_of


@pytest.mark.parametrize("text, kind, seconds", [
    ("Rest for 20 minutes", "rest", 1200.0), ("Hold for 2 h", "hold", 7200.0), ("Rest for 1200 s", "rest", 1200.0),
    ("rest 1.5 hours.", "rest", 5400.0), ("HOLD FOR 1e3 sec", "hold", 1000.0), ("Hold for 1 day", "hold", 86400.0)])
def test_steps_parse_with_units(text, kind, seconds):
    step = steps.parse_step(text)
    assert (step.kind, step.duration_s, step.text) == (kind, pytest.approx(seconds), text)


@pytest.mark.parametrize("text, fragment", [("Rest for 20 fortnights", "unknown time unit 'fortnights'"),
                                            ("Rest for 0 s", "must be > 0"), ("Dance for 2 h", "not a known step")])
def test_bad_steps_say_why(text, fragment):
    with pytest.raises(steps.StepError, match=fragment):
        steps.parse_step(text)


def test_new_step_kinds_register_without_touching_the_parser():
    kind = steps.register_step_kind(
        "deposit_test", rf"deposit\s+at\s+(?P<i>{steps.NUMBER})\s*mA/cm2\s+for\s+{steps.DURATION}",
        "Deposit at 0.2 mA/cm2 for 2 hours", lambda m: {"current_density_A_m2": float(m["i"]) * 10.0})
    try:
        step = steps.parse_step("Deposit at 0.2 mA/cm2 for 2 hours")   # (Plate/Strip: the same registry)
        assert step.kind == "deposit_test" and step.duration_s == 7200.0
        assert step.values == {"current_density_A_m2": pytest.approx(2.0)}
    finally:
        del steps.STEP_KINDS[kind.name]


def _base(**protocol_keys):
    data = scenario.read_toml(SCENARIOS / "flat_bilayer.toml")
    if protocol_keys:
        data["protocol"] = protocol_keys
    return data


def test_protocol_section_builds_steps_and_cycles():
    scn = scenario.validate(_base(steps=["Hold for 2 h", "Rest for 10 minutes"], cycles=3, dt_max_s=60.0))
    p = scn.protocol.build()
    assert [s.kind for _, s in p.expanded()] == ["hold", "rest"] * 3
    assert p.duration_s == pytest.approx(3 * 7800.0)
    assert p.stepping.dt_max_s == 60.0 and p.stepping.dt_initial_s == 1.0


@pytest.mark.parametrize("keys, fragments", [
    ({"steps": ["Rest for 20 parsecs"]}, ["protocol.steps[0]", "'Rest for 20 parsecs'", "unknown time unit"]),
    ({"steps": []}, ["protocol.steps"]),
    ({"steps": ["Rest for 1 s"], "cycles": 0}, ["protocol.cycles", "= 0", "must be >= 1"]),
    ({"steps": ["Rest for 1 s"], "dt_min_s": 10.0, "dt_initial_s": 1.0}, ["protocol.dt_initial_s = 1", "dt_min_s"]),
    ({"steps": ["Rest for 1 s"], "dt_shrink_factor": 1.5}, ["protocol.dt_shrink_factor = 1.5", "must be < 1"]),
    ({"steps": ["Rest for 1 s"], "dt_max": 3}, ["unknown key 'protocol.dt_max'", "dt_max_s"]),
])
def test_bad_protocol_is_one_line_naming_file_key_value(keys, fragments):
    with pytest.raises(ScenarioError) as info:
        scenario.validate(_base(**keys), "scn.toml")
    msg = str(info.value)
    assert "\n" not in msg and msg.startswith("scn.toml: ")
    for fragment in fragments:
        assert fragment in msg, msg


def test_static_scenario_unchanged_by_the_new_sections():
    scn = scenario.validate(_base())
    assert scn.protocol is None
    assert "protocol" not in scn.to_dict() and "creep" not in scn.to_dict()


def test_library_creep_laws_and_size_effect():
    li = law_of(materials.get("Li"))
    assert (li.stress_exponent, li.activation_energy_J_per_mol) == (6.6, 37.0e3)
    # LePage et al. 2019 fit checked against the bulk yield of Li: 0.6-1 MPa at 5e-3 1/s and 298 K
    flow = li.reference_stress_Pa * (5e-3 / li.rate_factor_per_s(298.15)) ** (1 / li.stress_exponent)
    assert 0.6e6 < flow < 1.0e6
    assert law_of(materials.get("PLL")) is None
    thin = law_of(materials.get("Li"), characteristic_length_m=1e-6)
    assert thin.reference_stress_Pa == pytest.approx(1e6 * 220 ** 0.85)
    assert law_of(materials.get("Li"), characteristic_length_m=1e-3).reference_stress_Pa == 1e6  # bulk above L_ref
    # halving time at fixed strain: closed form = the stress formula at that time
    t = li.half_time_s(30e6, 4.9e9, 333.15)
    assert li.relaxation_stress_Pa(30e6, 4.9e9, t, 333.15) == pytest.approx(15e6)


def test_creep_keys_all_or_none():
    with pytest.raises(MaterialError, match="creep needs all"):
        law_of(materials.from_mapping({"youngs_modulus_Pa": 1e9, "poissons_ratio": 0.3,
                                       "creep_stress_exponent": 5.0}))
    data = _base()
    data["materials"]["electrode"] = {"youngs_modulus_Pa": 4.9e9, "poissons_ratio": 0.38, "source": "test",
                                      "creep_stress_exponent": 5.0}
    with pytest.raises(ScenarioError, match="creep needs all"):
        scenario.validate(data, "scn.toml")
    data["materials"]["electrode"].update({k: 1.0 for k in CREEP_KEYS if k != "creep_stress_exponent"})
    mat = scenario.validate(data).materials.resolve()["electrode"]
    assert law_of(mat).stress_exponent == 5.0 and mat.sources["creep_stress_exponent"] == "test"
