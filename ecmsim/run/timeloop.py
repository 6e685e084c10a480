"""One time loop for every physics: protocol steps, adaptive dt, accept/reject, history, progress.

Each physics is a *problem* object with a few verbs (see :class:`TimeProblem`): it is set up once
(forms compiled), then the loop calls ``advance(t, dt, step)`` (solve the step from the last
accepted state; return the Newton iterations or raise :class:`~ecmsim.core.errors.SolverError`),
``error_indicator()`` (a dimensionless measure of the step's time-discretisation error whose
acceptable level is 1), then ``accept()`` or ``reject()``, and ``metrics()`` for the history. Several
problems advance in the given order within one step (staggered coupling: a potential problem
before the mechanics, say); the step is accepted only if all of them are.

Time-step control (keys of ``[protocol]``, docs/protocol.md): every protocol step starts with
``dt_initial_s`` and ends exactly at its end time. After an accepted step dt is multiplied by
``min(growth, 0.9 / indicator)``, except that it does not grow when Newton needed more than
``target_newton_iterations`` and shrinks by ``target / its`` beyond twice the target, bounded by ``dt_min_s`` and ``dt_max_s``. A step whose Newton fails, or whose indicator
exceeds 1.5, is rejected and retried with ``dt * max(shrink, 0.9 / indicator)``, never below
``dt_min_s``. At ``dt_min_s`` a step above the error bound is accepted and counted
(``steps_above_tolerance`` in the history), one whose Newton fails stops the run with a SolverError
naming the time.

Without a protocol the loop is one step of zero length: the static solve of the loads.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Protocol as TypingProtocol

from ecmsim.core import interrupt
from ecmsim.core.errors import SolverError
from ecmsim.scenario.protocol import Protocol, TimeStepping
from ecmsim.scenario.steps import Step

#: The step of a run without protocol: the loads applied, no time passes.
STATIC_STEP = Step("static", 0.0, "static solve")
#: The first step of every protocol run: the loads applied at t = 0 (elastic response).
LOAD_STEP = Step("load", 0.0, "apply the loads")


class TimeProblem(TypingProtocol):
    """What the time loop needs from a physics problem."""

    name: str

    def advance(self, t_s: float, dt_s: float, step: Step) -> int: ...

    def error_indicator(self) -> float: ...

    def accept(self) -> None: ...

    def reject(self) -> None: ...

    def metrics(self) -> dict[str, float]: ...


class TimeLoop:
    """Runs problems through a protocol (or one static step when ``protocol`` is None).

    Args:
        problems: the physics, advanced in this order every step.
        protocol: parsed protocol, or None.
        progress: ``message -> None`` (a :class:`~ecmsim.core.progress.Progress`), or None.
        on_accept: ``(row) -> None`` after every accepted step (write fields, checkpoints...).

    Attributes:
        history: one dict per accepted step: step, cycle, protocol_step, time_s, dt_s,
            newton_iterations, rejected_steps, and every problem's metrics.
    """

    def __init__(self, problems: Sequence[TimeProblem], protocol: Protocol | None = None,
                 progress: Callable[[str], None] | None = None, on_accept: Callable[[dict], None] | None = None,
                 on_checkpoint: Callable[[TimeLoop], None] | None = None):
        self.on_checkpoint = on_checkpoint
        #: Where the loop stands after an accepted protocol step (for checkpoints): index into
        #: ``protocol.expanded()``, end time of that protocol step [s], the next dt [s].
        self.step_index, self.step_end_s, self.next_dt_s = -1, 0.0, 0.0
        self._wall_start = time.monotonic()
        self._t_start = 0.0
        self.problems = list(problems)
        self.protocol = protocol
        self.progress = progress or (lambda message: None)
        self.on_accept = on_accept
        self.history: list[dict] = []
        self.t_s = 0.0
        self._rejected = 0
        self._inaccurate = 0

    def run(self, resume: dict | None = None) -> list[dict]:
        """Run to the end of the protocol; returns :attr:`history`.

        ``resume``: the loop state of a checkpoint (keys history, t_s, step_index, step_end_s,
        next_dt_s, rejected_steps, steps_above_tolerance; the problems restored by the caller):
        the run continues with the next time step of that protocol step."""
        if self.protocol is None:
            self._try(STATIC_STEP, 0, 0.0)
            self._accept(STATIC_STEP, 0, 0.0, self._last_its)
            return self.history
        start, first_dt, first_end = 0, None, None
        if resume is None:
            if not self._try(LOAD_STEP, 0, 0.0):
                raise SolverError("the loads could not be applied (Newton failed at t = 0)")
            self._accept(LOAD_STEP, 0, 0.0, self._last_its)
        else:
            self.history = list(resume["history"])
            self.t_s = self._t_start = float(resume["t_s"])
            self._rejected, self._inaccurate = int(resume["rejected_steps"]), int(resume["steps_above_tolerance"])
            start, first_dt, first_end = int(resume["step_index"]), float(resume["next_dt_s"]), float(resume["step_end_s"])
            if self.t_s >= first_end - 1e-9 * max(first_end, 1.0):
                start, first_dt, first_end = start + 1, None, None   # the checkpoint ended its protocol step
        control = self.protocol.stepping
        for index, (cycle, step) in enumerate(self.protocol.expanded()):
            if index < start:
                continue
            self.step_index = index
            self._run_step(step, cycle, control, first_end if index == start else None,
                           first_dt if index == start else None)
        return self.history

    # -- internals ------------------------------------------------------------------------------

    def _run_step(self, step: Step, cycle: int, control: TimeStepping, t_end: float | None = None,
                  dt: float | None = None) -> None:
        t_end = self.t_s + step.duration_s if t_end is None else t_end
        dt = control.dt_initial_s if dt is None else dt
        self.step_end_s = t_end
        while t_end - self.t_s > 1e-9 * max(step.duration_s, 1.0):
            remaining = t_end - self.t_s
            if dt >= remaining or remaining - dt < control.dt_min_s:
                dt = remaining               # land on the end of the protocol step
            ok = self._try(step, cycle, dt)
            indicator = max((p.error_indicator() for p in self.problems), default=0.0) if ok else float("inf")
            if not ok or (indicator > 1.5 and dt > control.dt_min_s):
                for p in self.problems:
                    p.reject()
                self._rejected += 1
                factor = control.shrink_factor if not ok else max(control.shrink_factor, 0.9 / indicator)
                new_dt = dt * factor
                why = f"Newton failed: {self._last_error}" if not ok else f"error indicator {indicator:.3g} > 1.5"
                self.progress(f"  rejected t = {self.t_s:.6g} s, dt = {dt:.3g} s ({why}); retry with "
                              f"{max(new_dt, control.dt_min_s):.3g} s")
                if not ok and dt <= control.dt_min_s:
                    raise SolverError(f"time step at protocol.dt_min_s = {control.dt_min_s:g} s at t = "
                                      f"{self.t_s:g} s in '{step.text}' (cycle {cycle}): {why}")
                dt = max(new_dt, control.dt_min_s)
                continue
            if indicator > 1.5:
                # At dt_min an inaccurate step is taken rather than none (a stiff start: stresses that
                # creep relaxes in far less than dt_min); counted, so that it is visible.
                self._inaccurate += 1
            its = self._last_its
            self._accept(step, cycle, dt, its)
            factor = control.growth_factor
            if indicator > 0:
                factor = min(factor, 0.9 / indicator)
            if its > control.target_newton_iterations:
                # hard steps do not grow; only very hard ones shrink (Newton counts that do not
                # fall with dt must not drive dt to dt_min)
                factor = min(factor, 1.0 if its <= 2 * control.target_newton_iterations
                             else control.target_newton_iterations / its)
            dt = min(max(dt * factor, control.dt_min_s), control.dt_max_s)
            self.next_dt_s = dt
            if self.on_checkpoint is not None:
                self.on_checkpoint(self)

    def _time_left(self) -> str:
        """``, ~N s left``: wall time per simulated second so far times the simulated time left."""
        if self.protocol is None or self.t_s <= self._t_start:
            return ""
        total = self.protocol.duration_s
        rate = (time.monotonic() - self._wall_start) / (self.t_s - self._t_start)
        left = max(total - self.t_s, 0.0) * rate
        return f", ~{left:.0f} s left" if left < 120 else f", ~{left / 60:.1f} min left"

    def _try(self, step: Step, cycle: int, dt: float) -> bool:
        its = 0
        try:
            for p in self.problems:
                its = max(its, p.advance(self.t_s + dt, dt, step))
        except SolverError as err:
            interrupt.check()   # Ctrl-C inside PETSc comes back as a failed solve: stop, do not retry
            if step is STATIC_STEP:
                raise
            self._last_error = str(err)
            return False
        self._last_its = its
        return True

    def _accept(self, step: Step, cycle: int, dt: float, its: int) -> None:
        for p in self.problems:
            p.accept()
        self.t_s += dt
        row = {"step": len(self.history), "cycle": cycle, "protocol_step": step.text, "time_s": self.t_s,
               "dt_s": dt, "newton_iterations": its, "rejected_steps": self._rejected,
               "steps_above_tolerance": self._inaccurate}
        for p in self.problems:
            row.update(p.metrics())
        self.history.append(row)
        if step is not STATIC_STEP:
            self.progress(f"step {row['step']:4d}  t = {self.t_s:10.4g} s  dt = {dt:9.3g} s  Newton {its:2d}  "
                          f"[{step.text}, cycle {cycle}]{self._time_left()}")
        if self.on_accept is not None:
            self.on_accept(row)


__all__ = ["TimeLoop", "TimeProblem", "STATIC_STEP", "LOAD_STEP"]
