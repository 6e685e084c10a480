"""Parametric interface windows: electrolyte (bottom) under electrode (top).

Every generator returns a :class:`~ecmsim.geometry.Geometry` whose electrolyte occupies
``0 <= y <= electrolyte_thickness_m`` (plus the interface relief) and whose electrode fills the
rest up to ``electrolyte_thickness_m + electrode_thickness_m``.
"""

from __future__ import annotations

import math

import numpy as np

from ecmsim.core.errors import GeometryError
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


# ------------------------------------------------------------------------ random interfaces

#: Spectra of :func:`rough_profile`: name -> autocorrelation C(r)/C(0) given r/xi and H.
SPECTRA = ("gaussian", "self_affine")


def _autocorrelation(r: np.ndarray, xi: float, spectrum: str, hurst: float) -> np.ndarray:
    if spectrum == "gaussian":
        return np.exp(-(r / xi) ** 2)
    return np.exp(-(r / xi) ** (2 * hurst))


def rough_profile(width_m: float, rms_height_m: float, correlation_length_m: float, seed: int,
                  spectrum: str = "gaussian", hurst_exponent: float = 0.8,
                  samples_per_correlation_length: int = 16) -> tuple[np.ndarray, np.ndarray]:
    r"""A periodic random height profile h(x) on [0, width_m] with exactly the requested statistics.

    Autocorrelation :math:`C(r) = h_{rms}^2 \exp(-(r/\xi)^{2})` (``gaussian``) or
    :math:`h_{rms}^2 \exp(-(r/\xi)^{2H})` (``self_affine``: fractal below xi with Hurst exponent
    H, flat above; Sinha et al., Phys. Rev. B 38, 2297, 1988). Spectral synthesis with fixed
    amplitudes and random phases (seeded): every realisation's periodogram is the target
    spectrum, so its circular autocorrelation is the target itself, not just on average. The
    zero-mean constraint removes the spectrum's k = 0 term, which would lower the correlation
    length by about xi/W; the generating xi is tuned so that the profile's autocorrelation
    falls to 1/e exactly at ``correlation_length_m``. The heights are then scaled to the exact
    RMS (about their mean, which is zero).

    Returns:
        x [m] (n + 1 points, x[-1] = width_m) and h [m] with h[-1] = h[0].
    """
    from scipy.optimize import brentq

    if spectrum not in SPECTRA:
        raise GeometryError(f"spectrum '{spectrum}' not one of {', '.join(SPECTRA)}")
    if not 0 < hurst_exponent <= 1:
        raise GeometryError(f"hurst_exponent must be in (0, 1] (got {hurst_exponent})")
    if not 0 < correlation_length_m <= width_m / 4:
        raise GeometryError(f"correlation_length_m = {correlation_length_m:g} must be > 0 and <= a quarter "
                            f"of the window width ({width_m / 4:g} m) for the statistics to mean anything")
    n = int(min(2**16, max(256, math.ceil(samples_per_correlation_length * width_m / correlation_length_m))))
    dx = width_m / n
    k = np.arange(n)
    r = np.minimum(k, n - k) * dx

    def spectrum_of(xi: float) -> np.ndarray:
        s = np.fft.rfft(_autocorrelation(r, xi, spectrum, hurst_exponent)).real
        s = np.clip(s, 0.0, None)
        s[0] = 0.0
        return s

    def acf(s: np.ndarray) -> np.ndarray:
        c = np.fft.irfft(s, n)
        return c / c[0]

    def miss(xi: float) -> float:
        c = acf(spectrum_of(xi))
        return float(np.interp(correlation_length_m, r[:n // 2], c[:n // 2])) - math.exp(-1)

    xi = correlation_length_m
    if miss(xi) < 0:
        xi = brentq(miss, correlation_length_m, 4 * correlation_length_m, xtol=1e-6 * correlation_length_m)
    amplitude = np.sqrt(spectrum_of(xi))
    rng = np.random.default_rng(seed)
    phases = np.exp(2j * np.pi * rng.random(len(amplitude)))
    if n % 2 == 0:
        phases[-1] = np.sign(phases[-1].real) or 1.0  # the Nyquist term is real
    h = np.fft.irfft(amplitude * phases, n)
    h *= rms_height_m / np.sqrt(np.mean(h**2)) if rms_height_m > 0 else 0.0
    x = np.arange(n + 1) * dx
    x[-1] = width_m
    return x, np.append(h, h[0])


def rough(width_m: float, electrode_thickness_m: float, electrolyte_thickness_m: float, rms_height_m: float,
          correlation_length_m: float, seed: int = 0, spectrum: str = "gaussian",
          hurst_exponent: float = 0.8) -> Geometry:
    """Bilayer whose interface is a :func:`rough_profile` about y = electrolyte_thickness_m."""
    x, h = rough_profile(width_m, rms_height_m, correlation_length_m, seed, spectrum, hurst_exponent)
    return bilayer_from_interface(
        width_m, electrode_thickness_m, electrolyte_thickness_m,
        np.column_stack([x, electrolyte_thickness_m + h]),
        f"rough interface ({spectrum}), rms {rms_height_m:g} m, correlation length {correlation_length_m:g} m, "
        f"seed {seed}")


def _base_interface(width_m, electrolyte_thickness_m, rms_height_m, correlation_length_m, seed, spectrum,
                    hurst_exponent):
    """Interface height function y(x) [m]: flat, or a rough profile (linear between samples)."""
    if rms_height_m and rms_height_m > 0:
        if correlation_length_m is None:
            raise GeometryError("a rough base interface (rms_height_m > 0) needs correlation_length_m")
        xs, hs = rough_profile(width_m, rms_height_m, correlation_length_m, seed + 7919, spectrum,
                               hurst_exponent)
        return xs, (lambda x: electrolyte_thickness_m + np.interp(x, xs, hs))
    return np.array([0.0, width_m]), (lambda x: np.full_like(np.asarray(x, dtype=float), electrolyte_thickness_m))


def _spread(rng: np.random.Generator, width_m: float, sizes: np.ndarray, min_gap_m: float, what: str
            ) -> np.ndarray:
    """Left ends of len(sizes) intervals placed in random order along [0, width_m], all gaps
    (including both ends) at least ``min_gap_m``, the spare room split uniformly at random."""
    spare = width_m - sizes.sum() - (len(sizes) + 1) * min_gap_m
    if spare < 0:
        raise GeometryError(f"{what} do not fit in the {width_m:g} m window with gaps of {min_gap_m:g} m: "
                            f"reduce their number or size")
    gaps = min_gap_m + spare * rng.dirichlet(np.ones(len(sizes) + 1))
    return np.cumsum(gaps[:-1]) + np.concatenate([[0.0], np.cumsum(sizes)[:-1]])


def voids(width_m: float, electrode_thickness_m: float, electrolyte_thickness_m: float, void_fraction: float,
          void_width_mean_m: float, void_width_cv: float = 0.3, void_aspect_ratio: float = 0.3, seed: int = 0,
          rms_height_m: float = 0.0, correlation_length_m: float | None = None, spectrum: str = "gaussian",
          hurst_exponent: float = 0.8) -> Geometry:
    """Interfacial voids: half-ellipses on the electrode side of the interface.

    ``void_fraction`` is the fraction of the window width where the electrode has lost contact:
    the 2D trace of the areal void fraction of the interface (for isotropic voids the line
    fraction of a section equals the area fraction of the plane; Delesse/Rosiwal). Void widths
    (chords along the interface) are log-normal with mean ``void_width_mean_m`` and coefficient of
    variation ``void_width_cv``; the number of voids is round(fraction * width / mean) and the
    widths are scaled together so that they cover exactly ``void_fraction`` of the width. Depth =
    ``void_aspect_ratio`` x width. Voids are placed in random order with random gaps of at least
    a tenth of the mean width (none touches the window sides). With ``rms_height_m`` > 0 the
    base interface is a :func:`rough_profile` and every void follows it (its depth is measured
    from the interface).
    """
    if not 0 < void_fraction < 0.9:
        raise GeometryError(f"void_fraction must be in (0, 0.9) (got {void_fraction})")
    rng = np.random.default_rng(seed)
    count = max(1, round(void_fraction * width_m / void_width_mean_m))
    sigma = math.sqrt(math.log1p(void_width_cv**2))
    widths = rng.lognormal(math.log(void_width_mean_m) - sigma**2 / 2, sigma, count)
    widths *= void_fraction * width_m / widths.sum()
    left = _spread(rng, width_m, widths, 0.1 * void_width_mean_m, f"{count} voids")
    base_x, y_of = _base_interface(width_m, electrolyte_thickness_m, rms_height_m, correlation_length_m, seed,
                                   spectrum, hurst_exponent)
    # the electrolyte keeps its interface under each void; the electrode follows the arc, which
    # has a vertex over every interface vertex (so it stays above it between vertices too)
    ends = np.column_stack([left, left + widths])
    covered = np.zeros(len(base_x), dtype=bool)
    for x0, x1 in ends:
        covered |= (base_x > x0) & (base_x < x1)
    base_x = _away_from(base_x, ends.ravel())
    x = np.unique(np.concatenate([base_x, ends.ravel()]))
    interface = np.column_stack([x, y_of(x)])
    electrode_parts = [interface[x <= ends[0, 0]]]
    for k, ((x0, x1), w) in enumerate(zip(ends, widths, strict=True)):
        theta = np.linspace(0.0, np.pi, 33)[1:-1]  # even in angle: dense where the arc turns
        under = x[(x > x0) & (x < x1)]
        ax = np.unique(np.concatenate([_away_from(x0 + 0.5 * w * (1 - np.cos(theta)), under, w / 128), under]))
        t = (ax - 0.5 * (x0 + x1)) / (0.5 * w)
        electrode_parts.append(np.column_stack([ax, y_of(ax) + void_aspect_ratio * w * np.sqrt(1 - t**2)]))
        nxt = ends[k + 1, 0] if k + 1 < len(ends) else np.inf
        electrode_parts.append(interface[(x >= x1) & (x <= nxt)])
    electrode_side = np.vstack(electrode_parts)
    height = electrolyte_thickness_m + electrode_thickness_m
    _inside_window(np.vstack([interface, electrode_side]), height, "the voids")
    bottom = np.array([[0.0, 0.0], [width_m, 0.0]])
    top = np.array([[width_m, height], [0.0, height]])
    return Geometry(width_m, height,
                    [Region("electrolyte", np.vstack([bottom, interface[::-1]])),
                     Region("electrode", np.vstack([electrode_side, top]))],
                    f"{count} interfacial voids, fraction {void_fraction:g}, mean width {void_width_mean_m:g} m "
                    f"(cv {void_width_cv:g}), aspect {void_aspect_ratio:g}, rms {rms_height_m:g} m, seed {seed}")


def filaments(width_m: float, electrode_thickness_m: float, electrolyte_thickness_m: float, filament_count: int,
              filament_length_m: float, filament_width_m: float, seed: int = 0, rms_height_m: float = 0.0,
              correlation_length_m: float | None = None, spectrum: str = "gaussian",
              hurst_exponent: float = 0.8) -> Geometry:
    """Li filaments: straight electrode fingers of width ``filament_width_m`` reaching
    ``filament_length_m`` below the interface (measured at their axis) into the electrolyte,
    with half-round tips. Positions are random (seeded), at least two filament widths apart
    and from the window sides. Optional rough base interface as in :func:`voids`.
    """
    if filament_count < 1:
        raise GeometryError(f"filament_count must be >= 1 (got {filament_count})")
    if filament_length_m <= filament_width_m / 2:
        raise GeometryError(f"filament_length_m = {filament_length_m:g} must exceed half the filament width "
                            f"({filament_width_m / 2:g} m)")
    rng = np.random.default_rng(seed)
    w = filament_width_m
    left = _spread(rng, width_m, np.full(filament_count, w), 2 * w, f"{filament_count} filaments")
    base_x, y_of = _base_interface(width_m, electrolyte_thickness_m, rms_height_m, correlation_length_m, seed,
                                   spectrum, hurst_exponent)
    base_x = _away_from(base_x, np.concatenate([left, left + w]))
    inside = np.zeros(len(base_x), dtype=bool)
    outlines = []
    angle = np.linspace(np.pi, 2 * np.pi, 17)
    for xl in left:
        xr, xc = xl + w, xl + w / 2
        inside |= (base_x >= xl) & (base_x <= xr)
        tip_centre = float(y_of(np.array([xc]))[0]) - filament_length_m + w / 2
        tip = np.column_stack([xc + w / 2 * np.cos(angle), tip_centre + w / 2 * np.sin(angle)])
        tip[0, 0], tip[-1, 0] = xl, xr  # exactly on the straight sides
        outline = np.vstack([[xl, float(y_of(np.array([xl]))[0])], tip,
                             [xr, float(y_of(np.array([xr]))[0])]])
        outlines.append(outline)
    base = np.column_stack([base_x[~inside], y_of(base_x[~inside])])
    pieces = sorted([base[i:i + 1] for i in range(len(base))] + outlines, key=lambda p: p[0, 0])
    interface = np.vstack(pieces)
    return bilayer_from_interface(
        width_m, electrode_thickness_m, electrolyte_thickness_m, interface,
        f"{filament_count} filaments, length {filament_length_m:g} m, width {filament_width_m:g} m, "
        f"rms {rms_height_m:g} m, seed {seed}")


def _away_from(x: np.ndarray, fixed: np.ndarray, distance: float | None = None) -> np.ndarray:
    """``x`` without the points closer than ``distance`` (default: a quarter of the spacing of
    ``x``) to any of ``fixed``, except the window ends: no sliver segments where they meet."""
    if len(x) < 3 or len(fixed) == 0:
        return x
    if distance is None:
        distance = 0.25 * float(np.min(np.diff(x)))
    fixed = np.sort(fixed)
    i = np.clip(np.searchsorted(fixed, x), 1, len(fixed) - 1) if len(fixed) > 1 else np.zeros(len(x), int)
    near = np.minimum(np.abs(x - fixed[i]), np.abs(x - fixed[np.maximum(i - 1, 0)])) < distance
    near[0] = near[-1] = False
    return x[~near]


def _inside_window(points: np.ndarray, height: float, what: str) -> None:
    if points[:, 1].min() <= 0 or points[:, 1].max() >= height:
        raise GeometryError(f"{what} leave the window (y from {points[:, 1].min():.3g} to {points[:, 1].max():.3g} m, "
                            f"window 0 to {height:.3g} m): thicken the layers")
