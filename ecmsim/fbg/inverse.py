"""Inverse FBG: from a reflection spectrum back to the transverse load the grating felt.

Model (docs/fbg.md, "Inverse"): the grating is split into K levels; level j covers a length
fraction w_j of it and carries a diametral line load f_j >= 0 (compression across the fibre,
plane strain, e_zz = 0): at the fibre's centre sigma_x = 2 f / (pi D), sigma_y = -6 f / (pi D),
so sigma_1 - sigma_2 = 8 f / (pi D), and the strains follow by Hooke's law. Both polarisation
eigenmodes of every level get their local Bragg wavelengths from the strain-optic model of
:mod:`ecmsim.fbg.optics`; a common relative shift delta of all Bragg wavelengths (uniform axial
strain or temperature, or an unknown design wavelength) and a reflectance scale alpha (a
measured spectrum's unknown level) are fitted with them:

    R(lambda) = alpha (R_x + R_y) / 2,   R_x, R_y by the transfer matrix of the K segments.

K is chosen by the Bayesian information criterion with the noise estimated from the data
(:func:`ecmsim.fbg.decompose.estimate_noise`, same floor); uncertainties come from the fit's
covariance.

What a reflection spectrum cannot tell, and this model therefore does not claim:

- the order of the segments along z: reflectance is the same seen from either end (the reversed
  order fits exactly as well), and segments whose reflections do not overlap hardly interfere, so
  their order is not seen either. Only overlapping reflections interfere enough for the order to
  matter (the fit tries each new level at every place). The levels are listed in the fitted
  order from the grating's start; read the result as a distribution (how much length at which
  load), not as a profile along z;
- the sign and direction of sigma_1 - sigma_2 (an unpolarised source sees only |sigma_1 - sigma_2|);
- which x line goes with which y line when several levels are present: the diametral-load
  relation between splitting and mean shift decides it, so loads that are not diametral (a
  different ratio of sigma_x to sigma_y) are read as the diametral load of the same splitting.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ecmsim.fbg import tmm
from ecmsim.fbg.decompose import NOISE_FLOOR, estimate_noise, levenberg_marquardt
from ecmsim.fbg.optics import Fibre, apodization, index_changes, period_m
from ecmsim.fbg.parameters import Grating

#: Most levels tried.
MAX_LEVELS = 5
#: Sections per level for an apodized grating (one exact section per level for a uniform one).
SECTIONS_PER_LEVEL = 24
#: Parameter scale: loads are fitted in kN/m (= N/mm).
_LOAD_UNIT = 1e3


def line_load_strains(f_N_m, fibre: Fibre):
    """Principal transverse strains (e_1 along the free direction, e_2 along the load) at the centre
    of a fibre under a diametral line load f [N/m], plane strain (e_zz = 0) [-]."""
    f = np.asarray(f_N_m, dtype=float)
    D, E, nu = fibre.diameter_m, fibre.youngs_modulus_Pa, fibre.poissons_ratio
    sx, sy = 2.0 * f / (math.pi * D), -6.0 * f / (math.pi * D)
    sz = nu * (sx + sy)
    tr = sx + sy + sz
    return ((1 + nu) * sx - nu * tr) / E, ((1 + nu) * sy - nu * tr) / E


def sigma_diff_from_line_load(f_N_m, fibre: Fibre):
    """sigma_1 - sigma_2 = 8 f / (pi D) at the fibre's centre [Pa]."""
    return 8.0 * np.asarray(f_N_m, dtype=float) / (math.pi * fibre.diameter_m)


def line_load_from_sigma_diff(sigma_diff_Pa, fibre: Fibre):
    """Diametral line load with the same sigma_1 - sigma_2 at the fibre's centre [N/m]."""
    return math.pi * fibre.diameter_m * np.asarray(sigma_diff_Pa, dtype=float) / 8.0


@dataclass(frozen=True)
class Level:
    """One level of the recovered distribution (all uncertainties are standard uncertainties)."""

    length_fraction: float
    length_fraction_uncertainty: float
    line_load_N_m: float
    line_load_uncertainty_N_m: float
    sigma_diff_Pa: float
    sigma_diff_uncertainty_Pa: float
    mean_strain: float                  # (e_1 + e_2) / 2 from the load [-]
    bragg_x_m: float
    bragg_y_m: float


