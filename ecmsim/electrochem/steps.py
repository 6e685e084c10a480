"""Lab-notebook step kinds of plating/stripping cycles: ``"Plate at 0.2 mA/cm2 for 2 hours"``.

Registered in :data:`ecmsim.protocol.STEP_KINDS` when :mod:`ecmsim.protocol` is imported (pure
Python, no finite-element imports). Each step's ``values`` hold ``current_density_A_m2``: the
applied current density on the window's counter boundary, **positive for plating** on the
window's electrode and negative for stripping (the sign convention of
:mod:`ecmsim.electrochem.kinetics`). Current density units: ``mA/cm2`` (also ``mA cm-2``,
``mA/cm^2``), ``uA/cm2``, ``A/m2`` (also ``A m-2``, ``A/m^2``); 1 mA/cm2 = 10 A/m2.
"""

from __future__ import annotations

import math
import re

from ecmsim.protocol import DURATION, NUMBER, StepError, register_step_kind

#: Current density units -> A/m2 (keys: lower case, spaces removed).
CURRENT_DENSITY_UNITS_A_M2: dict[str, float] = {
    "ma/cm2": 10.0, "ma/cm^2": 10.0, "macm-2": 10.0, "ma/cm²": 10.0,
    "ua/cm2": 1e-2, "ua/cm^2": 1e-2, "uacm-2": 1e-2, "µa/cm2": 1e-2,
    "a/m2": 1.0, "a/m^2": 1.0, "am-2": 1.0, "a/m²": 1.0,
}

_UNIT = r"(?P<iunit>[mµu]?A\s*(?:/\s*(?:cm|m)\s*(?:\^?2|²)|\s+(?:cm|m)-2))"


def current_density_A_m2(number: str, unit: str) -> float:
    """A current density in A/m2 from its number and unit text; StepError for unknown units or <= 0."""
    factor = CURRENT_DENSITY_UNITS_A_M2.get(re.sub(r"\s+", "", unit).lower())
    if factor is None:
        raise StepError(f"unknown current density unit '{unit}' (known: mA/cm2, uA/cm2, A/m2)")
    value = float(number) * factor
    if not (math.isfinite(value) and 0 < value <= 1e3):
        raise StepError(f"current density must be > 0 and <= 1000 A/m2 (got {number} {unit}); "
                        "the direction is the verb: Plate or Strip")
    return value


def _values(sign: float):
    return lambda m: {"current_density_A_m2": sign * current_density_A_m2(m["i"], m["iunit"])}


register_step_kind("plate", rf"plate\s+(?:at\s+)?(?P<i>{NUMBER})\s*{_UNIT}\s+for\s+{DURATION}",
                   "Plate at 0.2 mA/cm2 for 2 hours", _values(+1.0))
register_step_kind("strip", rf"strip\s+(?:at\s+)?(?P<i>{NUMBER})\s*{_UNIT}\s+for\s+{DURATION}",
                   "Strip at 0.2 mA/cm2 for 2 hours", _values(-1.0))

#: Step kinds that pass current (the others: no current, the interface state stays).
CURRENT_STEP_KINDS = ("plate", "strip")

__all__ = ["current_density_A_m2", "CURRENT_DENSITY_UNITS_A_M2", "CURRENT_STEP_KINDS"]
