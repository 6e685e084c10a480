"""The scenario reference (docs/scenarios.md) names every key the schema accepts."""

from pathlib import Path

from pydantic import BaseModel

from ecmsim import scenario

DOC = (Path(__file__).resolve().parents[1] / "docs" / "scenarios.md").read_text()


def _keys():
    for section, field in scenario.Scenario.model_fields.items():
        if section == "geometry":
            models = list(scenario.GEOMETRY_KINDS.values())
        elif isinstance(field.annotation, type) and issubclass(field.annotation, BaseModel):
            models = [field.annotation]
        else:
            yield section
            continue
        for model in models:
            for key in model.model_fields:
                yield key


def test_every_scenario_key_is_documented():
    missing = sorted({k for k in _keys() if f"`{k}`" not in DOC and f".{k}`" not in DOC and f"{k}`" not in DOC})
    assert not missing, f"docs/scenarios.md does not mention: {missing}"
