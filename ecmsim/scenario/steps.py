"""The lab-notebook vocabulary of protocols: one step per line, ``"Rest for 20 minutes"``,
``"Hold for 2 h"``, ``"Plate at 0.2 mA/cm2 for 2 hours"``.

Each step text is matched against a registry of step kinds (:data:`STEP_KINDS`): a kind is a
regular expression and a function turning its match into the step's values (SI units). New kinds
register themselves with :func:`register_step_kind` and appear in the same list; the time loop
(:mod:`ecmsim.run.timeloop`) hands each step to the problems, which read ``step.kind`` and
``step.values``.

Plating and stripping steps carry ``values["current_density_A_m2"]``: the applied current density on
the window's counter boundary, **positive for plating** on the window's electrode and negative for
stripping (the sign convention of :mod:`ecmsim.electrochem.kinetics`). Current density units:
``mA/cm2`` (also ``mA cm-2``, ``mA/cm^2``), ``uA/cm2``, ``A/m2`` (also ``A m-2``, ``A/m^2``);
1 mA/cm2 = 10 A/m2.

Pure Python (no finite-element imports): scenario validation uses it before anything heavy loads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

#: Duration units -> seconds. Keys are lower case; plurals and abbreviations included.
TIME_UNITS_S: dict[str, float] = {
    "s": 1.0, "sec": 1.0, "secs": 1.0, "second": 1.0, "seconds": 1.0,
    "min": 60.0, "mins": 60.0, "minute": 60.0, "minutes": 60.0,
    "h": 3600.0, "hr": 3600.0, "hrs": 3600.0, "hour": 3600.0, "hours": 3600.0,
    "d": 86400.0, "day": 86400.0, "days": 86400.0,
}

_NUMBER = r"[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?"
DURATION = rf"(?P<duration>{_NUMBER})\s*(?P<unit>[A-Za-z]+)"
"""Regular expression of a duration (``20 minutes``, ``2 h``, ``1200 s``) with named groups."""


class StepError(ValueError):
    """A step text that no kind accepts, or with a bad value (the message is one line)."""


#: Longest step accepted [s] (about 30 years): "Rest for 1e300 s" would run forever.
MAX_STEP_DURATION_S = 1e9


def duration_s(number: str, unit: str) -> float:
    """A duration in seconds from its number and unit text; StepError for unknown units or <= 0."""
    factor = TIME_UNITS_S.get(unit.lower())
    if factor is None:
        raise StepError(f"unknown time unit '{unit}' (known: s, min, h, day and their long forms)")
    value = float(number) * factor
    if not (math.isfinite(value) and value > 0):
        raise StepError(f"duration must be > 0 s (got {number} {unit})")
    if value > MAX_STEP_DURATION_S:
        raise StepError(f"duration must be <= {MAX_STEP_DURATION_S:g} s, about 30 years (got {number} {unit})")
    return value


@dataclass(frozen=True)
class Step:
    """One protocol step.

    Attributes:
        kind: registered kind name (``rest``, ``hold``...).
        duration_s: length of the step [s].
        text: the step as written.
        values: further values of the kind, SI units in the key names (empty for rest and hold).
    """

    kind: str
    duration_s: float
    text: str
    values: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class StepKind:
    """A registered step kind: a regular expression (full match, case-insensitive) with a
    ``duration`` and a ``unit`` group, and ``values(match) -> dict`` for the kind's own values."""

    name: str
    pattern: re.Pattern
    values: Callable[[re.Match], dict[str, float]]
    example: str


#: kind name -> StepKind, in registration order (the first that matches wins).
STEP_KINDS: dict[str, StepKind] = {}


def register_step_kind(name: str, pattern: str, example: str,
                       values: Callable[[re.Match], dict[str, float]] | None = None) -> StepKind:
    """Register a step kind. ``pattern`` must contain :data:`DURATION` (its named groups).

    Example (the cycling module)::

        register_step_kind("plate", rf"plate\\s+at\\s+(?P<i>{NUMBER})\\s*mA/cm2\\s+for\\s+{DURATION}",
                           "Plate at 0.2 mA/cm2 for 2 hours",
                           lambda m: {"current_density_A_m2": float(m["i"]) * 10.0})
    """
    compiled = re.compile(pattern, re.IGNORECASE)
    if "duration" not in compiled.groupindex or "unit" not in compiled.groupindex:
        raise ValueError(f"step kind '{name}': the pattern needs the DURATION groups")
    kind = StepKind(name, compiled, values or (lambda m: {}), example)
    STEP_KINDS[name] = kind
    return kind


NUMBER = _NUMBER
"""Regular expression of a number (for the patterns of new step kinds)."""

# Mechanics only, nothing electrochemical happens: the loads of the scenario stay applied.
register_step_kind("rest", rf"rest\s+(?:for\s+)?{DURATION}", "Rest for 20 minutes")
register_step_kind("hold", rf"hold\s+(?:for\s+)?{DURATION}", "Hold for 2 h")


def parse_step(text: str) -> Step:
    """The :class:`Step` of a lab-notebook line; StepError (one line) if no kind accepts it."""
    if not isinstance(text, str):
        raise StepError(f"a step is a text such as 'Rest for 20 minutes' (got {text!r})")
    cleaned = " ".join(text.strip().rstrip(".").split())
    for kind in STEP_KINDS.values():
        m = kind.pattern.fullmatch(cleaned)
        if m:
            return Step(kind.name, duration_s(m["duration"], m["unit"]), text, kind.values(m))
    examples = "; ".join(f"'{k.example}'" for k in STEP_KINDS.values())
    raise StepError(f"'{text}' is not a known step (known: {examples})")


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


__all__ = ["Step", "StepKind", "StepError", "STEP_KINDS", "register_step_kind", "parse_step", "duration_s",
           "DURATION", "NUMBER", "TIME_UNITS_S", "current_density_A_m2", "CURRENT_DENSITY_UNITS_A_M2",
           "CURRENT_STEP_KINDS"]
