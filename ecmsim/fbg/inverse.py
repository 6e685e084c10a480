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
    mean_strain: float                  # (e_1 + e_2) / 2: the load's, plus the level's shift read as one [-]
    relative_shift: float               # both lines of the level moved by this factor beyond the load's shift
    bragg_x_m: float
    bragg_y_m: float


@dataclass(frozen=True)
class Inversion:
    """Result of :func:`invert`: ``levels`` in the fitted order from the grating's start (see the
    module docstring for what that order means), the common shift, the fit."""

    levels: tuple[Level, ...]
    shift_relative: float               # length-weighted mean of the levels' shifts delta
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
                        "mean_strain": lv.mean_strain, "relative_shift": lv.relative_shift,
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
            "fbg_inverse_mean_strain": [lv.mean_strain for lv in self.levels],
            "fbg_inverse_mean_shift_pm": self.shift_relative * self.design_wavelength_m * 1e12,
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
        self.period = period_m(grating, fibre)

    def bragg(self, loads_N_m, delta):
        """Local Bragg wavelengths (2, K) of the two eigenmodes under the loads, times 1 + delta."""
        e1, e2 = line_load_strains(loads_N_m, self.fibre)
        dn1, dn2 = index_changes(self.fibre, e1, e2, 0.0)
        n = self.fibre.effective_index
        return np.stack([n + dn1, n + dn2]) * 2.0 * self.period * (1.0 + delta), np.stack([n + dn1, n + dn2])

    def reflectance(self, loads_N_m, fractions, delta):
        L = self.grating.length_m
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
        return 0.5 * (R[0] + R[1])


def _shifts(free_mean: bool, K: int) -> int:
    return K if free_mean else 1


def _unpack(theta, K, free_mean=False):
    """theta = [scale, shifts (ppm) x (K or 1), loads (kN/m) x K, weights x (K - 1)] ->
    (scale, shifts (K,), loads (K,), fractions (K,))."""
    S = _shifts(free_mean, K)
    scale = theta[0]
    delta = np.broadcast_to(np.asarray(theta[1:1 + S]) * 1e-6, (K,)).copy()
    loads = np.asarray(theta[1 + S:1 + S + K]) * _LOAD_UNIT
    u = np.concatenate([[1.0], theta[1 + S + K:1 + S + 2 * K - 1]])
    return scale, delta, loads, u / u.sum()


def _pack(scale, delta, loads, w, free_mean):
    """Inverse of :func:`_unpack` (delta: one common value, or one per level)."""
    delta = np.atleast_1d(np.asarray(delta, dtype=float))
    K = len(loads)
    d = (np.broadcast_to(delta, (K,)) if free_mean else delta[:1]) * 1e6
    w = np.asarray(w, dtype=float)
    return np.concatenate([[scale], d, np.asarray(loads) / _LOAD_UNIT, w[1:] / w[0]])


def invert(wavelength_m, reflectance, grating: Grating | None = None, fibre: Fibre | None = None, *,
           max_levels: int = MAX_LEVELS, levels: int | None = None, noise_rms: float | None = None,
           floor: float = NOISE_FLOOR, kernel: str | None = None, mean: str = "line_load") -> Inversion:
    """Recover the distribution of transverse load along the grating from its spectrum.

    Args:
        wavelength_m, reflectance: the spectrum (unpolarised source) [m], [-].
        grating, fibre: the grating that reflected it (length, delta_n, apodization, design wavelength).
        max_levels: most levels tried (the count is chosen by BIC); ``levels`` fixes it instead.
        noise_rms: noise level [-]; None estimates it from the data.
        floor: lowest noise level assumed, fraction of max R.
        mean: ``"line_load"`` (default): one common shift, each level's mean strain follows from
            its diametral load (fewer parameters; right for a fibre under diametral loads);
            ``"free"``: each level has its own shift of both lines (its own mean strain) besides its
            load, started from the decomposed lines paired neighbour by neighbour (which lines pair
            up is not determined by the spectrum: this is one reading of it).
    """
    if mean not in ("free", "line_load"):
        raise ValueError(f"mean = {mean!r}: must be free or line_load")
    free_mean = mean == "free"
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
            scale, delta, loads, w = _unpack(theta, K, free_mean)
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
        S = _shifts(free_mean, K)
        lo = np.concatenate([[0.0], np.full(S, -5e4), np.zeros(K), np.full(K - 1, 0.02)])
        hi = np.concatenate([[10.0], np.full(S, 5e4), np.full(K, 200.0), np.full(K - 1, 50.0)])
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
            starts.append(_pack(R.max() / max(unloaded.max(), 1e-12), delta0, [f0], [1.0], free_mean))
    fits = [min((fit(s, 1) for s in starts), key=lambda f: f["chi2"])]
    paired = _paired_start(lam, R, grating, fibre, model, split_per_load, lam_d) if free_mean else None
    if levels is not None:
        max_levels = levels
    best_score, worse = fits[0]["score"], 0
    for K in range(2, max_levels + 1):
        prev = fits[-1]
        scale, delta, loads, w = _unpack(prev["theta"], K - 1, free_mean)
        trials = []
        for j in range(K - 1):          # split level j in place, the lower load first or second
            for first, second in ((0.7, 1.3), (1.3, 0.7)):
                new_loads = np.concatenate([loads[:j], [loads[j] * first + 50.0, loads[j] * second + 50.0], loads[j + 1:]])
                new_w = np.concatenate([w[:j], [0.5 * w[j], 0.5 * w[j]], w[j + 1:]])
                new_d = np.concatenate([delta[:j], [delta[j], delta[j]], delta[j + 1:]])
                trials.append(_pack(scale, new_d, new_loads, new_w, free_mean))
        if paired is not None and paired[2] == K:
            trials.append(_pack(*paired[:2], *paired[3:], free_mean))
        if free_mean:                   # a new lightly loaded level where the residual is largest
            resid = R - scale * model.reflectance(loads, w, delta)
            d_new = (lam[int(np.argmax(resid))] - lam_d) / lam_d
            for j in (0, K - 1):
                new_loads = np.insert(loads, j, 100.0)
                new_w = np.insert(w * (K - 1) / K, j, 1.0 / K)
                new_d = np.insert(delta, j, d_new)
                trials.append(_pack(scale, new_d, new_loads, new_w, free_mean))
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
    return _result(best, fits, model, lam, R, sigma, estimate, grating, fibre, free_mean)


