"""A synthetic FIB-SEM renderer: any phase label image -> the grey image a FIB-SEM would show,
with the truth kept. For testing segmentation settings against known phases, and for training the
texture classifier of the image pipeline (:mod:`ecmsim.geometry.image.texture`).

:func:`render` draws, in this order (every random choice from one ``seed``):

1. **phases**: a grey level per phase code (:class:`PhaseLook`), with an optional smooth mottling
   (``texture``, its standard deviation in grey levels, correlation length ``texture_px``);
2. **particles** (:class:`Particles`): bright discs of a log-uniform radius in a host phase (LLZTO in
   the polymer of PLL) covering a chosen area fraction of it; in the truth they stay part of their
   host (a composite electrolyte is *one* phase) and are returned as their own mask
   (:attr:`Rendering.particles`). A label image that already holds ``PARTICLE`` pixels keeps them;
3. **network** (:class:`Network`): a thin bright connected skeleton in a host phase (the Li22Sn5
   alloy in a Li-Sn electrode), part of its host in the truth;
4. **pores**: void is darkest, its far wall brightening slowly with depth, and a bright **rim** of
   ``rim_width_px`` on the pore's side of its boundary: the edge contrast of the pore wall seen
   edge-on, part of the pore in the truth;
5. **blur** (Gaussian, ``blur_px``), **curtaining** (vertical stripes of a random column profile,
   fading with depth from the milled top edge), **shading** (charging glow near the top and side
   edges plus a ramp across the image), and Gaussian **noise**.

The artefacts (rims, curtains, shading, noise) carry a common ``strength`` (0: none, 1: the look's
values). :data:`LI_PLL` and :data:`LI_SN_PLL` are looks of the reference cells' sections (plated Li
or Li-Sn over PLL: Li and the polymer differ by a few grey levels, below the noise; the LLZTO
particles and pore rims are bright); :func:`plated_li_pll_labels` and :func:`li_sn_pll_labels` draw
their label images. Grey levels are on a 0-255 scale; the image is uint8.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field, replace

import numpy as np

from ecmsim.geometry.image.phases import DEAD_LI, ELECTRODE, ELECTROLYTE, PARTICLE, PHASE_NAMES, VOID
from ecmsim.geometry.synthetic import ellipse_mask


@dataclass(frozen=True)
class PhaseLook:
    """How one phase looks: mean ``grey`` (0-255) and a smooth mottling of standard deviation
    ``texture`` grey levels and correlation length ``texture_px``."""

    grey: float
    texture: float = 0.0
    texture_px: float = 2.0


@dataclass(frozen=True)
class Particles:
    """Bright particles in a host phase: ``fraction`` of the host's area, radii log-uniform in
    ``radius_px``, grey level ``grey``, a mottling of ``texture`` grey levels."""

    fraction: float = 0.19
    radius_px: tuple[float, float] = (2.0, 5.0)
    grey: float = 170.0
    texture: float = 6.0
    host: int = ELECTROLYTE


@dataclass(frozen=True)
class Network:
    """A thin connected bright skeleton in a host phase (an alloy network): lines ``width_px``
    wide on a cell size of about ``cell_px``, grey level ``grey``."""

    width_px: float = 1.6
    cell_px: float = 14.0
    grey: float = 130.0
    host: int = ELECTRODE


@dataclass(frozen=True)
class Artefacts:
    """Artefact strengths of a rendering (grey levels on the 0-255 scale, lengths in pixels)."""

    rim_contrast: float = 60.0        # rim on the pore side of every pore boundary, above the solid
    rim_width_px: float = 1.5
    blur_px: float = 0.8
    curtain_amplitude: float = 12.0   # standard deviation of the vertical stripes at the top edge
    curtain_fade: float = 0.6         # the stripes lose this fraction of their amplitude to the bottom
    shading_amplitude: float = 25.0   # charging glow at the top and side edges (+ 0.4 x as a ramp)
    shading_length_px: float = 40.0
    noise_sigma: float = 10.0

    def scaled(self, strength: float) -> Artefacts:
        """The same artefacts at ``strength`` x their amplitude (blur and widths unchanged)."""
        if not (math.isfinite(strength) and 0 <= strength <= 5):
            raise ValueError(f"artefact strength must be from 0 to 5 (got {strength})")
        return replace(self, rim_contrast=strength * self.rim_contrast,
                       curtain_amplitude=strength * self.curtain_amplitude,
                       shading_amplitude=strength * self.shading_amplitude,
                       noise_sigma=strength * self.noise_sigma)


@dataclass(frozen=True)
class Look:
    """Everything :func:`render` needs besides the labels: a :class:`PhaseLook` per phase code
    (codes without one look like the electrolyte), optional particles and network, artefacts."""

    phases: Mapping[int, PhaseLook]
    particles: Particles | None = None
    network: Network | None = None
    artefacts: Artefacts = field(default_factory=Artefacts)


#: Plated Li over PLL (PEO-LiTFSI with LLZTO particles): Li and the polymer 10 grey levels apart
#: (the noise is 10), LLZTO particles bright (19 % of the PLL's area: 50 wt% LLZTO at 5.4 g/cm3 in
#: PEO-LiTFSI at 1.24 g/cm3, docs/geometry.md), pores dark with bright rims.
LI_PLL = Look(phases={VOID: PhaseLook(30.0), ELECTRODE: PhaseLook(85.0, 3.0, 6.0),
                      ELECTROLYTE: PhaseLook(95.0, 2.0, 2.0), DEAD_LI: PhaseLook(85.0, 3.0, 6.0)},
              particles=Particles())
#: Li-Sn over PLL: as :data:`LI_PLL`, the electrode holding a bright Li22Sn5 network.
LI_SN_PLL = replace(LI_PLL, network=Network())
#: The looks by name (the ``ecmsim render --look`` choices).
LOOKS = {"li_pll": LI_PLL, "li_sn_pll": LI_SN_PLL}


@dataclass
class Rendering:
    """A rendered image and its truth.

    Attributes:
        grey: the image (uint8, 0-255).
        labels: the phase truth (codes of :mod:`ecmsim.geometry.image.phases`): particles and
            network belong to their host phase, rims to their pore.
        particles: where the particles are (bool).
        network: where the network is (bool).
        rims: where the bright pore rims are (bool; inside the void).
    """

    grey: np.ndarray
    labels: np.ndarray
    particles: np.ndarray
    network: np.ndarray
    rims: np.ndarray

    def labels_with_particles(self) -> np.ndarray:
        """The truth with the particles as ``PARTICLE`` (the phases of ``particles = true``)."""
        out = self.labels.copy()
        out[self.particles] = PARTICLE
        return out


def render(labels: np.ndarray, look: Look = LI_PLL, strength: float = 1.0, seed: int = 0) -> Rendering:
    """The grey image a FIB-SEM would show of ``labels`` (any phase codes), and its truth.

    ``strength`` scales the artefacts (rims, curtains, shading, noise); ``seed`` fixes every
    random choice (the same seed gives the same image bit for bit).
    """
    from scipy.ndimage import distance_transform_edt, gaussian_filter

    labels = np.asarray(labels)
    if labels.ndim != 2 or min(labels.shape) < 8:
        raise ValueError(f"labels must be a 2D image of at least 8 x 8 pixels (got shape {labels.shape})")
    unknown = sorted(set(np.unique(labels).tolist()) - set(PHASE_NAMES.values()))
    if unknown:
        raise ValueError(f"label values {unknown[:5]} are no phase codes ({PHASE_NAMES})")
    art = look.artefacts.scaled(strength)
    rng = np.random.default_rng(seed)
    h, w = labels.shape
    default = look.phases.get(ELECTROLYTE, PhaseLook(100.0))
    img = np.zeros((h, w))
    for code in np.unique(labels):
        phase = look.phases.get(int(code), default)
        m = labels == code
        img[m] = phase.grey
        if phase.texture:
            img[m] += phase.texture * _smooth_noise(rng, (h, w), phase.texture_px)[m]
    truth = labels.astype(np.uint8).copy()
    particles = labels == PARTICLE
    truth[particles] = ELECTROLYTE if look.particles is None else look.particles.host
    if look.particles is not None and look.particles.fraction > 0 and not particles.any():
        p = look.particles
        particles = discs((h, w), p.fraction, p.radius_px, rng, within=labels == p.host)
    if particles.any():
        p = look.particles or Particles()
        img[particles] = p.grey + p.texture * _smooth_noise(rng, (h, w), 1.0)[particles]
    network = np.zeros((h, w), bool)
    if look.network is not None:
        net = look.network
        field_ = _smooth_noise(rng, (h, w), net.cell_px / 4)
        ridge = np.abs(field_) < 0.5 * net.width_px * _gradient_norm(field_)
        network = ridge & (labels == net.host)
        img[network] = net.grey
    void = labels == VOID
    rims = np.zeros((h, w), bool)
    if void.any():
        depth = distance_transform_edt(void)
        img[void] += 10.0 * np.tanh(depth[void] / 6.0)  # the far wall shows faintly in big pores
        if art.rim_contrast and art.rim_width_px > 0:
            # the rim: the pore's edge band, brighter than the solid it borders by rim_contrast
            rims = void & (depth <= art.rim_width_px + 0.5)
            near = distance_transform_edt(void, return_distances=False, return_indices=True)
            solid_grey = img[near[0], near[1]]
            img[rims] = solid_grey[rims] + art.rim_contrast
    if art.blur_px:
        img = gaussian_filter(img, art.blur_px)
    rows, cols = np.mgrid[0:h, 0:w]
    if art.curtain_amplitude:
        stripes = _smooth_noise(rng, (w,), 1.5)
        fade = 1.0 - art.curtain_fade * rows[:, :1] / max(h - 1, 1)   # curtains start at the milled top
        img += art.curtain_amplitude * fade * stripes[None, :]
    if art.shading_amplitude:
        edge = np.minimum(np.minimum(rows, cols), w - 1 - cols)
        img += art.shading_amplitude * (np.exp(-edge / art.shading_length_px) + 0.4 * cols / w)
    if art.noise_sigma:
        img += rng.normal(0.0, art.noise_sigma, img.shape)
    grey = np.round(np.clip(img, 0, 255)).astype(np.uint8)
    return Rendering(grey, truth, particles & (truth == (look.particles or Particles()).host), network, rims)


def _smooth_noise(rng: np.random.Generator, shape: tuple[int, ...], sigma_px: float) -> np.ndarray:
    """Gaussian-filtered white noise scaled to unit standard deviation."""
    from scipy.ndimage import gaussian_filter

    x = gaussian_filter(rng.standard_normal(shape), sigma_px, mode="wrap")
    return x / max(float(x.std()), 1e-12)


def _gradient_norm(f: np.ndarray) -> np.ndarray:
    gy, gx = np.gradient(f)
    return np.hypot(gx, gy)


def discs(shape: tuple[int, int], fraction: float, radius_px: tuple[float, float], rng: np.random.Generator,
          within: np.ndarray | None = None) -> np.ndarray:
    """Random (overlapping) discs of log-uniform radius covering about ``fraction`` of ``within``."""
    h, w = shape
    within = np.ones(shape, bool) if within is None else within
    mask = np.zeros(shape, bool)
    target = fraction * within.sum()
    if target <= 0:
        return mask
    rows, cols = np.ogrid[0:h, 0:w]
    lo, hi = np.log(radius_px[0]), np.log(radius_px[1])
    covered = 0
    for _ in range(1_000_000):
        if covered >= target:
            break
        r, c, rad = rng.uniform(0, h), rng.uniform(0, w), float(np.exp(rng.uniform(lo, hi)))
        if not within[min(int(r), h - 1), min(int(c), w - 1)]:
            continue
        r0, r1 = int(max(r - rad - 1, 0)), int(min(r + rad + 2, h))
        c0, c1 = int(max(c - rad - 1, 0)), int(min(c + rad + 2, w))
        disc = (rows[r0:r1] - r + 0.5) ** 2 + (cols[:, c0:c1] - c + 0.5) ** 2 <= rad**2
        covered += int((disc & ~mask[r0:r1, c0:c1] & within[r0:r1, c0:c1]).sum())
        mask[r0:r1, c0:c1] |= disc
    return mask & within


# ------------------------------------------------------------------------ label images of the cells

def _rough_bilayer(h: int, w: int, electrode_fraction: float, rms_px: float, correlation_px: float, seed: int):
    """(interface row per column, pixel-centre rows, cols, labels): electrode above a rough interface at
    ``electrode_fraction`` of the height, electrolyte below."""
    from ecmsim.geometry.generators import rough_profile

    x, prof = rough_profile(float(w), rms_px, correlation_px, seed)
    iface = electrode_fraction * h + np.interp(np.arange(w) + 0.5, x, prof)
    rows, cols = np.mgrid[0:h, 0:w] + 0.5
    return iface, rows, cols, np.where(rows < iface[None, :], ELECTRODE, ELECTROLYTE).astype(np.uint8)


def plated_li_pll_labels(height_px: int = 400, width_px: int = 800, seed: int = 0,
                         electrode_fraction: float = 0.45, pore_fraction: float = 0.10) -> np.ndarray:
    """Porous plated Li over PLL: a rough interface at ``electrode_fraction`` of the height from the
    top, pores (ellipses of 2-12 px, more of them near the interface) on ``pore_fraction`` of the
    Li, half-elliptic voids along the interface, a few pores in the PLL."""
    rng = np.random.default_rng(seed)
    h, w = height_px, width_px
    iface, rows, cols, lab = _rough_bilayer(h, w, electrode_fraction, 0.02 * h, 0.08 * w, seed)
    electrode = lab == ELECTRODE
    target = pore_fraction * electrode.sum()
    void = np.zeros((h, w), bool)
    covered = 0
    for _ in range(20_000):
        if covered >= target:
            break
        c = rng.uniform(0, w)
        top = float(np.interp(c, np.arange(w), iface))
        r = top - top * rng.beta(1.0, 2.5)             # more pores near the interface
        a, b = np.exp(rng.uniform(np.log(3.0), np.log(12.0), 2))
        ang = rng.uniform(0, np.pi)
        box = (slice(max(int(r - max(a, b)) - 1, 0), min(int(r + max(a, b)) + 2, h)),
               slice(max(int(c - max(a, b)) - 1, 0), min(int(c + max(a, b)) + 2, w)))
        pore = ellipse_mask(rows[box], cols[box], c, r, a, b, ang)
        covered += int((pore & ~void[box] & electrode[box]).sum())
        void[box] |= pore
    for c in rng.uniform(0, w, max(2, w // 120)):     # interfacial voids (lost contact)
        half, depth = rng.uniform(8, 25), rng.uniform(4, 12)
        t = (cols - c) / half
        top = np.interp(cols, np.arange(w) + 0.5, iface)
        void |= (np.abs(t) < 1) & (rows < top) & (rows > top - depth * np.sqrt(np.clip(1 - t**2, 0, 1)))
    lab[void & electrode] = VOID
    for _ in range(max(1, w // 200)):                # a few pores in the polymer
        c, r = rng.uniform(0, w), rng.uniform(iface.max() + 10, h)
        lab[ellipse_mask(rows, cols, c, r, *rng.uniform(3, 7, 2), rng.uniform(0, np.pi)) & (lab == ELECTROLYTE)] = VOID
    return lab


def li_sn_pll_labels(height_px: int = 400, width_px: int = 800, seed: int = 0,
                     electrode_fraction: float = 0.45) -> np.ndarray:
    """Li-Sn over PLL after cycling: a conformal interface of small roughness, a few small pores in
    the electrode (the Li22Sn5 network is drawn by the look, :data:`LI_SN_PLL`)."""
    rng = np.random.default_rng(seed)
    h, w = height_px, width_px
    iface, rows, cols, lab = _rough_bilayer(h, w, electrode_fraction, 0.006 * h, 0.03 * w, seed)
    for _ in range(max(2, w // 100)):
        c, r = rng.uniform(0, w), rng.uniform(0.1 * h, iface.min() - 8)
        lab[ellipse_mask(rows, cols, c, r, *rng.uniform(4.0, 8.0, 2), rng.uniform(0, np.pi)) & (lab == ELECTRODE)] = VOID
    return lab
