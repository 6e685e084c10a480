"""Synthetic FIB-SEM cross-sections: analytic scenes -> phase labels -> grey images with the
artefacts of real ones. For examples, tests and benchmarks (the true labels are known).

The shipped examples of meshes/ are drawn by :func:`render` here (kept so that they stay byte for
byte); the general renderer, any label image with per-phase texture, particles, alloy networks,
pore rims and artefacts at a chosen strength, is :mod:`ecmsim.geometry.fibsem` (``ecmsim render``).

A :class:`Scene` is in pixels, row 0 at the top, electrode above the electrolyte. Its labels
are sampled at pixel centres. :func:`render` draws what a secondary-electron FIB-SEM image of
it looks like: grey level per phase (pores darkest), LLZTO particles in the PLL, an optional
alloy network in the electrode, bright rims around pores (edge effect), a blur, vertical
curtaining stripes, charging glow at the image edges, and noise.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ecmsim.geometry.generators import rough_profile
from ecmsim.geometry.image.phases import ELECTRODE, ELECTROLYTE, VOID


@dataclass
class Scene:
    """An interface cross-section in pixels (row 0 at the top, x to the right).

    Attributes:
        height_px, width_px: image size.
        interface_row: row of the interface at every column (electrode above), (width_px,).
        interfacial_voids: (x centre, width, depth) [px]: half-ellipses above the interface.
        closed_voids: (x, row, semi-axis x, semi-axis row, angle [rad]) ellipses of void.
        islands: the same for electrode islands (dead Li) inside the electrolyte.
        filaments: (x centre, width, length) [px]: electrode reaching down into the electrolyte.
    """

    height_px: int
    width_px: int
    interface_row: np.ndarray
    interfacial_voids: list[tuple[float, float, float]] = field(default_factory=list)
    closed_voids: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    islands: list[tuple[float, float, float, float, float]] = field(default_factory=list)
    filaments: list[tuple[float, float, float]] = field(default_factory=list)

    def labels(self) -> np.ndarray:
        """Phase labels at pixel centres (VOID, ELECTRODE, ELECTROLYTE)."""
        rows, cols = np.mgrid[0:self.height_px, 0:self.width_px] + 0.5
        iface = np.interp(cols, np.arange(self.width_px) + 0.5, self.interface_row)
        out = np.where(rows < iface, ELECTRODE, ELECTROLYTE).astype(np.uint8)
        for xc, w, length in self.filaments:
            top = np.interp(xc, np.arange(self.width_px) + 0.5, self.interface_row)
            body = (np.abs(cols - xc) <= w / 2) & (rows >= iface - 1) & (rows <= top + length - w / 2)
            tip = (cols - xc) ** 2 + (rows - (top + length - w / 2)) ** 2 <= (w / 2) ** 2
            out[body | tip] = ELECTRODE
        for ellipse in self.islands:
            out[ellipse_mask(rows, cols, *ellipse) & (out == ELECTROLYTE)] = ELECTRODE
        for xc, w, depth in self.interfacial_voids:
            t = (cols - xc) / (w / 2)
            lens = (np.abs(t) < 1) & (rows < iface) & (rows > iface - depth * np.sqrt(np.clip(1 - t**2, 0, 1)))
            out[lens] = VOID
        for ellipse in self.closed_voids:
            out[ellipse_mask(rows, cols, *ellipse)] = VOID
        return out


def ellipse_mask(rows, cols, xc, rc, ax, ar, angle):
    """Pixels (centres ``rows``, ``cols``) inside the ellipse centred at (xc, rc) with semi-axes ax, ar
    turned by ``angle`` [rad]."""
    c, s = np.cos(angle), np.sin(angle)
    u = (cols - xc) * c + (rows - rc) * s
    v = -(cols - xc) * s + (rows - rc) * c
    return (u / ax) ** 2 + (v / ar) ** 2 <= 1


def rough_rows(width_px: int, mean_row: float, rms_px: float, correlation_px: float, seed: int) -> np.ndarray:
    """Interface rows of a periodic rough profile (see :func:`~ecmsim.geometry.generators.rough_profile`)."""
    if rms_px <= 0:
        return np.full(width_px, float(mean_row))
    x, h = rough_profile(float(width_px), rms_px, correlation_px, seed)
    return mean_row + np.interp(np.arange(width_px) + 0.5, x, h)


@dataclass(frozen=True)
class Look:
    """Grey levels (0-255 scale) and artefact strengths of a rendered image."""

    void: float = 35.0
    electrode: float = 95.0
    electrolyte: float = 165.0
    particle_contrast: float = 30.0      # LLZTO particles in the PLL
    particle_fraction: float = 0.15      # of the PLL area
    alloy_contrast: float = 0.0          # Li22Sn5 network in a Li-Sn electrode
    rim_contrast: float = 45.0           # bright edge-effect rim around pores
    blur_px: float = 0.8
    curtain_amplitude: float = 10.0      # vertical stripes from the FIB
    charging_amplitude: float = 30.0     # glow near the image top and sides
    charging_length_px: float = 25.0
    noise_sigma: float = 12.0


CLEAN = Look(particle_contrast=0.0, alloy_contrast=0.0, rim_contrast=0.0, blur_px=0.0, curtain_amplitude=0.0,
             charging_amplitude=0.0, noise_sigma=0.0)
"""Flat grey levels, no artefacts: the noise-free twin of an image."""


def render(labels: np.ndarray, look: Look = Look(), seed: int = 0, bits: int = 8) -> np.ndarray:
    """A grey image (uint8 or uint16) of the labels as a FIB-SEM would show them."""
    from scipy.ndimage import distance_transform_edt, gaussian_filter, gaussian_filter1d

    rng = np.random.default_rng(seed)
    h, w = labels.shape
    img = np.choose(labels, [look.void, look.electrode, look.electrolyte]).astype(float)
    if look.particle_contrast:
        n = int(look.particle_fraction * (labels == ELECTROLYTE).sum() / (np.pi * 2.5**2))
        mask = np.zeros((h, w), dtype=bool)
        rows, cols = np.ogrid[0:h, 0:w]
        for r, c, rad in zip(rng.uniform(0, h, n), rng.uniform(0, w, n), rng.uniform(1.5, 3.5, n), strict=True):
            r0, r1, c0, c1 = int(max(r - rad - 1, 0)), int(min(r + rad + 2, h)), int(max(c - rad - 1, 0)), int(min(c + rad + 2, w))
            mask[r0:r1, c0:c1] |= (rows[r0:r1] - r) ** 2 + (cols[:, c0:c1] - c) ** 2 <= rad**2
        img[mask & (labels == ELECTROLYTE)] += look.particle_contrast
    if look.alloy_contrast:
        network = gaussian_filter(rng.standard_normal((h, w)), 2.0)
        img[(np.abs(network) < 0.03) & (labels == ELECTRODE)] += look.alloy_contrast
    void = labels == VOID
    if void.any():
        depth = distance_transform_edt(void)
        img[void] += 10.0 * np.tanh(depth[void] / 6.0)  # the pore's far wall shows faintly
        if look.rim_contrast:
            rim = (distance_transform_edt(~void) <= 1.5) & ~void
            img[rim] += look.rim_contrast
    if look.blur_px:
        img = gaussian_filter(img, look.blur_px)
    if look.curtain_amplitude:
        stripes = gaussian_filter1d(rng.standard_normal(w), 1.5)
        stripes *= look.curtain_amplitude / max(stripes.std(), 1e-12)
        fade = 1.0 - 0.5 * np.arange(h) / h  # curtains start at the milled top surface
        img += fade[:, None] * stripes[None, :]
    if look.charging_amplitude:
        rows, cols = np.mgrid[0:h, 0:w]
        edge = np.minimum(np.minimum(rows, cols), w - 1 - cols)
        img += look.charging_amplitude * np.exp(-edge / look.charging_length_px)
    if look.noise_sigma:
        img += rng.normal(0.0, look.noise_sigma, img.shape)
    img = np.clip(img, 0, 255)
    if bits == 16:
        return np.round(img * 257).astype(np.uint16)
    return np.round(img).astype(np.uint8)


def save_png(path, image: np.ndarray) -> None:
    """Write a grey image (uint8 or uint16) as PNG."""
    from PIL import Image

    Image.fromarray(image).save(path, optimize=True)


def random_voids_scene(height_px: int, width_px: int, n_voids: int, seed: int) -> Scene:
    """A cycled-looking scene with ``n_voids`` voids (half interfacial, half closed in the
    electrode), a rough interface, and a few filaments and islands: the benchmark input."""
    rng = np.random.default_rng(seed)
    iface = rough_rows(width_px, 0.5 * height_px, 0.01 * height_px, 0.05 * width_px, seed)
    n_int = n_voids // 2
    xs = (np.arange(n_int) + rng.uniform(0.2, 0.8, n_int)) * width_px / n_int
    interfacial = [(float(x), float(rng.uniform(0.3, 0.6) * width_px / n_int), float(rng.uniform(0.01, 0.03) * height_px))
                   for x in xs]
    closed = [(float(rng.uniform(0.03, 0.97) * width_px), float(rng.uniform(0.1, 0.4) * height_px),
               float(rng.uniform(0.004, 0.012) * width_px), float(rng.uniform(0.004, 0.01) * width_px),
               float(rng.uniform(0, np.pi))) for _ in range(n_voids - n_int)]
    filaments = [(float(x), 0.004 * width_px, 0.08 * height_px) for x in rng.uniform(0.05, 0.95, 3) * width_px]
    islands = [(float(rng.uniform(0.1, 0.9) * width_px), float(rng.uniform(0.7, 0.85) * height_px),
                0.006 * width_px, 0.004 * width_px, 0.0) for _ in range(2)]
    return Scene(height_px, width_px, iface, interfacial, closed, islands, filaments)


# ------------------------------------------------------------------ N-phase scenes (issue 13 tests)

def disks(shape: tuple[int, int], fraction: float, radius_px: tuple[float, float], seed: int,
          within: np.ndarray | None = None) -> np.ndarray:
    """Random overlapping discs covering about ``fraction`` of ``within`` (default: everything)."""
    rng = np.random.default_rng(seed)
    h, w = shape
    within = np.ones(shape, dtype=bool) if within is None else within
    mask = np.zeros(shape, dtype=bool)
    rows, cols = np.ogrid[0:h, 0:w]
    target = fraction * within.sum()
    while (mask & within).sum() < target:
        r, c, rad = rng.uniform(0, h), rng.uniform(0, w), rng.uniform(*radius_px)
        r0, r1 = int(max(r - rad - 1, 0)), int(min(r + rad + 2, h))
        c0, c1 = int(max(c - rad - 1, 0)), int(min(c + rad + 2, w))
        mask[r0:r1, c0:c1] |= (rows[r0:r1] - r) ** 2 + (cols[:, c0:c1] - c) ** 2 <= rad**2
    return mask & within


def render_phases(labels: np.ndarray, grey: dict[int, float], seed: int = 0, noise_sigma: float = 20.0,
                  blur_px: float = 1.0, shading: float = 30.0, curtains: float = 12.0,
                  texture: dict[int, float] | None = None) -> np.ndarray:
    """uint8 image of any phase codes: grey per code, blur, a smooth shading ramp and glow
    (``shading`` grey levels), vertical curtains, optional per-phase texture (std of a fine
    random pattern) and Gaussian noise."""
    from scipy.ndimage import gaussian_filter, gaussian_filter1d

    rng = np.random.default_rng(seed)
    h, w = labels.shape
    img = np.zeros((h, w))
    for code, level in grey.items():
        img[labels == code] = level
    for code, std in (texture or {}).items():
        pattern = gaussian_filter(rng.standard_normal((h, w)), 1.0)
        img[labels == code] += std * pattern[labels == code] / pattern.std()
    if blur_px:
        img = gaussian_filter(img, blur_px)
    rows, cols = np.mgrid[0:h, 0:w]
    img += shading * (0.3 * cols / w + np.exp(-np.minimum(rows, cols) / 25.0))
    if curtains:
        stripes = gaussian_filter1d(rng.standard_normal(w), 1.5)
        img += curtains * stripes[None, :] / max(stripes.std(), 1e-12)
    img += rng.normal(0.0, noise_sigma, img.shape)
    return np.round(np.clip(img, 0, 255)).astype(np.uint8)
