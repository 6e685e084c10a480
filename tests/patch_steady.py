"""The steady state of a stripped patch supplied by Li diffusing along the interface, in 1D (a helper of
tests/test_interface_diffusion.py and tests/test_persistent_voids.py).

The surface recedes uniformly at the mean rate v_bar while diffusion carries B p'' = v(x) - v_bar over the half
window [0, 2a] (mirror sides, mean p = P); contact is lost where p first reaches 0, at the patch's centre x = 0, so
the onset is v* = C P B / a^2 with C = 1 / (mean(p) - p(0)) per unit v B / a^2."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np


def steady_patch_constant(rate: Callable[[np.ndarray], np.ndarray], points: int = 200_001) -> float:
    """C of v* = C P B / a^2 for the stripping profile ``rate`` (v(x) / v on [0, 2a], a = 1), integrated with the
    trapezoid rule on ``points`` points: 4 for a sharp edge (v = 1 on x < a), 4.36 for strip_patch's ramp."""
    a = 1.0
    x = np.linspace(0.0, 2 * a, points)
    v = rate(x)
    s = v - np.trapezoid(v, x) / (2 * a)
    dx = x[1] - x[0]
    dp = np.concatenate([[0.0], np.cumsum(0.5 * (s[1:] + s[:-1]) * dx)])
    p = np.concatenate([[0.0], np.cumsum(0.5 * (dp[1:] + dp[:-1]) * dx)])
    return 1.0 / (np.trapezoid(p, x) / (2 * a) - p[0])
