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
from scipy.linalg import solve_banded


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





def axial_strain_profile(z_m, eps_pressed, support: AxialSupport, axial_stiffness_N: float, eps_span: float = 0.0,
                         eps_layers: float = 0.0, eps_anchors: float = 0.0, points: int = 2801) -> np.ndarray:
    """u'(z) at ``z_m`` (from the cell's centre) when the free Poisson strain varies along the fibre:
    ``eps_pressed`` a callable z -> eps_p (|z| < a). The same equations as :func:`axial_strain` over the
    whole anchor span -b..b, in conservative finite-volume form
    (EA (u' - eps_0))' = k (u - eps_m z) with the anchor springs at both ends (second order); for a
    uniform eps_p it is the closed form."""
    a, b = support.pressed_half_length_m, support.anchor_half_length_m
    EA, k = axial_stiffness_N, support.shear_stiffness_N_per_m2
    z = np.linspace(-b, b, points)
    h = z[1] - z[0]
    mid = 0.5 * (z[1:] + z[:-1])
    eps0 = np.where(np.abs(mid) < a, np.asarray([eps_pressed(v) for v in mid]), eps_span)
    ka = support.anchor_stiffness_N_per_m
    n = points
    lower, diag, upper, rhs = np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n)
    inside = np.abs(z) < a
    # interior nodes: (N_{i+1/2} - N_{i-1/2}) / h = k (u_i - eps_m z_i) on the pressed length, 0 in the spans
    for i in range(1, n - 1):
        kk = k if inside[i] else 0.0
        lower[i], upper[i] = EA / h ** 2, EA / h ** 2
        diag[i] = -2 * EA / h ** 2 - kk
        rhs[i] = (EA * (eps0[i] - eps0[i - 1])) / h - kk * eps_layers * z[i]
    # ends: the anchor springs. Right: EA (u' - eps_s) = k_a (u_b - u), u_b = eps_b b; left, mirrored:
    # EA (u' - eps_s) = k_a (u - u_-b), u_-b = -eps_b b (one-sided slopes; a rigid anchor holds u)
    if math.isinf(ka):
        diag[0], rhs[0] = 1.0, -eps_anchors * b
        diag[-1], rhs[-1] = 1.0, eps_anchors * b
    else:
        diag[0], upper[0], rhs[0] = EA / h + ka, -EA / h, -ka * eps_anchors * b - EA * eps0[0]
        diag[-1], lower[-1], rhs[-1] = EA / h + ka, -EA / h, ka * eps_anchors * b + EA * eps0[-1]
    ab = np.zeros((3, n))
    ab[0, 1:] = upper[:-1]
    ab[1] = diag
    ab[2, :-1] = lower[1:]
    u = solve_banded((1, 1), ab, rhs)
    du = np.gradient(u, h)
    return np.interp(np.asarray(z_m, dtype=float), z, du)

__all__ = ["AxialSupport", "axial_strain", "axial_strain_profile", "shear_lag_stiffness", "anchor_stiffness"]
