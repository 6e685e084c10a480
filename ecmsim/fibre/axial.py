r"""The fibre along its length: anchored in the cell body, held by the layers it is pressed into.

The grating's axial strain is not set by the cross-section alone: the fibre (axial stiffness
EA) passes through two holes in the cell body's wall, where epoxy anchors it, and lies across the
electrode in between. Over the electrode (:math:`|z| < a`, the electrode radius) the layers hold
it by shear (a shear lag of stiffness k: shear force per unit length per unit slip); between the
electrode's edge and the wall (:math:`a < |z| < b`, the bore radius) it spans free; at the wall
the anchor (a spring of stiffness :math:`k_a`, infinite for rigid epoxy) follows the body.

With every strain measured from the fibre's own free thermal expansion (the optics adds that
and the thermo-optic shift from the temperature):

- :math:`\varepsilon_p` the axial strain the fibre would take without axial restraint where it
  is pressed, :math:`-\nu(\sigma_{xx}+\sigma_{yy})/E` (Poisson);
- :math:`\varepsilon_s` the same in the free spans (0 unless heated differently);
- :math:`\varepsilon_m` the axial strain of the layers where they hold it (their thermal
  mismatch :math:`(\alpha_m - \alpha_f)\Delta T` plus any mechanical strain);
- :math:`\varepsilon_b` the anchors' strain, the body's thermal mismatch :math:`(\alpha_b-\alpha_f)\Delta T`.

Equilibrium :math:`N' = k(u - \varepsilon_m z)` with :math:`N = EA(u' - \varepsilon_p)` over the
electrode, :math:`N` constant in the spans, :math:`u(b) = \varepsilon_b b - N(b)/k_a`, symmetry
:math:`u(0) = 0`. With :math:`\lambda = \sqrt{k/EA}`, :math:`r = EA/k_a`, :math:`\ell = b - a`:

.. math::

    u'(z) = \varepsilon_m + C\lambda\cosh\lambda z, \qquad
    C\,[\sinh\lambda a + \lambda\cosh\lambda a\,(\ell + r)] =
    \varepsilon_b b - \varepsilon_m a - \ell(\varepsilon_s + \varepsilon_m - \varepsilon_p) - r(\varepsilon_m - \varepsilon_p)

(Cox's shear lag, Br. J. Appl. Phys. 3, 72 (1952), with spans and anchors). Limits: a stiff shear
lag holds the fibre to the layers in the middle (:math:`u' \to \varepsilon_m`; "fixed" for
:math:`\varepsilon_m = 0`); no shear lag and free anchors give :math:`u' = \varepsilon_p` ("free");
no shear lag and rigid anchors stretch the whole span uniformly,
:math:`u' = (\varepsilon_b b - \ell(\varepsilon_s - \varepsilon_p))/b`.

The shear-lag stiffness of a fibre in a layer of shear modulus G over a fraction :math:`\phi` of
its rim, the layer reaching a distance t beyond it (:func:`shear_lag_stiffness`):
:math:`k = 2\pi\phi G / \ln(1 + t/R)` (Cox's cylindrical estimate). An epoxy anchor (the fibre
glued over a length :math:`L_a` in a hole of diameter :math:`d_h`) is the same shear lag, fully
around the fibre, pulled at one end (:func:`anchor_stiffness`):
:math:`k_a = EA\,\lambda_a \tanh(\lambda_a L_a)`, :math:`\lambda_a = \sqrt{k_e/EA}`,
:math:`k_e = 2\pi G_e/\ln(d_h/2R)`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class AxialSupport:
    """How the cell holds the fibre along z.

    Attributes:
        pressed_half_length_m: a, half the length over which the layers hold the fibre (the
            electrode's radius) [m].
        anchor_half_length_m: b, half the distance between the anchors (the bore's radius) [m].
        shear_stiffness_N_per_m2: k [N/m per m of slip, N/m²]; 0: the layers let it slide.
        anchor_stiffness_N_per_m: k_a [N/m]; math.inf: rigid epoxy.
    """

    pressed_half_length_m: float
    anchor_half_length_m: float
    shear_stiffness_N_per_m2: float
    anchor_stiffness_N_per_m: float = math.inf

    def __post_init__(self) -> None:
        if not 0 < self.pressed_half_length_m <= self.anchor_half_length_m:
            raise ValueError(f"the pressed half length ({self.pressed_half_length_m:g} m) must lie inside the "
                             f"anchors' half distance ({self.anchor_half_length_m:g} m)")
        if self.shear_stiffness_N_per_m2 < 0 or not self.anchor_stiffness_N_per_m > 0:
            raise ValueError("shear and anchor stiffness must be >= 0 and > 0")


def axial_strain(z_m, support: AxialSupport, axial_stiffness_N: float, eps_pressed: float, eps_span: float = 0.0,
                 eps_layers: float = 0.0, eps_anchors: float = 0.0) -> np.ndarray:
    """The fibre's axial strain u'(z) at |z| <= a (module docstring), measured from its free thermal
    expansion [-]. ``axial_stiffness_N``: EA of the fibre [N]."""
    z = np.abs(np.asarray(z_m, dtype=float))
    a, b = support.pressed_half_length_m, support.anchor_half_length_m
    ell = b - a
    r = 0.0 if math.isinf(support.anchor_stiffness_N_per_m) else axial_stiffness_N / support.anchor_stiffness_N_per_m
    rhs = eps_anchors * b - eps_layers * a - ell * (eps_span + eps_layers - eps_pressed) - r * (eps_layers - eps_pressed)
    lam = math.sqrt(support.shear_stiffness_N_per_m2 / axial_stiffness_N)
    if lam * a < 1e-8:                               # no shear lag: one force from anchor to anchor
        return np.full_like(z, eps_layers + rhs / (a + ell + r))
    # C lambda cosh(lambda z), divided through by cosh(lambda a) (no overflow for stiff shear lags)
    ratio = np.exp(lam * (z - a)) * (1 + np.exp(-2 * lam * z)) / (1 + math.exp(-2 * lam * a))
    return eps_layers + rhs * lam * ratio / (math.tanh(lam * a) + lam * (ell + r))


def shear_lag_stiffness(shear_modulus_Pa: float, rim_fraction: float, layer_thickness_m: float,
                        radius_m: float) -> float:
    """k = 2 pi phi G / ln(1 + t/R) [N/m²] (module docstring)."""
    return 2 * math.pi * rim_fraction * shear_modulus_Pa / math.log(1 + layer_thickness_m / radius_m)


def anchor_stiffness(shear_modulus_Pa: float, length_m: float, hole_diameter_m: float, radius_m: float,
                     axial_stiffness_N: float) -> float:
    """k_a = EA lambda tanh(lambda L) of a fibre glued in a hole (module docstring) [N/m]."""
    k_e = 2 * math.pi * shear_modulus_Pa / math.log(0.5 * hole_diameter_m / radius_m)
    lam = math.sqrt(k_e / axial_stiffness_N)
    return axial_stiffness_N * lam * math.tanh(lam * length_m)


__all__ = ["AxialSupport", "axial_strain", "shear_lag_stiffness", "anchor_stiffness"]
