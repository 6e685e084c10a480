r"""Genuinely 3D interface windows (``geometry.depth_m`` with kinds ``rough`` and ``voids``).

The window is the box ``[0, W] x [0, H] x [0, D]``: x the width, y the height (stacking
direction; electrolyte below, electrode above), z the depth. Other kinds are the 2D
cross-section extruded along z (ecmsim.mesh); these two are 3D shapes of their own:

- **rough**: the interface is a 2D random field y = t_e + h(x, z), periodic in x and z, with
  the requested RMS (exactly, over its samples) and an isotropic autocorrelation
  C(r) = h_rms^2 exp(-(r/xi)^2) (``gaussian``) or exp(-(r/xi)^{2H}) (``self_affine``) falling to 1/e
  at ``correlation_length_m``; the RMS is that of the bilinear surface through the samples (exact),
  so the meshed surface has it within its discretisation -- the 1D spectral synthesis of
  :func:`ecmsim.geometry.generators.rough_profile` on a 2D grid (fixed amplitudes, random phases).
  In gmsh it is a degree-1 B-spline surface through the samples (exactly the bilinear
  interpolant of the grid), which splits the window box into electrolyte and electrode.
- **voids**: half-spheroids on the electrode side of a flat interface: circular footprints of
  diameter d (log-normal, mean ``void_width_mean_m``) and depth ``void_aspect_ratio`` x d into
  the electrode, the 3D version of the 2D half-ellipses. ``void_fraction`` is the **areal**
  fraction of the interface plane they cover (exactly, for the circles; the faceted mesh within
  its discretisation), placed at random without overlap, at least a tenth of the mean diameter
  from each other and from the window's sides.

A 3D window is a :class:`~ecmsim.geometry.Geometry` (its 2D data is the section z = 0, for
previews and cost estimates) with a ``solid`` that builds the OpenCASCADE volumes.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ecmsim.core.errors import GeometryError
from ecmsim.geometry import Geometry, generators
from ecmsim.geometry.generators import SPECTRA, _autocorrelation


@dataclass
class RoughSolid:
    """Interface y = y0 + h(x_i, z_j) on a grid (periodic: last row/column = first)."""

    width_m: float
    height_m: float
    depth_m: float
    y0_m: float
    x_m: np.ndarray
    z_m: np.ndarray
    h_m: np.ndarray          # (len(x), len(z))

    def refine_band_m(self) -> tuple[float, float]:
        """The slab y_low..y_high [m] that holds the interface (meshed at the interface size)."""
        return self.y0_m + float(self.h_m.min()), self.y0_m + float(self.h_m.max())

    def build(self, occ, factor: float) -> dict[int, str]:
        """OCC volumes (scaled by ``factor``) -> label."""
        f = factor
        pts = [occ.addPoint(float(x * f), float((self.y0_m + self.h_m[i, j]) * f), float(z * f))
               for j, z in enumerate(self.z_m) for i, x in enumerate(self.x_m)]
        surf = occ.addBSplineSurface(pts, len(self.x_m), degreeU=1, degreeV=1)
        box = occ.addBox(0, 0, 0, self.width_m * f, self.height_m * f, self.depth_m * f)
        out, _ = occ.fragment([(3, box)], [(2, surf)])
        occ.synchronize()
        vols = [t for d, t in out if d == 3]
        if len(vols) != 2:
            raise GeometryError(f"the rough interface split the window into {len(vols)} volumes, not 2")
        return {v: ("electrode" if occ.getCenterOfMass(3, v)[1] > self.y0_m * f else "electrolyte") for v in vols}


@dataclass
class VoidsSolid:
    """Half-spheroids (footprint centre (x, z), radius r, depth b) cut from the electrode."""

    width_m: float
    height_m: float
    depth_m: float
    y0_m: float
    centres_m: np.ndarray    # (n, 2): x, z
    radii_m: np.ndarray
    depths_m: np.ndarray

    def refine_band_m(self) -> tuple[float, float]:
        """The slab y_low..y_high [m] that holds the interface and the voids."""
        return self.y0_m, self.y0_m + float(self.depths_m.max())

    def build(self, occ, factor: float) -> dict[int, str]:
        f = factor
        W, H, D, y0 = self.width_m * f, self.height_m * f, self.depth_m * f, self.y0_m * f
        electrolyte = occ.addBox(0, 0, 0, W, y0, D)
        electrode = occ.addBox(0, y0, 0, W, H - y0, D)
        holes = []
        for (xc, zc), r, b in zip(self.centres_m * f, self.radii_m * f, self.depths_m * f, strict=True):
            s = occ.addSphere(float(xc), y0, float(zc), float(r))
            # OCC's sphere has its poles on the z axis: turn them onto y, so that the interface
            # plane cuts the equator (a clean circle), not through the poles
            occ.rotate([(3, s)], float(xc), y0, float(zc), 1.0, 0.0, 0.0, -math.pi / 2)
            occ.dilate([(3, s)], float(xc), y0, float(zc), 1.0, float(b / r), 1.0)
            holes.append((3, s))
        cut, _ = occ.cut([(3, electrode)], holes)
        out, _ = occ.fragment(cut, [(3, electrolyte)])
        occ.synchronize()
        vols = [t for d, t in out if d == 3]
        return {v: ("electrode" if occ.getCenterOfMass(3, v)[1] > y0 else "electrolyte") for v in vols}


def rough_field(width_m: float, depth_m: float, rms_height_m: float, correlation_length_m: float, seed: int,
                spectrum: str = "gaussian", hurst_exponent: float = 0.8, samples_per_correlation_length: int = 8
                ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """A periodic random field h(x, z) on [0, W] x [0, D] with exactly the requested RMS.

    Spectral synthesis on an nx x nz grid as :func:`~ecmsim.geometry.generators.rough_profile`:
    the target (isotropic) autocorrelation's 2D power spectrum without its k = 0 term, fixed
    amplitudes, seeded random phases (a real field through ``irfft2``); the generating xi is tuned
    so that the expected autocorrelation along x falls to 1/e at ``correlation_length_m``; the
    heights are then scaled so that the bilinear surface through them has exactly the requested
    RMS about its zero mean (the samples' own RMS is then slightly larger, ~1 % at 8 samples per
    correlation length).

    Returns:
        x (nx + 1,), z (nz + 1,) [m] and h (nx + 1, nz + 1) [m], periodic (last = first).
    """
    from scipy.optimize import brentq

    if spectrum not in SPECTRA:
        raise GeometryError(f"spectrum '{spectrum}' not one of {', '.join(SPECTRA)}")
    if not 0 < correlation_length_m <= min(width_m, depth_m) / 2:
        raise GeometryError(f"correlation_length_m = {correlation_length_m:g} must be > 0 and <= half the window's "
                            f"smaller side ({min(width_m, depth_m) / 2:g} m) for a 3D rough surface")
    nx = int(min(1024, max(16, 2 * math.ceil(samples_per_correlation_length * width_m / correlation_length_m / 2))))
    nz = int(min(1024, max(16, 2 * math.ceil(samples_per_correlation_length * depth_m / correlation_length_m / 2))))
    dx, dz = width_m / nx, depth_m / nz
    rx = np.minimum(np.arange(nx), nx - np.arange(nx)) * dx
    rz = np.minimum(np.arange(nz), nz - np.arange(nz)) * dz
    r = np.hypot(rx[:, None], rz[None, :])

    def spectrum_of(xi: float) -> np.ndarray:
        s = np.clip(np.fft.rfft2(_autocorrelation(r, xi, spectrum, hurst_exponent)).real, 0.0, None)
        s[0, 0] = 0.0
        return s

    def miss(xi: float) -> float:
        c = np.fft.irfft2(spectrum_of(xi), (nx, nz))[:, 0]
        c = c / c[0]
        return float(np.interp(correlation_length_m, rx[:nx // 2], c[:nx // 2])) - math.exp(-1)

    xi = correlation_length_m
    if miss(xi) < 0:
        xi = brentq(miss, correlation_length_m, 4 * correlation_length_m, xtol=1e-6 * correlation_length_m)
    amplitude = np.sqrt(spectrum_of(xi))
    rng = np.random.default_rng(seed)
    h = np.fft.irfft2(amplitude * np.exp(2j * np.pi * rng.random(amplitude.shape)), (nx, nz))
    h -= h.mean()
    h *= rms_height_m / np.sqrt(_bilinear_mean_square(h)) if rms_height_m > 0 else 0.0
    h = np.vstack([h, h[:1]])
    h = np.hstack([h, h[:, :1]])
    x, z = np.arange(nx + 1) * dx, np.arange(nz + 1) * dz
    x[-1], z[-1] = width_m, depth_m
    return x, z, h


def _bilinear_mean_square(h: np.ndarray) -> float:
    """Mean of the square of the periodic bilinear interpolant of the grid values ``h`` (the
    surface gmsh meshes), exactly: per axis the linear element's mass weights 1/6, 2/3, 1/6."""
    c = {-1: 1 / 6, 0: 2 / 3, 1: 1 / 6}
    return float(sum(c[p] * c[q] * np.mean(h * np.roll(np.roll(h, p, axis=0), q, axis=1))
                     for p in c for q in c))


