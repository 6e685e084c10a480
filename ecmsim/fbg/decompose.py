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
from dataclasses import dataclass, field, replace

import numpy as np

from ecmsim.fbg import tmm
from ecmsim.fbg.optics import Fibre, apodization, section_count
from ecmsim.fbg.parameters import Grating

#: Most sections of a chirped component's transfer matrix.
CHIRP_SECTIONS = 128
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
    """

    wavelength_m: float
    uncertainty_m: float
    amplitude: float
    amplitude_uncertainty: float
    height: float
    span_m: float = 0.0
    span_uncertainty_m: float = 0.0


@dataclass(frozen=True)
class Decomposition:
    """The chosen model of a spectrum.

    Attributes:
        components: in increasing wavelength.
        wavelength_m, model: the fitted spectrum on the data's wavelengths.
        noise_rms: noise level used for chi^2 (the estimate, or the floor) [-].
        noise_estimate: noise level estimated from the data [-].
        chi2_per_dof: chi^2 / (N - p) of the chosen model.
        criterion: "bic" or "aic"; candidates: (components, chirped, criterion value, chi^2) of
            every model tried.
        baseline: fitted constant b (0 unless fitted).
        covariance_wavelength_m2: covariance of the centres [m^2].
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

    @property
    def count(self) -> int:
        return len(self.components)

    @property
    def chirped(self) -> bool:
        """True if the chosen model is made of chirped components."""
        return any(c.span_m > 0 for c in self.components)

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
        }
        return out


# ---- line shapes -------------------------------------------------------------------------------

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
    params: np.ndarray          # per component (a, c [pm from lam0], s [pm]) then baseline
    K: int
    chirped: bool
    chi2: float
    score: float
    jac: np.ndarray
    model: np.ndarray


class _Problem:
    def __init__(self, lam, R, shape: LineShape, sigma, baseline: bool, criterion: str):
        self.lam = lam
        self.R = R
        self.shape = shape
        self.sigma = sigma
        self.baseline = baseline
        self.criterion = criterion
        self.lam0 = float(lam[0])
        self.N = lam.size
        self.top = float(R.max())

    # parameters: a, c (pm from lam0), s (pm) per component; baseline last (if fitted)
    def unpack(self, theta, K):
        comps = theta[:3 * K].reshape(K, 3)
        b = theta[3 * K] if self.baseline else 0.0
        return comps, b

    def model(self, theta, K, chirped):
        comps, b = self.unpack(theta, K)
        out = np.full(self.N, b)
        for a, c, s in comps:
            cm = self.lam0 + c * 1e-12
            out += a * (self.shape.chirped(self.lam, cm, s * 1e-12) if chirped else self.shape.value(self.lam, cm))
        return out

    def jacobian(self, theta, K, chirped):
        comps, _ = self.unpack(theta, K)
        J = np.zeros((self.N, theta.size))
        for k, (a, c, s) in enumerate(comps):
            cm = self.lam0 + c * 1e-12
            if not chirped:
                J[:, 3 * k] = self.shape.value(self.lam, cm)
                J[:, 3 * k + 1] = a * self.shape.slope_c(self.lam, cm) * 1e-12
            else:
                base = self.shape.chirped(self.lam, cm, s * 1e-12)
                J[:, 3 * k] = base
                h = 0.05
                J[:, 3 * k + 1] = a * (self.shape.chirped(self.lam, cm + h * 1e-12, s * 1e-12) - base) / h
                hs = 0.2
                J[:, 3 * k + 2] = a * (self.shape.chirped(self.lam, cm, (s + hs) * 1e-12) - base) / hs
        if self.baseline:
            J[:, -1] = 1.0
        return J / self.sigma

    def free(self, K, chirped):
        """Mask of the free parameters (s is fixed at 0 for grating-shaped components)."""
        mask = np.ones(3 * K + (1 if self.baseline else 0), dtype=bool)
        if not chirped:
            mask[2:3 * K:3] = False
        return mask

    def fit(self, theta0, K, chirped) -> _Fit:
        mask = self.free(K, chirped)
        span_pm = (self.lam[-1] - self.lam[0]) * 1e12
        lo = np.tile([0.0, -0.1 * span_pm, 0.0], K)
        hi = np.tile([4.0 * self.top + 1e-12, 1.1 * span_pm, span_pm], K)
        if self.baseline:
            lo = np.append(lo, -self.top)
            hi = np.append(hi, self.top)
        theta0 = np.clip(np.asarray(theta0, dtype=float), lo + 1e-12 * (hi - lo), hi - 1e-12 * (hi - lo))
        full = theta0.copy()

        def resid(x):
            full[mask] = x
            return (self.model(full, K, chirped) - self.R) / self.sigma

        def jac(x):
            full[mask] = x
            return self.jacobian(full, K, chirped)[:, mask]

        x, fun, J = levenberg_marquardt(resid, jac, theta0[mask], lo[mask], hi[mask],
                                        max_iter=40 if chirped else 150)
        full[mask] = x
        chi2 = float(np.sum(fun ** 2))
        p = int(mask.sum())
        penalty = p * math.log(self.N) if self.criterion == "bic" else 2.0 * p
        return _Fit(full.copy(), K, chirped, chi2, chi2 + penalty, J, self.model(full, K, chirped))


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


