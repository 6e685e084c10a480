"""One time loop for every physics: protocol steps, adaptive dt, accept/reject, history, progress.

Each physics is a *problem* object with a few verbs (see :class:`TimeProblem`): it is set up once
(forms compiled), then the loop calls ``advance(t, dt, step)`` (solve the step from the last
accepted state; return the Newton iterations or raise :class:`~ecmsim.core.errors.SolverError`),
``error_indicator()`` (a dimensionless measure of the step's time-discretisation error whose
acceptable level is 1), then ``accept()`` or ``reject()``, and ``metrics()`` for the history. Several
problems advance in the given order within one step (staggered coupling: a potential problem
before the mechanics, say); the step is accepted only if all of them are. Optional verbs: ``iterate()``
(coupling iterations: True has the problems after it ``resolve()`` the step, or reject and advance it
again) and ``settle()`` (once after the coupling iterations: a last solve made to a looser tolerance is
taken on to the step's own).

Time-step control (keys of ``[protocol]``, docs/protocol.md): every protocol step starts with
``dt_initial_s`` and ends exactly at its end time. After an accepted step dt is multiplied by
``min(growth, 0.9 / indicator)``, except that it does not grow when Newton needed more than
``target_newton_iterations`` and shrinks by ``target / its`` beyond twice the target, bounded by
``dt_min_s`` and ``dt_max_s``. A step whose Newton fails, or whose indicator exceeds 1.5, is
rejected and retried with ``dt * max(shrink, 0.9 / indicator)``, never below ``dt_min_s``. At
``dt_min_s`` a step above the error bound is accepted and counted (``steps_above_tolerance`` in the
history), one whose Newton fails stops the run with a SolverError naming the time.

The control remembers Newton failures within a protocol step: the smallest step size whose Newton
failed is a ceiling that dt does not grow back to for the next :data:`CEILING_MEMORY` accepted
steps. A proposal at or above it is cut to the geometric mean of the step just accepted and the
ceiling (bisection in log dt between what worked and what failed), or not grown at all once the two
are within :data:`CEILING_BRACKET`. A failed step is retried at the size of the last accepted step of
the protocol step when that is at most :data:`RETRY_LAST_ACCEPTED` of the failed size (it converged
from a nearby state), else at ``dt * shrink``. The memory ends with the protocol step (a new step
brings new loads) or after CEILING_MEMORY accepted steps (conditions change as the state evolves).
Rejected work (attempts and their Newton iterations) is counted in cumulative columns of
``history.csv``; the loop's closing progress line adds the wall time it cost.

Without a protocol the loop is one step of zero length: the static solve of the loads.
"""

from __future__ import annotations

import math
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