def rough(width_m: float, electrode_thickness_m: float, electrolyte_thickness_m: float, depth_m: float,
          rms_height_m: float, correlation_length_m: float, seed: int = 0, spectrum: str = "gaussian",
          hurst_exponent: float = 0.8) -> Geometry:
    """A 3D window whose interface is a :func:`rough_field` about y = electrolyte_thickness_m."""
    x, z, h = rough_field(width_m, depth_m, rms_height_m, correlation_length_m, seed, spectrum, hurst_exponent)
    height = electrolyte_thickness_m + electrode_thickness_m
    if electrolyte_thickness_m + h.min() <= 0 or electrolyte_thickness_m + h.max() >= height:
        raise GeometryError(f"the rough interface (h from {h.min():.3g} to {h.max():.3g} m) leaves the window: "
                            "reduce rms_height_m or thicken the layers")
    section = generators.bilayer_from_interface(width_m, electrode_thickness_m, electrolyte_thickness_m,
                                                np.column_stack([x, electrolyte_thickness_m + h[:, 0]]))
    section.description = (f"3D rough interface ({spectrum}), rms {rms_height_m:g} m, correlation length "
                           f"{correlation_length_m:g} m, seed {seed}, depth {depth_m:g} m")
    section.solid = RoughSolid(width_m, height, depth_m, electrolyte_thickness_m, x, z, h)
    return section