def _initial_one(problem: _Problem, chirped: bool) -> np.ndarray:
    lam, R, shape = problem.lam, problem.R, problem.shape
    i = int(np.argmax(R))
    c = (lam[i] - problem.lam0) * 1e12
    if chirped:
        above = np.flatnonzero(R >= 0.5 * R.max())
        width = (lam[above[-1]] - lam[above[0]]) * 1e12
        span = max(width - shape.fwhm_m * 1e12, 1.0)
        weight = np.clip(R - 0.5 * R.max(), 0, None)
        c = float(np.sum((lam - problem.lam0) * weight) / np.sum(weight)) * 1e12
        theta = [R.max() / shape.peak, c, span]
    else:
        theta = [R.max() / shape.peak, c, 0.0]
    return np.array(theta + ([0.0] if problem.baseline else []))


def _grow(problem: _Problem, fit: _Fit) -> list[np.ndarray]:
    """Starting points with one more component: at the largest residual, or one of the three
    strongest components split in two."""
    comps, b = problem.unpack(fit.params, fit.K)
    shape = problem.shape
    starts = []
    residual = problem.R - fit.model
    i = int(np.argmax(residual))
    new = [max(residual[i], 0.02 * problem.top) / shape.peak, (problem.lam[i] - problem.lam0) * 1e12,
           0.0 if not fit.chirped else max(comps[:, 2].mean(), 1.0)]
    starts.append(np.concatenate([comps.ravel(), new, [b] if problem.baseline else []]))
    half = 0.25 * shape.fwhm_m * 1e12
    for k in np.argsort(-comps[:, 0])[:1 if fit.chirped else 2]:
        a, c, s = comps[k]
        d = max(half, 0.25 * s)
        pair = [[0.5 * a, c - d, 0.5 * s], [0.5 * a, c + d, 0.5 * s]]
        rest = np.delete(comps, k, axis=0)
        starts.append(np.concatenate([rest.ravel(), np.ravel(pair), [b] if problem.baseline else []]))
    return starts


def _grow_family(problem: _Problem, fits: list[_Fit], max_components: int, best_score: float) -> list[_Fit]:
    """Add components to the last fit of a family while the criterion improves on ``best_score``
    (the best of every model so far); stop after two additions that do not."""
    family = [fits[-1]]
    worse = 0
    for K in range(family[-1].K + 1, max_components + 1):
        trials = [problem.fit(start, K, family[-1].chirped) for start in _grow(problem, family[-1])]
        fit = min(trials, key=lambda f: f.chi2)
        family.append(fit)
        if fit.score < best_score:
            best_score, worse = fit.score, 0
        else:
            worse += 1
            if worse >= 2:
                break
    return family[1:]


def decompose(wavelength_m, reflectance, grating: Grating | None = None, fibre: Fibre | None = None, *,
              criterion: str = "bic", noise_rms: float | None = None, floor: float = NOISE_FLOOR,
              baseline: bool = False, max_components: int = MAX_COMPONENTS,
              chirp: bool | None = None) -> Decomposition:
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
    fits = [problem.fit(_initial_one(problem, False), 1, False)]
    fits += _grow_family(problem, fits, max_components, fits[0].score)
    best = min(fits, key=lambda f: f.score)
    dof = max(problem.N - int(problem.free(best.K, False).sum()), 1)
    if chirp or (chirp is None and best.chi2 / dof > 2.0):
        # grating-shaped lines do not explain the spectrum to its noise: try chirped ones
        chirped = [problem.fit(_initial_one(problem, True), 1, True)]
        chirped += _grow_family(problem, chirped, min(max_components, 4), chirped[0].score)
        fits += chirped
        best = min(fits, key=lambda f: f.score)
    return _result(problem, best, fits, estimate)


def _result(problem: _Problem, fit: _Fit, fits: list[_Fit], estimate: float) -> Decomposition:
    mask = problem.free(fit.K, fit.chirped)
    dof = max(problem.N - int(mask.sum()), 1)
    chi2_dof = fit.chi2 / dof
    J = fit.jac
    cov_free = np.linalg.pinv(J.T @ J) * max(1.0, chi2_dof)
    cov = np.zeros((mask.size, mask.size))
    cov[np.ix_(mask, mask)] = cov_free
    comps, b = problem.unpack(fit.params, fit.K)
    out = []
    for k, (a, c, s) in enumerate(comps):
        cm = problem.lam0 + c * 1e-12
        line = problem.shape.chirped(problem.lam, cm, s * 1e-12) if fit.chirped else problem.shape.value(problem.lam, cm)
        out.append((Component(wavelength_m=cm, uncertainty_m=math.sqrt(max(cov[3 * k + 1, 3 * k + 1], 0)) * 1e-12,
                              amplitude=float(a), amplitude_uncertainty=math.sqrt(max(cov[3 * k, 3 * k], 0)),
                              height=float(a * max(line.max(), 0.0)), span_m=float(s) * 1e-12 if fit.chirped else 0.0,
                              span_uncertainty_m=math.sqrt(max(cov[3 * k + 2, 3 * k + 2], 0)) * 1e-12), k))
    out.sort(key=lambda ck: ck[0].wavelength_m)
    idx = [3 * k + 1 for _, k in out]
    cov_c = cov[np.ix_(idx, idx)] * 1e-24
    candidates = tuple((f.K, f.chirped, f.score, f.chi2) for f in fits)
    return Decomposition(components=tuple(c for c, _ in out), wavelength_m=problem.lam, model=fit.model,
                         noise_rms=problem.sigma, noise_estimate=estimate, chi2_per_dof=chi2_dof,
                         criterion=problem.criterion, candidates=candidates, baseline=float(b),
                         covariance_wavelength_m2=cov_c)
