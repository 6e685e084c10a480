"""Model-based decomposition of a reflection spectrum into grating-shaped reflections.

An interrogator reads peaks off the spectrum; when two reflections overlap, each pulls the
other's maximum and the splitting reads low. Here the spectrum is instead fitted as

    R(lambda) = b + sum_k a_k g(lambda; c_k, s_k)

with g the reflection line shape of *the given grating* (its length, index modulation and
apodization; transfer matrix of the unloaded grating, equal to the uniform-grating closed form
for a uniform one) moved to centre c_k. A component with s_k = 0 is the grating's own line shape
(a uniform load on the whole grating, one polarisation: a_k = 1/2 unpolarised); with s_k > 0 it
is the reflection of the grating under a linear chirp of its local Bragg wavelength from
c_k - s_k/2 to c_k + s_k/2 (a strain gradient): its ripples belong to it and are not peaks.

- Number of components: chosen by the Bayesian information criterion
  BIC = chi^2 + p ln N (chi^2 = sum of squared residuals / noise^2, p parameters, N samples);
  ``criterion="aic"`` uses 2p instead of p ln N. The models tried: K = 1, 2, ... grating-shaped
  components (each new one started at the largest residual or by splitting one of the two
  strongest components, the best of these fits kept); the search stops when the criterion has not
  improved for two K in a row. If the best of them still leaves chi^2/dof > 2, K = 1, 2, ...
  chirped components are tried the same way, and the lowest criterion of all wins.
- Noise: estimated from the data, sigma = 1.4826 MAD(d4) / sqrt(70), d4 the fourth differences of
  R (white noise: var(d4) = 70 sigma^2; a smooth line a few hundred samples wide contributes
  ~1e-8 of its height), but not below ``floor`` x max(R), the accuracy of the line-shape model
  itself (2e-3 by default), so that a noiseless spectrum does not make every model misfit.
- Uncertainty of each parameter: square root of the diagonal of the covariance
  (J^T J)^-1 of the residuals scaled by sigma, inflated by sqrt(chi^2 / dof) when the best
  model does not reach the noise (chi^2/dof > 1).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from ecmsim.fbg.lineshapes import GENERIC_SHAPES, LineShape, generic_line, generic_value
from ecmsim.fbg.optics import Fibre
from ecmsim.fbg.parameters import Grating

#: Most components tried per family.
MAX_COMPONENTS = 8
#: Relative accuracy of the line-shape model: lowest noise level assumed [fraction of max R]. The
#: model leaves out kappa's 1/lambda and the index's strain dependence and second-order strain
#: optics; on noiseless chirped spectra (1.2e-3 and 2.4e-3 of axial strain spread over 10 mm) its
#: residual reaches ~3e-3 of the maximum, on noiseless uniform doublets ~2e-5.
NOISE_FLOOR = 2e-3


@dataclass(frozen=True)
class Component:
    """One fitted reflection.

    Attributes:
        wavelength_m: centre c (its local Bragg wavelength; the chirp's middle) [m].
        uncertainty_m: standard uncertainty of c [m].
        amplitude: a, the line shape's scale (1/2 per polarisation of an unpolarised source) [-].
        amplitude_uncertainty: its standard uncertainty [-].
        height: largest reflectance of the component alone [-].
        span_m: chirp span s [m] (0: the grating's own line shape).
        span_uncertainty_m: its standard uncertainty [m] (0 for s fixed at 0).
        fwhm_m, fwhm_uncertainty_m: full width at half maximum of a generic line (Gaussian,
            Lorentzian, pseudo-Voigt) and its standard uncertainty [m] (0 for grating shapes).
    """

    wavelength_m: float
    uncertainty_m: float
    amplitude: float
    amplitude_uncertainty: float
    height: float
    span_m: float = 0.0
    span_uncertainty_m: float = 0.0
    fwhm_m: float = 0.0
    fwhm_uncertainty_m: float = 0.0


@dataclass(frozen=True)
class Decomposition:
    """The chosen model of a spectrum.

    Attributes:
        components: in increasing wavelength.
        wavelength_m, model: the fitted spectrum on the data's wavelengths.
        noise_rms: noise level used for chi^2 (the estimate, or the floor) [-].
        noise_estimate: noise level estimated from the data [-].
        chi2_per_dof: chi^2 / (N - p) of the chosen model.
        criterion: "bic" or "aic"; candidates: (components, family, criterion value, chi^2) of
            every model tried.
        baseline: fitted constant b (0 unless fitted).
        covariance_wavelength_m2: covariance of the centres [m^2].
        line_shape: the chosen family: "grating" (the grating's own line), "chirped", "gaussian",
            "lorentzian" or "pseudo_voigt".
        mixing: the pseudo-Voigt's Lorentzian fraction eta (None for other shapes).
        component_models: each component's own curve a_k g_k on ``wavelength_m`` (rows in the
            order of ``components``), for drawing.
    """

    components: tuple[Component, ...]
    wavelength_m: np.ndarray
    model: np.ndarray
    noise_rms: float
    noise_estimate: float
    chi2_per_dof: float
    criterion: str
    candidates: tuple[tuple[int, bool, float, float], ...]
    baseline: float = 0.0
    covariance_wavelength_m2: np.ndarray = field(default=None, repr=False)
    line_shape: str = "grating"
    mixing: float | None = None
    component_models: np.ndarray = field(default=None, repr=False)

    @property
    def count(self) -> int:
        return len(self.components)

    @property
    def chirped(self) -> bool:
        """True if the chosen model is made of chirped components."""
        return self.line_shape == "chirped"

    def strongest_two(self) -> tuple[int, int] | None:
        if self.count < 2:
            return None
        order = sorted(range(self.count), key=lambda i: -self.components[i].height)
        return order[0], order[1]

    @property
    def splitting_m(self) -> float:
        """Separation of the two strongest components [m] (0 with one)."""
        pair = self.strongest_two()
        if pair is None:
            return 0.0
        i, j = pair
        return abs(self.components[i].wavelength_m - self.components[j].wavelength_m)

    @property
    def splitting_uncertainty_m(self) -> float:
        """Standard uncertainty of :attr:`splitting_m` (with the covariance of the two centres) [m]."""
        pair = self.strongest_two()
        if pair is None or self.covariance_wavelength_m2 is None:
            return 0.0
        i, j = pair
        C = self.covariance_wavelength_m2
        return float(math.sqrt(max(C[i, i] + C[j, j] - 2 * C[i, j], 0.0)))

    def metrics(self, prefix: str = "fbg_decomposed") -> dict[str, object]:
        """Metrics with units in their names."""
        out = {
            f"{prefix}_peaks_nm": [c.wavelength_m * 1e9 for c in self.components],
            f"{prefix}_peak_uncertainty_pm": [c.uncertainty_m * 1e12 for c in self.components],
            f"{prefix}_peak_count": self.count,
            f"{prefix}_peak_height": [c.height for c in self.components],
            f"{prefix}_peak_amplitude": [c.amplitude for c in self.components],
            f"{prefix}_chirp_span_pm": [c.span_m * 1e12 for c in self.components],
            f"{prefix}_splitting_pm": self.splitting_m * 1e12,
            f"{prefix}_splitting_uncertainty_pm": self.splitting_uncertainty_m * 1e12,
            f"{prefix}_noise_rms": self.noise_rms,
            f"{prefix}_chi2_per_dof": self.chi2_per_dof,
            f"{prefix}_line_shape": self.line_shape,
        }
        if self.line_shape in GENERIC_SHAPES:
            out[f"{prefix}_peak_fwhm_pm"] = [c.fwhm_m * 1e12 for c in self.components]
        return out


# ---- noise -------------------------------------------------------------------------------------

def estimate_noise(R: np.ndarray) -> float:
    """White-noise RMS from the fourth differences of the samples: 1.4826 MAD / sqrt(70)."""
    R = np.asarray(R, dtype=float)
    if R.size < 10:
        return 0.0
    d4 = np.diff(R, 4)
    mad = float(np.median(np.abs(d4 - np.median(d4))))
    return 1.4826 * mad / math.sqrt(70.0)


# ---- fitting -----------------------------------------------------------------------------------

@dataclass
class _Fit:
    params: np.ndarray          # per component (a, c [pm from lam0], s or w [pm]), then eta, then baseline
    K: int
    family: str
    chi2: float
    score: float
    jac: np.ndarray
    model: np.ndarray

    @property
    def chirped(self) -> bool:
        return self.family == "chirped"


class _Problem:
    def __init__(self, lam, R, shape: LineShape, sigma, baseline: bool, criterion: str):
        self.lam = lam
        self.R = R
        self.shape = shape
        self.sigma = sigma
        self.baseline = baseline
        self.criterion = criterion
        self.lam0 = float(lam[0])
        self.x_pm = (lam - self.lam0) * 1e12
        self.N = lam.size
        self.top = float(R.max())
        self.step_pm = float(np.median(np.diff(lam))) * 1e12
        # chirped lines by (c, s): a transfer-matrix solve each; the Jacobian at a point the fit
        # has just evaluated asks for the same ones again
        self._chirped: dict = {}

    @staticmethod
    def extra(family: str) -> int:
        """Shape parameters shared by all components (the pseudo-Voigt's mixing eta)."""
        return 1 if family == "pseudo_voigt" else 0

    # parameters: a, c (pm from lam0), s or w (pm) per component; eta (pseudo-Voigt); baseline last
    def unpack(self, theta, K, family="grating"):
        comps = theta[:3 * K].reshape(K, 3)
        eta = float(theta[3 * K]) if family == "pseudo_voigt" else 0.5
        b = theta[-1] if self.baseline else 0.0
        return comps, b, eta

    def line(self, c, p, family, eta=0.5):
        """One component of height (grating: amplitude) 1 on the data's wavelengths."""
        cm = self.lam0 + c * 1e-12
        if family == "grating":
            return self.shape.value(self.lam, cm)
        if family == "chirped":
            key = (float(c), float(p))
            if key not in self._chirped:
                if len(self._chirped) >= 64:
                    self._chirped.clear()
                self._chirped[key] = self.shape.chirped(self.lam, cm, p * 1e-12)
            return self._chirped[key]
        return generic_value(self.x_pm, c, p, family, eta)

    def model(self, theta, K, family):
        comps, b, eta = self.unpack(theta, K, family)
        out = np.full(self.N, b)
        for a, c, p in comps:
            out += a * self.line(c, p, family, eta)
        return out

    def jacobian(self, theta, K, family):
        comps, _, eta = self.unpack(theta, K, family)
        J = np.zeros((self.N, theta.size))
        for k, (a, c, p) in enumerate(comps):
            cm = self.lam0 + c * 1e-12
            if family == "grating":
                J[:, 3 * k] = self.shape.value(self.lam, cm)
                J[:, 3 * k + 1] = a * self.shape.slope_c(self.lam, cm) * 1e-12
            elif family == "chirped":
                base = self.line(c, p, family)
                J[:, 3 * k] = base
                h = 0.05
                J[:, 3 * k + 1] = a * (self.shape.chirped(self.lam, cm + h * 1e-12, p * 1e-12) - base) / h
                hs = 0.2
                J[:, 3 * k + 2] = a * (self.shape.chirped(self.lam, cm, (p + hs) * 1e-12) - base) / hs
            else:
                value, d_c, d_w, d_eta = generic_line(self.x_pm, c, p, family, eta)
                J[:, 3 * k], J[:, 3 * k + 1], J[:, 3 * k + 2] = value, a * d_c, a * d_w
                if family == "pseudo_voigt":
                    J[:, 3 * K] += a * d_eta
        if self.baseline:
            J[:, -1] = 1.0
        return J / self.sigma

    def free(self, K, family):
        """Mask of the free parameters (s is fixed at 0 for grating-shaped components)."""
        mask = np.ones(3 * K + self.extra(family) + (1 if self.baseline else 0), dtype=bool)
        if family == "grating":
            mask[2:3 * K:3] = False
        return mask

    def bounds(self, K, family):
        span_pm = self.x_pm[-1]
        if family in GENERIC_SHAPES:    # height, centre, FWHM from two samples to the whole range
            lo = np.tile([0.0, -0.1 * span_pm, 2.0 * self.step_pm], K)
            hi = np.tile([4.0 * self.top + 1e-12, 1.1 * span_pm, span_pm], K)
        else:
            lo = np.tile([0.0, -0.1 * span_pm, 0.0], K)
            hi = np.tile([4.0 * self.top + 1e-12, 1.1 * span_pm, span_pm], K)
        if family == "pseudo_voigt":
            lo, hi = np.append(lo, 0.0), np.append(hi, 1.0)
        if self.baseline:
            lo, hi = np.append(lo, -self.top), np.append(hi, self.top)
        return lo, hi

    def fit(self, theta0, K, family) -> _Fit:
        mask = self.free(K, family)
        lo, hi = self.bounds(K, family)
        theta0 = np.clip(np.asarray(theta0, dtype=float), lo + 1e-12 * (hi - lo), hi - 1e-12 * (hi - lo))
        full = theta0.copy()

        def resid(x):
            full[mask] = x
            return (self.model(full, K, family) - self.R) / self.sigma

        def jac(x):
            full[mask] = x
            return self.jacobian(full, K, family)[:, mask]

        x, fun, J = levenberg_marquardt(resid, jac, theta0[mask], lo[mask], hi[mask],
                                        max_iter=40 if family == "chirped" else 150)
        full[mask] = x
        chi2 = float(np.sum(fun ** 2))
        p = int(mask.sum())
        penalty = p * math.log(self.N) if self.criterion == "bic" else 2.0 * p
        return _Fit(full.copy(), K, family, chi2, chi2 + penalty, J, self.model(full, K, family))


def levenberg_marquardt(resid, jac, x0, lo, hi, *, max_iter: int = 100, rtol: float = 1e-12):
    """Minimise |resid(x)|^2 within the box [lo, hi] (steps projected onto it).

    A plain Levenberg-Marquardt with Marquardt's diagonal scaling: a few parameters and a few
    thousand residuals, where solving the p x p normal equations is far cheaper than the SVD of
    the N x p Jacobian a general trust-region solver takes at every step. Returns (x, residuals,
    Jacobian at x).
    """
    x = np.clip(np.asarray(x0, dtype=float), lo, hi)
    r = resid(x)
    chi = float(r @ r)
    damping = 1e-3
    J = jac(x)
    for _ in range(max_iter):
        g = J.T @ r
        H = J.T @ J
        d = np.diag(H).copy()
        d[d <= 0] = 1.0
        improved = False
        while damping < 1e14:
            try:
                step = np.linalg.solve(H + damping * np.diag(d), -g)
            except np.linalg.LinAlgError:
                damping *= 10.0
                continue
            xn = np.clip(x + step, lo, hi)
            rn = resid(xn)
            chin = float(rn @ rn)
            if chin < chi:
                improved = True
                break
            damping *= 4.0
        if not improved:
            break
        gain = chi - chin
        x, r, chi = xn, rn, chin
        damping = max(damping / 5.0, 1e-12)
        J = jac(x)
        if gain <= rtol * chi + 1e-300:
            break
    return x, r, J


def _initial_one(problem: _Problem, family: str) -> np.ndarray:
    lam, R, shape = problem.lam, problem.R, problem.shape
    i = int(np.argmax(R))
    c = (lam[i] - problem.lam0) * 1e12
    above = np.flatnonzero(R >= 0.5 * R.max())
    width = (lam[above[-1]] - lam[above[0]]) * 1e12 if above.size else 10 * problem.step_pm
    extra = [0.5] if family == "pseudo_voigt" else []
    if family == "chirped":
        span = max(width - shape.fwhm_m * 1e12, 1.0)
        weight = np.clip(R - 0.5 * R.max(), 0, None)
        c = float(np.sum((lam - problem.lam0) * weight) / np.sum(weight)) * 1e12
        theta = [R.max() / shape.peak, c, span]
    elif family in GENERIC_SHAPES:
        theta = [R.max(), c, max(width, 3 * problem.step_pm)]
    else:
        theta = [R.max() / shape.peak, c, 0.0]
    return np.array(theta + extra + ([0.0] if problem.baseline else []))


def _grow(problem: _Problem, fit: _Fit) -> list[np.ndarray]:
    """Starting points with one more component: at the largest residual, or one of the two
    strongest components split in two."""
    comps, b, eta = problem.unpack(fit.params, fit.K, fit.family)
    tail = ([eta] if fit.family == "pseudo_voigt" else []) + ([b] if problem.baseline else [])
    shape = problem.shape
    generic = fit.family in GENERIC_SHAPES
    starts = []
    residual = problem.R - fit.model
    i = int(np.argmax(residual))
    height = max(residual[i], 0.02 * problem.top)
    if generic:
        new = [height, problem.x_pm[i], float(np.median(comps[:, 2]))]
    else:
        new = [height / shape.peak, problem.x_pm[i], 0.0 if not fit.chirped else max(comps[:, 2].mean(), 1.0)]
    starts.append(np.concatenate([comps.ravel(), new, tail]))
    half = 0.25 * shape.fwhm_m * 1e12
    for k in np.argsort(-comps[:, 0])[:1 if fit.chirped else 2]:
        a, c, p = comps[k]
        if generic:
            pair = [[a, c - 0.25 * p, 0.6 * p], [a, c + 0.25 * p, 0.6 * p]]
        else:
            d = max(half, 0.25 * p)
            pair = [[0.5 * a, c - d, 0.5 * p], [0.5 * a, c + d, 0.5 * p]]
        rest = np.delete(comps, k, axis=0)
        starts.append(np.concatenate([rest.ravel(), np.ravel(pair), tail]))
    return starts


def _grow_family(problem: _Problem, fits: list[_Fit], max_components: int, best_score: float) -> list[_Fit]:
    """Add components to the last fit of a family while the criterion improves on ``best_score``
    (the best of every model so far); stop after two additions that do not."""
    family = [fits[-1]]
    worse = 0
    for K in range(family[-1].K + 1, max_components + 1):
        trials = [problem.fit(start, K, family[-1].family) for start in _grow(problem, family[-1])]
        fit = min(trials, key=lambda f: f.chi2)
        family.append(fit)
        if fit.score < best_score:
            best_score, worse = fit.score, 0
        else:
            worse += 1
            if worse >= 2:
                break
    return family[1:]


def _family_fits(problem: _Problem, family: str, max_components: int) -> list[_Fit]:
    """K = 1, 2, ... components of one family (the search of the module docstring)."""
    fits = [problem.fit(_initial_one(problem, family), 1, family)]
    return fits + _grow_family(problem, fits, max_components, fits[0].score)


def decompose(wavelength_m, reflectance, grating: Grating | None = None, fibre: Fibre | None = None, *,
              criterion: str = "bic", noise_rms: float | None = None, floor: float = NOISE_FLOOR,
              baseline: bool = False, max_components: int = MAX_COMPONENTS,
              chirp: bool | None = None, generic: bool | None = None) -> Decomposition:
    """Fit a spectrum as a sum of reflections shaped like the given grating's (module docstring).

    Args:
        wavelength_m, reflectance: the sampled spectrum (increasing wavelengths) [m], [-].
        grating, fibre: the grating whose line shape is used (defaults as everywhere).
        criterion: "bic" or "aic".
        noise_rms: noise level [-]; None estimates it from the data (fourth differences).
        floor: lowest noise level assumed, as a fraction of max R (the line-shape model's accuracy).
        baseline: also fit a constant offset (measured spectra with a floor).
        max_components: most components tried per family.
        chirp: also try chirped components; None: only if the grating-shaped ones leave
            chi^2/dof above 2 (a chirp is not a sum of grating-shaped lines).
        generic: also try Gaussian, Lorentzian and pseudo-Voigt lines; None: only if the
            grating-shaped ones leave chi^2/dof above 2 (a measured spectrum of another grating or
            through another instrument). Every family competes on the same criterion.
    """
    if criterion not in ("bic", "aic"):
        raise ValueError(f"criterion = {criterion!r}: must be bic or aic")
    grating = grating or Grating()
    fibre = fibre or Fibre.from_material("silica")
    lam = np.asarray(wavelength_m, dtype=float)
    R = np.asarray(reflectance, dtype=float)
    estimate = estimate_noise(R)
    sigma = max(estimate if noise_rms is None else float(noise_rms), floor * max(float(R.max()), 1e-300))
    weight = np.clip(R, 0, None)
    centre = float(np.sum(lam * weight) / np.sum(weight)) if weight.sum() > 0 else float(lam.mean())
    step = float(np.median(np.diff(lam)))
    shape = LineShape(grating, fibre, centre, half_span_m=1.05 * (lam[-1] - lam[0]) + 10 * step,
                      step_m=min(0.2e-12, step / 4))
    problem = _Problem(lam, R, shape, sigma, baseline, criterion)
    fits = _family_fits(problem, "grating", max_components)
    best = min(fits, key=lambda f: f.score)
    dof = max(problem.N - int(problem.free(best.K, "grating").sum()), 1)
    misfit = best.chi2 / dof > 2.0
    if chirp or (chirp is None and misfit):
        # grating-shaped lines do not explain the spectrum to its noise: try chirped ones
        fits += _family_fits(problem, "chirped", min(max_components, 4))
    if generic or (generic is None and misfit):
        # ... nor lines of another shape: a measured spectrum's own (the same criterion decides)
        for family in GENERIC_SHAPES:
            fits += _family_fits(problem, family, max_components)
    best = min(fits, key=lambda f: f.score)
    return _result(problem, best, fits, estimate)


def _result(problem: _Problem, fit: _Fit, fits: list[_Fit], estimate: float) -> Decomposition:
    mask = problem.free(fit.K, fit.family)
    dof = max(problem.N - int(mask.sum()), 1)
    chi2_dof = fit.chi2 / dof
    J = fit.jac
    cov_free = np.linalg.pinv(J.T @ J) * max(1.0, chi2_dof)
    cov = np.zeros((mask.size, mask.size))
    cov[np.ix_(mask, mask)] = cov_free
    comps, b, eta = problem.unpack(fit.params, fit.K, fit.family)
    generic = fit.family in GENERIC_SHAPES
    out, curves = [], []
    for k, (a, c, p) in enumerate(comps):
        cm = problem.lam0 + c * 1e-12
        line = problem.line(c, p, fit.family, eta)
        p_unc = math.sqrt(max(cov[3 * k + 2, 3 * k + 2], 0)) * 1e-12
        curves.append(a * line)
        out.append((Component(wavelength_m=cm, uncertainty_m=math.sqrt(max(cov[3 * k + 1, 3 * k + 1], 0)) * 1e-12,
                              amplitude=float(a), amplitude_uncertainty=math.sqrt(max(cov[3 * k, 3 * k], 0)),
                              height=float(a * max(line.max(), 0.0)),
                              span_m=float(p) * 1e-12 if fit.chirped else 0.0,
                              span_uncertainty_m=p_unc if fit.chirped else 0.0,
                              fwhm_m=float(p) * 1e-12 if generic else 0.0,
                              fwhm_uncertainty_m=p_unc if generic else 0.0), k))
    out.sort(key=lambda ck: ck[0].wavelength_m)
    idx = [3 * k + 1 for _, k in out]
    cov_c = cov[np.ix_(idx, idx)] * 1e-24
    candidates = tuple((f.K, f.family, f.score, f.chi2) for f in fits)
    return Decomposition(components=tuple(c for c, _ in out), wavelength_m=problem.lam, model=fit.model,
                         noise_rms=problem.sigma, noise_estimate=estimate, chi2_per_dof=chi2_dof,
                         criterion=problem.criterion, candidates=candidates, baseline=float(b),
                         covariance_wavelength_m2=cov_c, line_shape=fit.family,
                         mixing=eta if fit.family == "pseudo_voigt" else None,
                         component_models=np.array([curves[k] for _, k in out]))
