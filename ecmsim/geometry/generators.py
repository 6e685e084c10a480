"""Parametric interface windows: electrolyte (bottom) under electrode (top).

Every generator returns a :class:`~ecmsim.geometry.Geometry` whose electrolyte occupies
``0 <= y <= electrolyte_thickness_m`` (plus the interface relief) and whose electrode fills the
rest up to ``electrolyte_thickness_m + electrode_thickness_m``.
"""

from __future__ import annotations

import numpy as np

from ecmsim.errors import GeometryError
from ecmsim.geometry import Geometry, Region


def bilayer_from_interface(width_m: float, electrode_thickness_m: float, electrolyte_thickness_m: float,
                           interface: np.ndarray, description: str = "") -> Geometry:
    """Split the window along an interface polyline running from x = 0 to x = width.

    Args:
        interface: (N, 2) points [m] ordered from the left edge (x = 0) to the right edge
            (x = width); mean height near ``electrolyte_thickness_m``.
    """
    interface = np.asarray(interface, dtype=float)
    height = electrolyte_thickness_m + electrode_thickness_m
    if not (np.isclose(interface[0, 0], 0.0) and np.isclose(interface[-1, 0], width_m, rtol=1e-12, atol=0)):
        raise GeometryError("the interface polyline must run from x = 0 to x = width")
    if interface[:, 1].min() <= 0 or interface[:, 1].max() >= height:
        raise GeometryError(
            f"the interface (y from {interface[:, 1].min():.3g} to {interface[:, 1].max():.3g} m) must stay "
            f"strictly inside the window (0 < y < {height:.3g} m): reduce the amplitude or thicken the layers")
    bottom = np.array([[0.0, 0.0], [width_m, 0.0]])
    top = np.array([[width_m, height], [0.0, height]])
    electrolyte = np.vstack([bottom, interface[::-1]])   # counter-clockwise
    electrode = np.vstack([interface, top])               # counter-clockwise
    return Geometry(width_m, height, [Region("electrolyte", electrolyte), Region("electrode", electrode)],
                    description)


def flat(width_m: float, electrode_thickness_m: float, electrolyte_thickness_m: float) -> Geometry:
    """Flat interface at y = electrolyte_thickness_m."""
    interface = np.array([[0.0, electrolyte_thickness_m], [width_m, electrolyte_thickness_m]])
    return bilayer_from_interface(width_m, electrode_thickness_m, electrolyte_thickness_m, interface,
                                  "flat bilayer")


def sinusoidal(width_m: float, electrode_thickness_m: float, electrolyte_thickness_m: float,
               amplitude_m: float, wavelength_m: float, points_per_wavelength: int = 64) -> Geometry:
    """Interface y = electrolyte_thickness_m + amplitude_m sin(2 pi x / wavelength_m).

    The curve is a polyline of ``points_per_wavelength`` segments per period; its chordal error
    is about ``amplitude * (pi / points_per_wavelength)**2 / 2`` (1.2e-3 amplitude at 64).
    """
    n = max(8, int(np.ceil(points_per_wavelength * width_m / wavelength_m)))
    x = np.linspace(0.0, width_m, n + 1)
    y = electrolyte_thickness_m + amplitude_m * np.sin(2 * np.pi * x / wavelength_m)
    return bilayer_from_interface(width_m, electrode_thickness_m, electrolyte_thickness_m,
                                  np.column_stack([x, y]),
                                  f"sinusoidal interface, amplitude {amplitude_m:g} m, wavelength {wavelength_m:g} m")