@dataclass(frozen=True)
class Inversion:
    """Result of :func:`invert`: ``levels`` in the fitted order from the grating's start (see the
    module docstring for what that order means), the common shift, the fit."""

    levels: tuple[Level, ...]
    shift_relative: float               # delta: every Bragg wavelength times (1 + delta)
    shift_relative_uncertainty: float
    scale: float                        # alpha
    wavelength_m: np.ndarray
    model: np.ndarray
    noise_rms: float
    noise_estimate: float
    chi2_per_dof: float
    candidates: tuple[tuple[int, float, float], ...]    # (levels, BIC, chi^2)
    grating_length_m: float
    design_wavelength_m: float
    notes: tuple[str, ...] = field(default=())

    def rows(self) -> list[dict[str, float]]:
        """inverse_profile.csv rows: the levels one after the other from the grating's start (fitted
        order; the reversed order fits equally well)."""
        out = []
        start = 0.0
        for lv in self.levels:
            length = lv.length_fraction * self.grating_length_m
            out.append({"z_m": start + 0.5 * length, "length_m": length,
                        "length_uncertainty_m": lv.length_fraction_uncertainty * self.grating_length_m,
                        "sigma_diff_Pa": lv.sigma_diff_Pa, "sigma_diff_uncertainty_Pa": lv.sigma_diff_uncertainty_Pa,
                        "line_load_N_m": lv.line_load_N_m, "line_load_uncertainty_N_m": lv.line_load_uncertainty_N_m,
                        "mean_strain": lv.mean_strain, "uniform_shift_strain": self.shift_relative,
                        "bragg_x_nm": lv.bragg_x_m * 1e9, "bragg_y_nm": lv.bragg_y_m * 1e9})
            start += length
        return out

    def metrics(self) -> dict[str, object]:
        loads = [lv.line_load_N_m for lv in self.levels]
        weights = [lv.length_fraction for lv in self.levels]
        return {
            "fbg_inverse_levels": len(self.levels),
            "fbg_inverse_line_load_N_m": loads,
            "fbg_inverse_line_load_uncertainty_N_m": [lv.line_load_uncertainty_N_m for lv in self.levels],
            "fbg_inverse_sigma_diff_Pa": [lv.sigma_diff_Pa for lv in self.levels],
            "fbg_inverse_length_fraction": weights,
            "fbg_inverse_mean_line_load_N_m": float(np.dot(loads, weights)),
            "fbg_inverse_uniform_shift_pm": self.shift_relative * self.design_wavelength_m * 1e12,
            "fbg_inverse_scale": self.scale,
            "fbg_inverse_noise_rms": self.noise_rms,
            "fbg_inverse_chi2_per_dof": self.chi2_per_dof,
            "fbg_inverse_criterion": [[k, b] for k, b, _ in self.candidates],
        }


class _Model:
    """The forward model of the inverse: K segments, one per level, in increasing load."""

    def __init__(self, lam, grating: Grating, fibre: Fibre, kernel: str | None = None):
        self.lam = lam
        self.grating = grating
        self.fibre = fibre
        self.kernel = tmm.default_kernel() if kernel is None else kernel
        self.m = 1 if grating.apodization == "uniform" and not grating.dc_apodized else SECTIONS_PER_LEVEL
        n = fibre.effective_index
        self.period = period_m(grating, fibre)

    def bragg(self, loads_N_m, delta):
        """Local Bragg wavelengths (2, K) of the two eigenmodes under the loads, times 1 + delta."""
        e1, e2 = line_load_strains(loads_N_m, self.fibre)
        dn1, dn2 = index_changes(self.fibre, e1, e2, 0.0)
        n = self.fibre.effective_index
        return np.stack([n + dn1, n + dn2]) * 2.0 * self.period * (1.0 + delta), np.stack([n + dn1, n + dn2])

    def reflectance(self, loads_N_m, fractions, delta):
        L = self.grating.length_m
        K = len(loads_N_m)
        bragg, index = self.bragg(loads_N_m, delta)
        m = self.m
        lengths = np.repeat(np.asarray(fractions) * L / m, m)                 # (K m,)
        edges = np.concatenate([[0.0], np.cumsum(lengths)]) - 0.5 * L
        z = 0.5 * (edges[:-1] + edges[1:])
        g = apodization(self.grating, z)
        n = self.fibre.effective_index
        base = (n - self.grating.delta_n * (1.0 - g)) / n if self.grating.dc_apodized else np.ones_like(z)
        bragg_s = np.repeat(bragg, m, axis=1) * base
        index_s = np.repeat(index, m, axis=1)
        coupling = math.pi * self.grating.visibility * self.grating.delta_n * g
        c = (2.0 * math.pi * lengths) * index_s / bragg_s
        kdz = coupling * lengths
        if self.kernel == "numba":
            from ecmsim.fbg import fastkernel
            A, B = fastkernel.chain(self.lam, bragg_s, c, kdz)
        else:
            A, B = tmm._chain(self.lam, bragg_s, c, kdz)
        R = (B.real ** 2 + B.imag ** 2) / (A.real ** 2 + A.imag ** 2)
        del K
        return 0.5 * (R[0] + R[1])