def _paired_start(lam, R, grating, fibre, model, split_per_load, lam_d):
    """(scale, shifts, K, loads, fractions) from the decomposed lines paired neighbour by
    neighbour (a lone last line: an unloaded level); None with fewer than two lines."""
    from ecmsim.fbg.decompose import decompose
    d = decompose(lam, R, grating, fibre)
    lines = [(c.wavelength_m, c.amplitude) for c in d.components]
    if len(lines) < 2:
        return None
    loads, shifts, weights = [], [], []
    unloaded, _ = model.bragg(np.array([0.0]), 0.0)
    for i in range(0, len(lines), 2):
        pair = lines[i:i + 2]
        if len(pair) == 2:
            f = abs(pair[1][0] - pair[0][0]) / split_per_load
            centre = 0.5 * (pair[0][0] + pair[1][0])
            amplitude = pair[0][1] + pair[1][1]
        else:
            f, centre, amplitude = 0.0, pair[0][0], 2 * pair[0][1]
        b, _ = model.bragg(np.array([f]), 0.0)
        shifts.append(centre / (0.5 * (b[0, 0] + b[1, 0])) - 1.0)
        loads.append(f)
        weights.append(max(amplitude, 1e-3))
    w = np.array(weights) / np.sum(weights)
    return (1.0, np.array(shifts), len(loads), np.array(loads), w)


def _result(best, fits, model: _Model, lam, R, sigma, estimate, grating, fibre, free_mean) -> Inversion:
    K = best["K"]
    S = _shifts(free_mean, K)
    theta = best["theta"]
    dof = max(lam.size - theta.size, 1)
    chi2_dof = best["chi2"] / dof
    J = best["jac"]
    cov = np.linalg.pinv(J.T @ J) * max(1.0, chi2_dof)
    scale, delta, loads, w = _unpack(theta, K, free_mean)
    # uncertainties of the fractions: propagate through w = u / sum(u) numerically
    eps = 1e-6
    Jw = np.zeros((K, theta.size))
    for i in range(1 + S + K, theta.size):
        t = theta.copy()
        t[i] += eps
        Jw[:, i] = (_unpack(t, K, free_mean)[3] - w) / eps
    cov_w = Jw @ cov @ Jw.T
    bragg, _ = model.bragg(loads, delta)
    e1, e2 = line_load_strains(loads, fibre)
    lv = []
    # a relative shift delta of both lines read as a change of the mean transverse strain (plane
    # strain): d(lambda)/lambda = -(n^2/2)(p11 + p12) d(e_mean)
    n = fibre.effective_index
    per_mean_strain = -0.5 * n * n * (fibre.p11 + fibre.p12)
    for j in range(K):
        sf = math.sqrt(max(cov[1 + S + j, 1 + S + j], 0.0)) * _LOAD_UNIT
        lv.append(Level(length_fraction=float(w[j]), length_fraction_uncertainty=math.sqrt(max(cov_w[j, j], 0.0)),
                        line_load_N_m=float(loads[j]), line_load_uncertainty_N_m=sf,
                        sigma_diff_Pa=float(sigma_diff_from_line_load(loads[j], fibre)),
                        sigma_diff_uncertainty_Pa=float(sigma_diff_from_line_load(sf, fibre)),
                        mean_strain=float(0.5 * (e1[j] + e2[j]) + delta[j] / per_mean_strain),
                        relative_shift=float(delta[j]),
                        bragg_x_m=float(bragg[0, j]), bragg_y_m=float(bragg[1, j])))
    fitted = scale * model.reflectance(loads, w, delta)
    notes = ("levels are a distribution over the grating's length: a reflection spectrum does not tell "
             "the order of segments along z (the reversed order fits exactly as well; levels whose reflections "
             "do not overlap can be permuted freely); z_m only places them one after the other",
             "only |sigma_1 - sigma_2| is seen with an unpolarised source; the load is read as a diametral "
             "line load (plane strain), which fixes how each level's two polarisation lines pair up")
    return Inversion(levels=tuple(lv), shift_relative=float(np.dot(delta, w)),
                     shift_relative_uncertainty=math.sqrt(max(cov[1, 1], 0.0)) * 1e-6 if S == 1 else math.nan,
                     scale=float(scale),
                     wavelength_m=lam, model=fitted, noise_rms=sigma, noise_estimate=estimate,
                     chi2_per_dof=chi2_dof, candidates=tuple((f["K"], f["score"], f["chi2"]) for f in fits),
                     grating_length_m=grating.length_m, design_wavelength_m=grating.design_wavelength_m,
                     notes=notes)
