"""Outputs of time-dependent runs: history.csv, fields as a ParaView time series, metrics against time.

- ``history.csv``: one row per accepted time step (step, cycle, protocol step, time_s, dt_s,
  newton_iterations, rejected_steps and every scalar metric of the problems).
- ``fields/series.pvd``: VTK time series (ParaView opens the .pvd; one .vtu per snapshot in
  ``fields/series/``): the arrays of fields.vtu (displacement [m] at the P2 nodes, the stress
  tensor and principal stresses [Pa], von Mises [Pa], region id) and the equivalent creep strain [-]
  per cell (mean of the quadrature points).
- ``history.png``: von Mises mean and max per region and the largest creep strain against time.
"""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np


def write_history_csv(path: Path, history: list[dict]) -> None:
    """history.csv, numbers in full precision (repr), one column per key of any row."""
    if not history:
        return
    columns = list(history[0])
    for row in history[1:]:
        columns += [k for k in row if k not in columns]
    with open(path, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=columns)
        writer.writeheader()
        for row in history:
            writer.writerow({k: (repr(float(v)) if isinstance(v, float) else v) for k, v in row.items()})  # np.float64 too


def read_history_csv(path: Path) -> dict[str, np.ndarray]:
    """history.csv as column name -> array (numbers as float, text columns as str arrays)."""
    with open(path, newline="") as fh:
        rows = list(csv.DictReader(fh))
    out = {}
    for key in rows[0] if rows else []:
        values = [r[key] for r in rows]
        try:
            out[key] = np.array([float(v) for v in values])
        except ValueError:
            out[key] = np.array(values)
    return out


class FieldSeries:
    """The fields of a time-dependent run as a ParaView time series: ``fields/series.pvd`` naming
    one ``fields/series/fields_NNNN.vtu`` per snapshot with its time. Each holds the arrays of
    fields.vtu (:mod:`ecmsim.io.vtu`: displacement, symmetric stress tensor with named components,
    principal stresses, von Mises, region) and the cell mean of the equivalent creep strain.

    Snapshots: t = 0 (the loads applied), then whenever the time passes the next of ``snapshots``
    equal fractions of ``duration_s``, and the end (:meth:`close`). Gathered to rank 0 like
    fields.vtu, so a mesh above :data:`ecmsim.io.vtu.VTU_MAX_CELLS` cells gets no series."""

    def __init__(self, folder: Path, problem, duration_s: float = 0.0, snapshots: int = 50):
        self.next_s = 0.0
        self.every_s = duration_s / snapshots
        self.last_written_s = None
        self.folder = Path(folder)
        self.problem = problem
        self.steps: list[tuple[float, str]] = []
        comm = problem.tmesh.comm
        if comm.rank == 0:
            (self.folder / "series").mkdir(parents=True, exist_ok=True)
        comm.barrier()

    def on_step(self, t_s: float) -> None:
        """Write if ``t_s`` has reached the next snapshot time."""
        if t_s >= self.next_s * (1 - 1e-12):
            self.write(t_s)
            while self.next_s <= t_s * (1 + 1e-12):
                self.next_s += self.every_s if self.every_s > 0 else np.inf

    def write(self, t_s: float) -> None:
        from ecmsim.io.vtu import gather_fields, write_gathered

        self.last_written_s = t_s
        tmesh = self.problem.tmesh
        extra = {"equivalent_creep_strain": self.problem.cell_means()["equivalent_creep_strain"]}
        g = gather_fields(self.problem.solution(), tmesh, extra)
        name = f"series/fields_{len(self.steps):04d}.vtu"
        self.steps.append((float(t_s), name))
        if g is not None:
            write_gathered(self.folder / name, g)

    def close(self, t_end_s: float | None = None) -> None:
        """Write the state at ``t_end_s`` unless written already, and the collection series.pvd."""
        from ecmsim.io.vtu import write_pvd

        if t_end_s is not None and self.last_written_s != t_end_s:
            self.write(t_end_s)
        if self.problem.tmesh.comm.rank == 0:
            write_pvd(self.folder / "series.pvd", self.steps)

    @property
    def files(self) -> list[str]:
        """The files written, relative to the result folder."""
        return ["fields/series.pvd"] + [f"fields/{name}" for _, name in self.steps]


def history_plot(path: Path, history: list[dict], title: str = "") -> None:
    """Von Mises mean/max per region [MPa] and the largest creep strain against time [s]."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    t = np.array([r["time_s"] for r in history])
    regions = sorted({k.removesuffix("_von_mises_mean_Pa") for r in history for k in r
                      if k.endswith("_von_mises_mean_Pa")})
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(10, 4))
    tt = np.maximum(t, t[t > 0].min() / 2 if np.any(t > 0) else 1.0)   # log axis: t = 0 shown at the left edge
    for region in regions:
        for stat, style in (("mean", "-"), ("max", "--")):
            y = np.array([r.get(f"{region}_von_mises_{stat}_Pa", np.nan) for r in history]) * 1e-6
            ax1.plot(tt, y, style, marker=".", label=f"{region} {stat}")
        ax2.plot(tt, [r.get(f"{region}_creep_strain_max", np.nan) for r in history], marker=".", label=region)
    for ax in (ax1, ax2):
        ax.set_xscale("log")
        ax.set_xlabel("time [s] (t = 0 at the left edge)")
        ax.legend(fontsize=8)
        ax.grid(alpha=0.3)
    ax1.set_ylabel("von Mises stress [MPa]")
    ax2.set_ylabel("largest equivalent creep strain [-]")
    fig.suptitle(title or "metrics against time")
    fig.tight_layout()
    fig.savefig(path, dpi=120)
    plt.close(fig)


__all__ = ["write_history_csv", "read_history_csv", "FieldSeries", "history_plot"]