#: Accepted steps for which a failed step size stays a ceiling (then conditions may have changed) [-].
CEILING_MEMORY = 10
#: Below the ceiling by less than this factor, dt stays where it is (the bisection has converged) [-].
CEILING_BRACKET = 1.25
#: A failed step is retried at the last accepted size when that is at most this fraction of it [-].
RETRY_LAST_ACCEPTED = 0.9
#: Coupling iterations of a step at most (problems with an ``iterate()`` verb: interface diffusion).
MAX_COUPLING_ITERATIONS = 8


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
        progress: ``message -> None`` (a :class:`~ecmsim.core.progress.Progress`: then a live bar
            over the protocol's time on a terminal, the per-step lines elsewhere), or None.
        on_accept: ``(row) -> None`` after every accepted step (write fields, checkpoints...).

    Attributes:
        history: one dict per accepted step: step, cycle, protocol_step, time_s, dt_s,
            newton_iterations, rejected_steps, rejected_newton_iterations (both cumulative),
            steps_above_tolerance, and every problem's metrics.
        rejected_wall_s: wall time spent in rejected attempts [s]; ``wall_s``: the loop's [s].
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
        self._rejected_its = 0
        self._inaccurate = 0
        self._bar = None
        self.rejected_wall_s = 0.0
        self.wall_s = 0.0
        #: smallest step size whose Newton failed in this protocol step [s], and the steps accepted since
        self.ceiling_s, self.ceiling_age = math.inf, 0
        #: size of the last accepted step of this protocol step [s] (0: none yet)
        self.last_accepted_s = 0.0

    def run(self, resume: dict | None = None) -> list[dict]:
        """Run to the end of the protocol; returns :attr:`history`.

        ``resume``: the loop state of a checkpoint (keys history, t_s, step_index, step_end_s,
        next_dt_s and those of :meth:`control_state`; the problems restored by the caller):
        the run continues with the next time step of that protocol step."""
        if self.protocol is None:
            self._try(STATIC_STEP, 0, 0.0)
            self._accept(STATIC_STEP, 0, 0.0, self._last_its)
            return self.history
        wall_start = time.monotonic()
        start, first_dt, first_end = 0, None, None
        if resume is None:
            if not self._try(LOAD_STEP, 0, 0.0):
                raise SolverError("the loads could not be applied (Newton failed at t = 0)")
            self._accept(LOAD_STEP, 0, 0.0, self._last_its)
        else:
            self.history = list(resume["history"])
            self.t_s = self._t_start = float(resume["t_s"])
            self._rejected, self._inaccurate = int(resume["rejected_steps"]), int(resume["steps_above_tolerance"])
            self._rejected_its = int(resume.get("rejected_newton_iterations", 0))
            start, first_dt, first_end = int(resume["step_index"]), float(resume["next_dt_s"]), float(resume["step_end_s"])
            ceiling = resume.get("dt_ceiling_s")
            self.ceiling_s = math.inf if ceiling is None else float(ceiling)
            self.ceiling_age = int(resume.get("dt_ceiling_age", 0))
            self.last_accepted_s = float(resume.get("last_accepted_dt_s", 0.0))
            if self.t_s >= first_end - 1e-9 * max(first_end, 1.0):
                start, first_dt, first_end = start + 1, None, None   # the checkpoint ended its protocol step
        control = self.protocol.stepping
        with self._live_bar():
            for index, (cycle, step) in enumerate(self.protocol.expanded()):
                if index < start:
                    continue
                self.step_index = index
                self._run_step(step, cycle, control, first_end if index == start else None,
                               first_dt if index == start else None)
        self.wall_s = time.monotonic() - wall_start
        self.progress(self.closing_line())
        return self.history

    # -- progress -------------------------------------------------------------------------------

    def _live_bar(self):
        """The live bar over the protocol's time (on a terminal; see :mod:`ecmsim.core.progress`)."""
        from contextlib import nullcontext

        from ecmsim.core.progress import SIMULATED_TIME_BAR
        opener = getattr(self.progress, "bar", None)
        if opener is None:
            return nullcontext()
        self._bar = opener(self.protocol.duration_s, "time loop", "s", SIMULATED_TIME_BAR)
        self._bar.update_to(self.t_s)
        return self._bar

    def _detail(self, message: str) -> None:
        """A per-step line: the live bar stands for it on a terminal."""
        getattr(self.progress, "detail", self.progress)(message)

    def closing_line(self) -> str:
        """``time loop: N step(s), K Newton iteration(s); M rejected attempt(s): J Newton iteration(s),
        x s = y % of the loop's z s`` (or ``, none rejected``)."""
        steps = len(self.history) - 1
        its = sum(int(r["newton_iterations"]) for r in self.history)
        line = f"time loop: {steps} step(s), {its} Newton iteration(s)"
        if not self._rejected:
            return line + ", none rejected"
        share = 100.0 * self.rejected_wall_s / self.wall_s if self.wall_s > 0 else 0.0
        return (line + f"; {self._rejected} rejected attempt(s): {self._rejected_its} Newton iteration(s), "
                f"{self.rejected_wall_s:.1f} s = {share:.0f} % of the loop's {self.wall_s:.1f} s")

    def control_state(self) -> dict:
        """What the dt control remembers, for checkpoints (:meth:`run`'s ``resume`` reads it back)."""
        return {"rejected_steps": self._rejected, "steps_above_tolerance": self._inaccurate,
                "rejected_newton_iterations": self._rejected_its,
                "dt_ceiling_s": None if math.isinf(self.ceiling_s) else self.ceiling_s,
                "dt_ceiling_age": self.ceiling_age,
                "last_accepted_dt_s": self.last_accepted_s}

    # -- internals ------------------------------------------------------------------------------

    def _run_step(self, step: Step, cycle: int, control: TimeStepping, t_end: float | None = None,
                  dt: float | None = None) -> None:
        if t_end is None:       # a fresh protocol step (not one resumed from a checkpoint)
            t_end = self.t_s + step.duration_s
            self.ceiling_s, self.ceiling_age, self.last_accepted_s = math.inf, 0, 0.0
        dt = control.dt_initial_s if dt is None else dt
        self.step_end_s = t_end
        while t_end - self.t_s > 1e-9 * max(step.duration_s, 1.0):
            remaining = t_end - self.t_s
            if dt >= remaining or remaining - dt < control.dt_min_s:
                dt = remaining               # land on the end of the protocol step
            attempt_start = time.monotonic()
            ok = self._try(step, cycle, dt)
            indicator = max((p.error_indicator() for p in self.problems), default=0.0) if ok else float("inf")
            if not ok or (indicator > 1.5 and dt > control.dt_min_s):
                for p in self.problems:
                    p.reject()
                self._rejected += 1
                self._rejected_its += self._last_its
                self.rejected_wall_s += time.monotonic() - attempt_start
                if not ok:
                    self.ceiling_s, self.ceiling_age = min(self.ceiling_s, dt), 0
                    new_dt = dt * control.shrink_factor
                    if 0 < self.last_accepted_s <= RETRY_LAST_ACCEPTED * dt:
                        new_dt = max(new_dt, self.last_accepted_s)
                else:
                    new_dt = dt * max(control.shrink_factor, 0.9 / indicator)
                why = f"Newton failed: {self._last_error}" if not ok else f"error indicator {indicator:.3g} > 1.5"
                self._detail(f"  rejected t = {self.t_s:.6g} s, dt = {dt:.3g} s ({why}); retry with "
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
            self.last_accepted_s = dt
            dt = self._next_dt(dt, its, indicator, control)
            self.next_dt_s = dt
            if self.on_checkpoint is not None:
                self.on_checkpoint(self)

    def _next_dt(self, dt: float, its: int, indicator: float, control: TimeStepping) -> float:
        """The step after an accepted one of size ``dt`` (``its`` Newton iterations, error ``indicator``)."""
        factor = control.growth_factor
        if indicator > 0:
            factor = min(factor, 0.9 / indicator)
        if its > control.target_newton_iterations:
            # hard steps do not grow; only very hard ones shrink (Newton counts that do not
            # fall with dt must not drive dt to dt_min)
            factor = min(factor, 1.0 if its <= 2 * control.target_newton_iterations
                         else control.target_newton_iterations / its)
        new = dt * factor
        self.ceiling_age += 1
        if self.ceiling_age > CEILING_MEMORY:
            self.ceiling_s = math.inf
        if new >= self.ceiling_s:
            # no regrowth to a size that failed: halfway (in log dt) between it and what just worked,
            # or no growth once the two are close
            new = dt if self.ceiling_s < CEILING_BRACKET * dt else math.sqrt(dt * self.ceiling_s)
        return min(max(new, control.dt_min_s), control.dt_max_s)

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
            for _ in range(MAX_COUPLING_ITERATIONS):
                # coupling iterations: a problem whose step depends on the step's solution (iterate() -> True:
                # it has corrected its trial state) has the problems after it solve the step again
                again = [i for i, p in enumerate(self.problems) if getattr(p, "iterate", None) and p.iterate()]
                if not again:
                    break
                for p in self.problems[min(again) + 1:]:
                    resolve = getattr(p, "resolve", None)
                    if resolve is not None:      # from the step's last solution
                        its = max(its, resolve(self.t_s + dt, dt, step))
                    else:
                        p.reject()
                        its = max(its, p.advance(self.t_s + dt, dt, step))
            for p in self.problems:
                # a problem whose coupling iterations solved to a looser tolerance tightens its last solve
                settle = getattr(p, "settle", None)
                if settle is not None:
                    its = max(its, settle(self.t_s + dt, dt, step))
        except SolverError as err:
            interrupt.check()   # Ctrl-C inside PETSc comes back as a failed solve: stop, do not retry
            if step is STATIC_STEP:
                raise
            self._last_error = str(err)
            self._last_its = max(its, err.newton_iterations)
            return False
        self._last_its = its
        return True

    def _accept(self, step: Step, cycle: int, dt: float, its: int) -> None:
        # committed states, time and history row together: a Ctrl-C between them had checkpointed the
        # new state with the row before it, and the resumed history lacked a step (interrupt.deferred)
        with interrupt.deferred():
            for p in self.problems:
                p.accept()
            self.t_s += dt
            row = {"step": len(self.history), "cycle": cycle, "protocol_step": step.text, "time_s": self.t_s,
                   "dt_s": dt, "newton_iterations": its, "rejected_steps": self._rejected,
                   "rejected_newton_iterations": self._rejected_its, "steps_above_tolerance": self._inaccurate}
            for p in self.problems:
                row.update(p.metrics())
            self.history.append(row)
        if step is not STATIC_STEP:
            self._detail(f"step {row['step']:4d}  t = {self.t_s:10.4g} s  dt = {dt:9.3g} s  Newton {its:2d}  "
                         f"[{step.text}, cycle {cycle}]{self._time_left()}")
            if self._bar is not None:
                self._bar.update_to(self.t_s, step=row["step"], cycle=cycle, dt=f"{dt:.3g} s", Newton=its)
        if self.on_accept is not None:
            self.on_accept(row)


__all__ = ["TimeLoop", "TimeProblem", "STATIC_STEP", "LOAD_STEP", "CEILING_MEMORY", "CEILING_BRACKET",
           "RETRY_LAST_ACCEPTED"]