def _unpack(theta, K):
    """theta = [scale, delta (ppm), loads (kN/m) x K, weights x (K - 1)] -> (scale, delta, loads, fractions)."""
    scale, delta = theta[0], theta[1] * 1e-6
    loads = theta[2:2 + K] * _LOAD_UNIT
    u = np.concatenate([[1.0], theta[2 + K:2 + 2 * K - 1]])
    return scale, delta, loads, u / u.sum()


def invert(wavelength_m, reflectance, grating: Grating | None = None, fibre: Fibre | None = None, *,
           max_levels: int = MAX_LEVELS, levels: int | None = None, noise_rms: float | None = None,
           floor: float = NOISE_FLOOR, kernel: str | None = None) -> Inversion:
    """Recover the distribution of transverse load along the grating from its spectrum.

    Args:
        wavelength_m, reflectance: the spectrum (unpolarised source) [m], [-].
        grating, fibre: the grating that reflected it (length, delta_n, apodization, design wavelength).
        max_levels: most levels tried (the count is chosen by BIC); ``levels`` fixes it instead.
        noise_rms: noise level [-]; None estimates it from the data.
        floor: lowest noise level assumed, fraction of max R.
    """
    grating = grating or Grating()
    fibre = fibre or Fibre.from_material("silica")
    lam = np.asarray(wavelength_m, dtype=float)
    R = np.asarray(reflectance, dtype=float)
    estimate = estimate_noise(R)
    sigma = max(estimate if noise_rms is None else float(noise_rms), floor * max(float(R.max()), 1e-300))
    model = _Model(lam, grating, fibre, kernel)
    N = lam.size
    lam_d = grating.design_wavelength_m
    # sensitivities of the two lines to the load [m per N/m]
    b1, _ = model.bragg(np.array([1000.0]), 0.0)
    b0, _ = model.bragg(np.array([0.0]), 0.0)
    dx, dy = (b1[0, 0] - b0[0, 0]) / 1000.0, (b1[1, 0] - b0[1, 0]) / 1000.0
    split_per_load = abs(dx - dy)
    mean_per_load = 0.5 * (dx + dy)

    def residual_fn(K):
        def resid(theta):
            scale, delta, loads, w = _unpack(theta, K)
            return (scale * model.reflectance(loads, w, delta) - R) / sigma
        return resid

    def jac_fn(K, resid):
        def jac(theta):
            r0 = resid(theta)
            J = np.empty((N, theta.size))
            for i in range(theta.size):
                h = 1e-6 * max(abs(theta[i]), 1e-2)
                t = theta.copy()
                t[i] += h
                J[:, i] = (resid(t) - r0) / h
            return J
        return jac

    def fit(theta0, K):
        resid = residual_fn(K)
        lo = np.concatenate([[0.0, -5e4], np.zeros(K), np.full(K - 1, 0.02)])
        hi = np.concatenate([[10.0, 5e4], np.full(K, 200.0), np.full(K - 1, 50.0)])
        x, r, J = levenberg_marquardt(resid, jac_fn(K, resid), np.asarray(theta0, float), lo, hi, max_iter=100)
        chi2 = float(r @ r)
        return {"theta": x, "K": K, "chi2": chi2, "score": chi2 + x.size * math.log(N), "jac": J}

    # one level: the load from the envelope's width beyond the unloaded line, the shift from the centroid
    weight = np.clip(R - 0.5 * R.max(), 0, None)
    centroid = float(np.sum(lam * weight) / np.sum(weight))
    above = lam[R >= 0.5 * R.max()]
    unloaded = model.reflectance(np.array([0.0]), np.array([1.0]), 0.0)
    above0 = lam[unloaded >= 0.5 * unloaded.max()]
    width0 = (above0[-1] - above0[0]) if above0.size else 0.0
    starts = []
    for guess in (max((above[-1] - above[0]) - width0, 0.0) / split_per_load,):
        for f0 in (guess, 0.5 * guess + 100.0, 1.5 * guess + 100.0):
            delta0 = (centroid - lam_d - mean_per_load * f0) / lam_d
            starts.append([R.max() / max(unloaded.max(), 1e-12), delta0 * 1e6, f0 / _LOAD_UNIT])
    fits = [min((fit(s, 1) for s in starts), key=lambda f: f["chi2"])]
    if levels is not None:
        max_levels = levels
    best_score, worse = fits[0]["score"], 0
    for K in range(2, max_levels + 1):
        prev = fits[-1]
        scale, delta, loads, w = _unpack(prev["theta"], K - 1)
        trials = []
        for j in range(K - 1):          # split level j in place, the lower load first or second
            for first, second in ((0.7, 1.3), (1.3, 0.7)):
                new_loads = np.concatenate([loads[:j], [loads[j] * first + 50.0, loads[j] * second + 50.0], loads[j + 1:]])
                new_w = np.concatenate([w[:j], [0.5 * w[j], 0.5 * w[j]], w[j + 1:]])
                trials.append(np.concatenate([[scale, delta * 1e6], new_loads / _LOAD_UNIT, new_w[1:] / new_w[0]]))
        f = min((fit(t, K) for t in trials), key=lambda f: f["chi2"])
        fits.append(f)
        if levels is None:
            if f["score"] < best_score:
                best_score, worse = f["score"], 0
            else:
                worse += 1
                if worse >= 2:
                    break
    best = fits[-1] if levels is not None else min(fits, key=lambda f: f["score"])
    return _result(best, fits, model, lam, R, sigma, estimate, grating, fibre)


