"""The scenario reference (docs/scenarios.md) names every key the schema accepts."""

from pathlib import Path

from ecmsim import scenario

DOC = (Path(__file__).resolve().parents[1] / "docs" / "scenarios.md").read_text()


def test_every_scenario_key_is_documented():
    keys = scenario.schema_keys()
    assert ("loading", "stack_pressure_Pa") in keys and ("geometry", "pixel_size_m") in keys
    missing = sorted({key for _, key in keys if f"{key}`" not in DOC})
    assert not missing, f"docs/scenarios.md does not mention: {missing}"
