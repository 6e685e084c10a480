"""Lab-notebook protocols: ``"Rest for 20 minutes"``, ``"Hold for 2 h"``, repeated ``cycles`` times.

A scenario's ``[protocol]`` section lists its steps as a lab notebook would::

    [protocol]
    steps = ["Hold for 2 h", "Rest for 1200 s"]
    cycles = 1                        # repeats the list
    dt_initial_s = 1.0                # adaptive time steps (docs/protocol.md)
    dt_max_s = 600.0

The step texts are the vocabulary of :mod:`ecmsim.scenario.steps`; this module holds the section
(steps, repeats, time-step control) and the parsed :class:`Protocol` that the time loop
(:mod:`ecmsim.run.timeloop`) runs. A scenario without ``[protocol]`` is one static solve (no time).

Pure Python (no finite-element imports): scenario validation uses it before anything heavy loads.
"""

from __future__ import annotations

from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from ecmsim.scenario.steps import CURRENT_STEP_KINDS, Step, StepError, parse_step


#: Most time steps a protocol may need at its largest step (``duration / dt_max_s``).
MAX_TIME_STEPS = 1e6


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
        description="estimated global time-step error, relative (creep: of the von Mises stress, what the steps "
                    "add up to, docs/creep.md); a step above 1.5x is rejected [-] (0 < x < 1)")

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
        total = self.cycles * sum(parse_step(text).duration_s for text in self.steps)
        if total / self.dt_max_s > MAX_TIME_STEPS:
            raise ValueError(f"protocol.dt_max_s = {self.dt_max_s:g}: the protocol lasts {total:.3g} s, at least "
                             f"{total / self.dt_max_s:.3g} time steps (limit {MAX_TIME_STEPS:g}): raise dt_max_s or "
                             "shorten the steps or cycles")
        return self

    def has_current_steps(self) -> bool:
        """True if a step passes current (plating or stripping)."""
        return any(parse_step(s).kind in CURRENT_STEP_KINDS for s in self.steps)

    def build(self) -> Protocol:
        """The parsed :class:`Protocol`."""
        return Protocol([parse_step(s) for s in self.steps], self.cycles, TimeStepping(
            self.dt_initial_s, self.dt_min_s, self.dt_max_s, self.dt_growth_factor, self.dt_shrink_factor,
            self.target_newton_iterations, self.error_tolerance))


@dataclass(frozen=True)
class TimeStepping:
    """Adaptive time-step control (see :mod:`ecmsim.run.timeloop`); times in seconds."""

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



__all__ = ["Protocol", "ProtocolSection", "TimeStepping"]