def voids(width_m: float, electrode_thickness_m: float, electrolyte_thickness_m: float, depth_m: float,
          void_fraction: float, void_width_mean_m: float, void_width_cv: float = 0.3,
          void_aspect_ratio: float = 0.3, seed: int = 0, max_attempts: int = 20000) -> Geometry:
    """A 3D window with half-spheroidal voids on the electrode side of a flat interface.

    ``void_fraction``: areal fraction of the interface plane under voids; footprint diameters
    log-normal (mean ``void_width_mean_m``, coefficient of variation ``void_width_cv``), count
    round(fraction W D / (pi/4 mean^2)), scaled together to cover exactly that fraction; depth
    into the electrode ``void_aspect_ratio`` x diameter. Random sequential placement, largest
    first, gaps >= a tenth of the mean diameter (also to the window's sides).
    """
    if not 0 < void_fraction < 0.5:
        raise GeometryError(f"void_fraction must be in (0, 0.5) for 3D voids (got {void_fraction}): random "
                            "non-overlapping discs jam near 0.55")
    rng = np.random.default_rng(seed)
    area = width_m * depth_m
    count = max(1, round(void_fraction * area / (math.pi / 4 * void_width_mean_m**2)))
    sigma = math.sqrt(math.log1p(void_width_cv**2))
    d = np.sort(rng.lognormal(math.log(void_width_mean_m) - sigma**2 / 2, sigma, count))[::-1]
    d *= math.sqrt(void_fraction * area / (math.pi / 4 * np.sum(d**2)))
    gap = 0.1 * void_width_mean_m
    centres = np.zeros((count, 2))
    for k, dk in enumerate(d):
        r = dk / 2
        lo, hi = np.array([r + gap] * 2), np.array([width_m - r - gap, depth_m - r - gap])
        if np.any(hi < lo):
            raise GeometryError(f"a void of diameter {dk:g} m does not fit in the {width_m:g} x {depth_m:g} m "
                                "interface: reduce void_width_mean_m or enlarge the window")
        for _ in range(max_attempts):
            c = lo + (hi - lo) * rng.random(2)
            if k == 0 or np.all(np.hypot(*(centres[:k] - c).T) >= d[:k] / 2 + r + gap):
                centres[k] = c
                break
        else:
            raise GeometryError(f"{count} voids covering {void_fraction:g} of the interface could not be placed "
                                "without overlap: reduce geometry.void_fraction or void_width_mean_m")
    b = void_aspect_ratio * d
    height = electrolyte_thickness_m + electrode_thickness_m
    if b.max() >= electrode_thickness_m:
        raise GeometryError(f"the deepest void ({b.max():g} m) reaches the electrode top ({electrode_thickness_m:g} m "
                            "thick): reduce void_aspect_ratio or thicken the electrode")
    section = generators.flat(width_m, electrode_thickness_m, electrolyte_thickness_m)
    section.description = (f"{count} half-spheroidal voids (3D), areal fraction {void_fraction:g}, mean diameter "
                           f"{void_width_mean_m:g} m (cv {void_width_cv:g}), aspect {void_aspect_ratio:g}, "
                           f"seed {seed}, "
                           f"depth {depth_m:g} m")
    section.solid = VoidsSolid(width_m, height, depth_m, electrolyte_thickness_m, centres, d / 2, b)
    return section


#: Geometry kinds that are genuinely 3D with geometry.depth_m (the others are extruded).
KINDS_3D = ("rough", "voids")

__all__ = ["rough_field", "rough", "voids", "RoughSolid", "VoidsSolid", "KINDS_3D"]