def _result(best, fits, model: _Model, lam, R, sigma, estimate, grating, fibre) -> Inversion:
    K = best["K"]
    theta = best["theta"]
    dof = max(lam.size - theta.size, 1)
    chi2_dof = best["chi2"] / dof
    J = best["jac"]
    cov = np.linalg.pinv(J.T @ J) * max(1.0, chi2_dof)
    scale, delta, loads, w = _unpack(theta, K)
    # uncertainties of the fractions: propagate through w = u / sum(u) numerically
    eps = 1e-6
    Jw = np.zeros((K, theta.size))
    for i in range(2 + K, theta.size):
        t = theta.copy()
        t[i] += eps
        Jw[:, i] = (_unpack(t, K)[3] - w) / eps
    cov_w = Jw @ cov @ Jw.T
    bragg, _ = model.bragg(loads, delta)
    e1, e2 = line_load_strains(loads, fibre)
    lv = []
    for j in range(K):
        sf = math.sqrt(max(cov[2 + j, 2 + j], 0.0)) * _LOAD_UNIT
        lv.append(Level(length_fraction=float(w[j]), length_fraction_uncertainty=math.sqrt(max(cov_w[j, j], 0.0)),
                        line_load_N_m=float(loads[j]), line_load_uncertainty_N_m=sf,
                        sigma_diff_Pa=float(sigma_diff_from_line_load(loads[j], fibre)),
                        sigma_diff_uncertainty_Pa=float(sigma_diff_from_line_load(sf, fibre)),
                        mean_strain=float(0.5 * (e1[j] + e2[j])),
                        bragg_x_m=float(bragg[0, j]), bragg_y_m=float(bragg[1, j])))
    fitted = scale * model.reflectance(loads, w, delta)
    notes = ("levels are a distribution over the grating's length: a reflection spectrum does not tell "
             "the order of segments along z (the reversed order fits exactly as well; levels whose reflections "
             "do not overlap can be permuted freely); z_m only places them one after the other",
             "only |sigma_1 - sigma_2| is seen with an unpolarised source; the load is read as a diametral "
             "line load (plane strain), which fixes how each level's two polarisation lines pair up")
    return Inversion(levels=tuple(lv), shift_relative=float(delta),
                     shift_relative_uncertainty=math.sqrt(max(cov[1, 1], 0.0)) * 1e-6, scale=float(scale),
                     wavelength_m=lam, model=fitted, noise_rms=sigma, noise_estimate=estimate,
                     chi2_per_dof=chi2_dof, candidates=tuple((f["K"], f["score"], f["chi2"]) for f in fits),
                     grating_length_m=grating.length_m, design_wavelength_m=grating.design_wavelength_m,
                     notes=notes)
