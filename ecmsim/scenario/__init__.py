"""Scenario files: TOML, validated on load, with ``--set section.key=value`` overrides.

Every key carries its SI unit in its name (``stack_pressure_Pa``, ``width_m``); the schema
below states the allowed range of each. Invalid input raises :class:`ScenarioError` with one
line naming the file, the key, the value and what is allowed, e.g.::

    scenarios/li.toml: loading.stack_pressure_Pa = -2400000.0: must be > 0 [Pa]

A minimal scenario::

    [geometry]
    kind = "flat"                     # flat | sinusoidal | rough | voids | filaments | image
    width_m = 40e-6
    electrode_thickness_m = 20e-6
    electrolyte_thickness_m = 20e-6

    [materials]
    electrode = "Li"                  # a key of `ecmsim materials`, or an inline table
    electrolyte = "PLL"

    [loading]
    stack_pressure_Pa = 2.4e6

    [mesh]
    size_m = 1e-6
"""

from ecmsim.scenario.load import (
    apply_override,
    load,
    load_cell,
    read_toml,
    schema_keys,
    section_class,
    validate,
)
from ecmsim.scenario.schema import Scenario

__all__ = ["Scenario", "load", "validate", "apply_override", "schema_keys", "read_toml", "section_class", "load_cell"]
