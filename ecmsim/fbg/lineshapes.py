"""Line shapes of the model-based decomposition (:mod:`ecmsim.fbg.decompose`): the grating's own
reflection (and its chirped versions), and the generic lines of a measured spectrum.
"""

from __future__ import annotations

import math
from dataclasses import replace

import numpy as np

from ecmsim.fbg import tmm
from ecmsim.fbg.optics import Fibre, apodization, section_count
from ecmsim.fbg.parameters import Grating

#: Most sections of a chirped component's transfer matrix.
CHIRP_SECTIONS = 128


class LineShape:
    """Reflectance of one polarisation of the unloaded grating against detuning, as a cubic spline
    on a fine grid, and chirped versions by direct transfer matrix.

    The detuning variable is x = (lambda - c) lambda_0 / lambda, which makes the shape exact in
    sigma^ = 2 pi n (1/c - 1/lambda) when it is moved to another centre c (only kappa = pi v dn /
    lambda changes, by ~1e-3 over 1.5 nm: within the floor after the free amplitude).
    """

    def __init__(self, grating: Grating, fibre: Fibre, centre_m: float, half_span_m: float,
                 step_m: float = 0.2e-12):
        self.grating = grating
        self.fibre = fibre
        self.centre_m = float(centre_m)
        n = fibre.effective_index
        self.index = n
        # sections of the grating: one exact section for a uniform grating
        if grating.apodization == "uniform" and not grating.dc_apodized:
            M = 1
        else:
            M = min(section_count(replace(grating, sections=None), fibre), 256)
        self.sections = M
        # sections of a chirped component: at most CHIRP_SECTIONS (a 1.5 nm chirp in 128 steps of
        # 12 pm, well inside the local stop band of ~0.2 nm)
        self.chirp_sections = min(section_count(grating, fibre), CHIRP_SECTIONS)
        edges = np.linspace(-0.5 * grating.length_m, 0.5 * grating.length_m, M + 1)
        self.z_m = 0.5 * (edges[:-1] + edges[1:])
        self.dz_m = grating.length_m / M
        g = apodization(grating, self.z_m)
        self.coupling = math.pi * grating.visibility * grating.delta_n * g
        # DC-apodized: the wings sit blue of the centre by delta_n (1 - g) / n
        self.dc_factor = (1.0 - grating.delta_n * (1.0 - g) / n) if grating.dc_apodized else np.ones(M)
        x = np.arange(-half_span_m, half_span_m + step_m, step_m)
        lam = self.centre_m + x
        R = self._tmm(lam, self.centre_m, 0.0, M)
        # linear interpolation on the fine grid (error ~ step^2 R'' / 8 ~ 1e-6 of the peak for
        # 0.2 pm steps) of the values and of their derivative (cubic spline, once)
        from scipy.interpolate import CubicSpline
        self._x_grid = x
        self._values = R
        self._slopes = CubicSpline(x, R).derivative()(x)
        self.x_range = (float(x[0]), float(x[-1]))
        self.peak = float(R.max())
        half = x[R >= 0.5 * R.max()]
        self.fwhm_m = float(half[-1] - half[0]) if half.size else step_m

    def _tmm(self, lam, centre, span, M):
        """Reflectance of the grating with local Bragg wavelength linear from centre - span/2 to
        centre + span/2 along z (sections of this shape's grating, or M for a chirp)."""
        if M == self.sections:
            z, coupling, dz, dc = self.z_m, self.coupling, self.dz_m, self.dc_factor
        else:
            edges = np.linspace(-0.5 * self.grating.length_m, 0.5 * self.grating.length_m, M + 1)
            z = 0.5 * (edges[:-1] + edges[1:])
            dz = self.grating.length_m / M
            g = apodization(self.grating, z)
            coupling = math.pi * self.grating.visibility * self.grating.delta_n * g
            dc = (1.0 - self.grating.delta_n * (1.0 - g) / self.index) if self.grating.dc_apodized else np.ones(M)
        bragg = (centre + span * z / self.grating.length_m) * dc
        return tmm.reflectance(lam, bragg[None, :], np.full((1, M), self.index), coupling, dz, workers=1)[0]

    def _x(self, lam, c):
        return (lam - c) * self.centre_m / lam

    def value(self, lam, c):
        """The line shape moved to centre c (0 outside the tabulated detuning range)."""
        return np.interp(self._x(lam, c), self._x_grid, self._values, left=0.0, right=0.0)

    def slope_c(self, lam, c):
        """d value / d c."""
        return -np.interp(self._x(lam, c), self._x_grid, self._slopes, left=0.0, right=0.0) * self.centre_m / lam

    def chirped(self, lam, c, span):
        """Line shape of the grating chirped over ``span`` around c (span = 0: :meth:`value`)."""
        if span <= 0.0:
            return self.value(lam, c)
        return self._tmm(lam, c, span, self.chirp_sections)


#: Generic line shapes of a measured spectrum whose lines are not the grating's own (another
#: grating, an interrogator's own filter, a broadened reflection): height a, centre c, FWHM w.
GENERIC_SHAPES = ("gaussian", "lorentzian", "pseudo_voigt")
#: Every family of components, in the order they are tried.
FAMILIES = ("grating", "chirped", *GENERIC_SHAPES)
_LN2 = math.log(2.0)


def generic_value(x_pm, c_pm, w_pm, family: str, eta: float = 0.5):
    """The line of :func:`generic_line` alone, without its derivatives (the model of every fit
    step needs only this: a third of the work for a Gaussian or Lorentzian)."""
    u = (x_pm - c_pm) / w_pm
    if family == "gaussian":
        return np.exp(-4.0 * _LN2 * u * u)
    if family == "lorentzian":
        return 1.0 / (1.0 + 4.0 * u * u)
    return eta * (1.0 / (1.0 + 4.0 * u * u)) + (1 - eta) * np.exp(-4.0 * _LN2 * u * u)


def generic_line(x_pm, c_pm, w_pm, family: str, eta: float = 0.5):
    """A generic line of height 1 at detuning x [pm] (Gaussian exp(-4 ln2 u^2), Lorentzian
    1 / (1 + 4 u^2), pseudo-Voigt eta L + (1 - eta) G; u = (x - c) / w, w the FWHM) and its
    derivatives by c, w and eta (each shape computed only when the family needs it)."""
    u = (x_pm - c_pm) / w_pm
    if family != "lorentzian":
        g = np.exp(-4.0 * _LN2 * u * u)
        dg = (8.0 * _LN2 * u * g / w_pm, 8.0 * _LN2 * u * u * g / w_pm)          # d/dc, d/dw
        if family == "gaussian":
            return g, dg[0], dg[1], np.zeros_like(g)
    lor = 1.0 / (1.0 + 4.0 * u * u)
    dl = (8.0 * u * lor * lor / w_pm, 8.0 * u * u * lor * lor / w_pm)
    if family == "lorentzian":
        return lor, dl[0], dl[1], np.zeros_like(lor)
    return (eta * lor + (1 - eta) * g, eta * dl[0] + (1 - eta) * dg[0], eta * dl[1] + (1 - eta) * dg[1], lor - g)


__all__ = ["LineShape", "generic_line", "generic_value", "GENERIC_SHAPES", "CHIRP_SECTIONS"]
