"""Whole-run metrics of a plating/stripping window (``ecmsim run`` of a cycling scenario, summary.json): from the
time loop's history and the window's :class:`~ecmsim.electrochem.cycling.CyclingProblem`."""

from __future__ import annotations


def cycling_metrics(cycling, history: list[dict], membrane_thickness_m: float) -> dict[str, float]:
    """Metrics of the whole cycling run from its history: the cell overpotential of the last
    current step (:func:`~ecmsim.electrochem.potential.cell_overpotential_V`), the largest current
    CV and charge-balance error, and the last current step's values."""
    from ecmsim.electrochem.potential import cell_overpotential_V

    metrics: dict[str, float] = {}
    currents = [r for r in history if r.get("applied_current_density_A_m2", 0.0) != 0.0]
    if currents:
        last = currents[-1]
        metrics["cell_overpotential_V"] = cell_overpotential_V(
            {"applied_current_density_A_m2": abs(last["applied_current_density_A_m2"]),
             "ionic_conductivity_S_m": cycling.pot.kappa,
             "window_voltage_V": abs(last["window_voltage_V"]),
             "electrolyte_mean_thickness_m": cycling.pot._sum("electrolyte_area") / cycling.counter_length},
            membrane_thickness_m)
        metrics["current_density_cv_max"] = max(r["current_density_cv"] for r in currents)
        metrics["charge_balance_error_max"] = max(r["charge_balance_error"] for r in currents)
        for key in ("current_density_cv", "current_density_max_A_m2", "window_voltage_V",
                    "applied_current_density_A_m2"):
            metrics[f"last_current_step_{key}"] = last[key]
    return metrics


__all__ = ["cycling_metrics"]
