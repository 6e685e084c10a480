"""Lab-notebook protocols: ``"Rest for 20 minutes"``, ``"Hold for 2 h"``, repeated ``cycles`` times.

A scenario's ``[protocol]`` section lists its steps as a lab notebook would::

    [protocol]
    steps = ["Hold for 2 h", "Rest for 1200 s"]
    cycles = 1                        # repeats the list
    dt_initial_s = 1.0                # adaptive time steps (docs/protocol.md)
    dt_max_s = 600.0

Each step text is matched against a registry of step kinds (:data:`STEP_KINDS`): a kind is a
regular expression and a function turning its match into the step's values (SI units). New kinds
(plating and stripping at a current density) register themselves with :func:`register_step_kind`
and appear in the same list; the time loop (:mod:`ecmsim.timeloop`) hands each step to the
problems, which read ``step.kind`` and ``step.values``. A scenario without ``[protocol]`` is one
static solve (no time).

Pure Python (no finite-element imports): scenario validation uses it before anything heavy loads.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable
from dataclasses import dataclass, field

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

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


def duration_s(number: str, unit: str) -> float:
    """A duration in seconds from its number and unit text; StepError for unknown units or <= 0."""
    factor = TIME_UNITS_S.get(unit.lower())
    if factor is None:
        raise StepError(f"unknown time unit '{unit}' (known: s, min, h, day and their long forms)")
    value = float(number) * factor
    if not (math.isfinite(value) and value > 0):
        raise StepError(f"duration must be > 0 s (got {number} {unit})")
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


class ProtocolSection(BaseModel):
    """``[protocol]``: the steps, how often they repeat, and the adaptive time-step bounds."""

    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)

    steps: list[str] = Field(min_length=1, max_length=1000,
                             description="lab-notebook steps, e.g. 'Rest for 20 minutes', 'Hold for 2 h'")
    cycles: int = Field(1, ge=1, le=10000, strict=True, description="repeats of the step list [-] (1 ... 10000)")
    dt_initial_s: float = Field(1.0, gt=0, le=1e7, allow_inf_nan=False,
                                description="first time step of each protocol step [s] (0 < x <= 1e7)")
    dt_min_s: float = Field(1e-9, gt=0, le=1e7, allow_inf_nan=False,
                            description="smallest time step: a Newton failure there stops the run, a step above "
                                        "the error bound is taken and counted [s]")
    dt_max_s: float = Field(3600.0, gt=0, le=1e8, allow_inf_nan=False,
                            description="largest time step [s] (0 < x <= 1e8)")
    dt_growth_factor: float = Field(2.0, ge=1, le=10, allow_inf_nan=False,
                                    description="largest growth of dt after an easy step [-] (1 ... 10)")
    dt_shrink_factor: float = Field(0.5, gt=0, lt=1, allow_inf_nan=False,
                                    description="dt factor after a rejected step [-] (0 < x < 1)")
    target_newton_iterations: int = Field(6, ge=1, le=100, strict=True,
                                          description="Newton iterations per step the dt control aims at [-]")
    checkpoint_interval_s: float = Field(
        60.0, ge=0, le=1e6, allow_inf_nan=False,
        description="wall time between checkpoints for --resume, besides one at the end of every protocol step "
                    "[s] (0: after every time step)")
    error_tolerance: float = Field(
        0.01, gt=0, lt=1, allow_inf_nan=False,
        description="estimated local time-step error, relative (creep: of the von Mises stress); a step above "
                    "1.5x is rejected [-] (0 < x < 1)")

    @field_validator("steps")
    @classmethod
    def _steps_parse(cls, steps: list[str]) -> list[str]:
        for i, text in enumerate(steps):
            try:
                parse_step(text)
            except StepError as err:
                raise ValueError(f"protocol.steps[{i}] = {text!r}: {err}") from None
        return steps

    @model_validator(mode="after")
    def _bounds(self) -> ProtocolSection:
        if not self.dt_min_s <= self.dt_initial_s <= self.dt_max_s:
            raise ValueError(f"protocol.dt_initial_s = {self.dt_initial_s:g}: must lie between dt_min_s "
                             f"({self.dt_min_s:g}) and dt_max_s ({self.dt_max_s:g}) [s]")
        return self

    def build(self) -> Protocol:
        """The parsed :class:`Protocol`."""
        return Protocol([parse_step(s) for s in self.steps], self.cycles, TimeStepping(
            self.dt_initial_s, self.dt_min_s, self.dt_max_s, self.dt_growth_factor, self.dt_shrink_factor,
            self.target_newton_iterations, self.error_tolerance))


@dataclass(frozen=True)
class TimeStepping:
    """Adaptive time-step control (see :mod:`ecmsim.timeloop`); times in seconds."""

    dt_initial_s: float = 1.0
    dt_min_s: float = 1e-9
    dt_max_s: float = 3600.0
    growth_factor: float = 2.0
    shrink_factor: float = 0.5
    target_newton_iterations: int = 6
    error_tolerance: float = 0.01


@dataclass(frozen=True)
class Protocol:
    """Parsed steps repeated ``cycles`` times, with the time-step control."""

    steps: list[Step]
    cycles: int = 1
    stepping: TimeStepping = TimeStepping()

    def expanded(self) -> list[tuple[int, Step]]:
        """(cycle number from 1, step) in the order they run."""
        return [(c + 1, s) for c in range(self.cycles) for s in self.steps]

    @property
    def duration_s(self) -> float:
        """Total protocol time [s]."""
        return self.cycles * sum(s.duration_s for s in self.steps)


# Plating and stripping at a current density (pure Python as well).
import ecmsim.electrochem.steps  # noqa: E402,F401

__all__ = ["Step", "StepKind", "StepError", "STEP_KINDS", "register_step_kind", "parse_step", "duration_s",
           "Protocol", "ProtocolSection", "TimeStepping", "DURATION", "NUMBER", "TIME_UNITS_S"]
