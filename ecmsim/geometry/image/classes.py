"""Step 2 of the image pipeline, **segment**: a grey image -> grey classes -> phase labels
(:func:`segment_grey`).

A median filter (``median_px``, default 5x5: removes shot noise and the 1-2 pixel bright rims
that edge charging draws around pores) and destriping (:mod:`ecmsim.geometry.image.flatten`)
come first. The classes then come from one of three routes:

- the user's ``levels``;
- the histogram route (``method`` ``histogram``, and ``auto`` first): the phases are the clear
  peaks of the grey-level histogram, the darkest of three is void; thresholds start in the
  valleys between them and move midway between neighbouring phases' grey levels
  (:mod:`ecmsim.geometry.image.levels`);
- the mixture route (``mixture``; ``auto`` when the histogram shows one phase only, or two
  while a dark minority class with sharp edges is there: :func:`_missed_dark_phase`):
  non-local-means denoising and a Gaussian mixture (:mod:`ecmsim.geometry.image.segment`);
  neighbouring classes whose common boundary is soft are merged (:func:`_merge_soft_classes`),
  the image is flattened per class and fitted again; the thresholds go midway between the
  class interiors.

A flattening step subtracts curtaining stripes (column offsets) and smooth shading (charging
near the edges) estimated from the residual of each phase, and the pixels are classified again.
With three classes, the false film of the middle phase along edges between the darkest and the
brightest phase goes (:func:`_partial_volume`). The classes are named
(:mod:`ecmsim.geometry.image.assign`); on the mixture route without given phases, the pores then
grow into the mid-grey far walls seen through them (:func:`_grow_pores`).
"""

from __future__ import annotations

import math

import numpy as np

from ecmsim.core.errors import GeometryError
from ecmsim.geometry.image.assign import name_phases
from ecmsim.geometry.image.flatten import _destripe, _flatten
from ecmsim.geometry.image.levels import _classify, _interior_midpoints, _quantum, histogram_levels, phase_levels
from ecmsim.geometry.image.phases import PHASE_NAMES, VOID_CHANGE_WARNING
from ecmsim.geometry.image.read import ImageOptions


def segment_grey(grey: np.ndarray, options: ImageOptions, source: str = "image") -> tuple[np.ndarray, dict]:
    """Phase labels (VOID, ELECTRODE, ELECTROLYTE...) of a grey image, and what was decided: by
    grey level (:func:`by_grey_level`), by texture (``method = "texture"``,
    :mod:`ecmsim.geometry.image.texture`), or, with ``auto`` and no phases or levels given, by grey
    level unless the texture reads a composite-electrolyte bilayer differently (:func:`_auto`)."""
    if options.method == "texture":
        return _texture_labels(grey, options)
    if options.method != "auto" or options.phases is not None or options.levels is not None:
        return by_grey_level(grey, options, source)
    try:
        labels, info = by_grey_level(grey, options, source)
    except GeometryError as err:
        return _auto(grey, options, None, {}, err)
    return _auto(grey, options, labels, info, None)


def by_grey_level(grey: np.ndarray, options: ImageOptions, source: str = "image") -> tuple[np.ndarray, dict]:
    """Phase labels of a grey image by its grey levels (histogram, mixture or given levels; see
    the module docstring), and what was decided."""
    from scipy.ndimage import median_filter

    quantum = _quantum(grey)
    size = options.median_size_px
    g = median_filter(grey, size=size, mode="nearest") if size > 1 else grey
    if options.flatten:
        g = _destripe(g)
    info: dict = {}
    method = "levels" if options.levels is not None else options.method
    if options.levels is not None:
        n = len(options.levels) + 1
        thresholds = np.asarray(options.levels, dtype=float)
        classes = _classify(g, thresholds)
        present = np.bincount(classes.ravel(), minlength=n)
        if np.count_nonzero(present) < 2:
            raise GeometryError(f"{source}: levels {list(options.levels)} leave one phase only "
                                f"(grey values from {grey.min():g} to {grey.max():g})")
    if method in ("auto", "histogram"):
        try:
            n, thresholds, classes = _histogram_route(g, options, quantum, info, source)
            method = "histogram"
        except GeometryError as err:
            if method == "histogram":
                raise
            info["warnings"] = [f"grey histogram: {err}".replace(f"{source}: ", "")
                                + "; used the Gaussian mixture instead"]
            method = "mixture"
        if method == "histogram" and options.method == "auto" and options.phases is None and n == 2:
            dark = _missed_dark_phase(g, thresholds)
            if dark is not None:
                info.setdefault("warnings", []).append(
                    f"the histogram showed 2 phases but a dark class of {100 * dark:.1f} % of the image "
                    f"with sharp edges is there (pores?): used the Gaussian mixture")
                method = "mixture"
    if method == "mixture":
        g, n, thresholds, classes = _mixture_route(grey, options, info, source)
    info["segmentation_method"] = method
    if options.flatten:
        # mixture thresholds stay: class modes are ill-defined for small blurred pores
        g, classes, thresholds = _flatten(g, classes, thresholds,
                                          fixed=options.levels is not None or method == "mixture")
    info["thresholds"] = [float(t) for t in thresholds]
    if n == 3 and (options.phases is None or options.phases[0] == "void"):
        classes, info["partial_volume_pixels"] = _partial_volume(g, classes)

    names = name_phases(g, classes, n, method, options, info, source)
    if method == "mixture" and options.phases is None and n >= 2 and names[0] == "void" and names[1] != "void":
        host = [k for k, name in enumerate(names) if name == names[1]]
        classes, info["pore_growth"] = _grow_pores(g, classes, 0, host, max(3, options.median_size_px))
        grown = info["pore_growth"]
        if grown.get("applied") and grown["pore_fraction_after"] > (1 + VOID_CHANGE_WARNING) * grown["pore_fraction_before"]:
            info.setdefault("warnings", []).append(
                f"pores grown into {grown['pixels_added']} px of mid-grey patches attached to them (far pore walls "
                f"seen through open pores?): void fraction {grown['pore_fraction_before']:.3f} -> "
                f"{grown['pore_fraction_after']:.3f}; give the phases, levels or scribbles to decide otherwise")
    info["class_phases"] = names
    info["phases"] = list(dict.fromkeys(names))
    lut = np.array([PHASE_NAMES[name] for name in names], dtype=np.uint8)
    return lut[classes], info


def _mixture_route(grey: np.ndarray, options: ImageOptions, info: dict, source: str):
    """Classes by the Gaussian mixture of :mod:`ecmsim.geometry.image.segment` on the denoised
    image (over-split, soft boundaries merged, flattened per class and fitted again); returns
    the denoised (flattened) image, the class count, the thresholds and the classes."""
    from ecmsim.geometry.image import segment as seg

    # non-local means instead of the median: the median erases pores a few pixels wide
    g, sigma = seg.denoise(_destripe(grey) if options.flatten else grey)
    want = len(options.phases) if options.phases is not None else None
    # shading first: classes -> per-class flattening -> classes again on the flat image
    # over-split (OVERSPLIT classes), merge neighbours whose common boundary is soft
    # (shading, pore-edge blur), flatten per class, fit again with the merged count
    count = want
    thresholds = minfo = None  # the first round's, read by the second
    for rnd in range(2 if options.flatten else 1):
        previous = (thresholds, minfo) if rnd == 1 else None
        thresholds, minfo = seg.mixture_classes(g, n_classes=count, min_contrast=sigma)
        if previous is not None and len(previous[0]) == len(thresholds) and len(thresholds) > 0:
            sep = minfo["separation_by_count"].get(str(len(thresholds) + 1), [])
            if sep and min(sep) < NESTED_SEPARATION:
                # on the flat image a phase can be a spike of a few grey levels: the fit then
                # spends a broad component on the pores and all edges together, nested on the
                # spike (separation 0.1 on the shipped composite window: its 3 % pores were
                # lost); the first fit's thresholds hold on the flattened image (flattened
                # with them fixed)
                thresholds, minfo = previous[0], {**previous[1], "second_fit_rejected": {
                    "separation": sep, "why": f"two components nested on one grey level "
                                              f"(separation < {NESTED_SEPARATION:g})"}}
        classes = _classify(g, thresholds)
        if want is None:
            thresholds, classes, merged = _merge_soft_classes(g, classes, thresholds)
            if merged:
                minfo["merged_soft_boundaries"] = merged
            count = len(thresholds) + 1
        if rnd == 0 and options.flatten and len(thresholds) > 0:
            g, classes, thresholds = _flatten(g, classes, thresholds, fixed=True)
    if len(thresholds) > 0:
        # a blurred edge crosses the midpoint of its two phases' levels where the edge is:
        # levels from each class's interior (1 px in), not from the mixture, whose minority
        # components are pulled towards the edges
        thresholds = _interior_midpoints(g, classes, len(thresholds) + 1, thresholds)
        classes = _classify(g, thresholds)
        minfo["thresholds_interior_midpoints"] = [float(t) for t in thresholds]
    minfo["noise_sigma"] = sigma
    n = len(thresholds) + 1
    if n < 2:
        raise GeometryError(f"{source}: the image shows one phase only (one grey-level peak, one mixture "
                            f"class after denoising); give the levels or a label image, or check the image")
    if want is not None and n != want:
        raise GeometryError(f"{source}: the grey values hold {n} classes, {want} phases were asked for: "
                            f"give the levels or a label image")
    info["mixture"] = minfo
    info["grey_peaks"] = minfo["class_means"]
    return g, n, thresholds, classes


def _histogram_route(g, options: ImageOptions, quantum: float, info: dict, source: str):
    """Thresholds from histogram peaks (the original route); raises when the peaks do not fit."""
    found, peaks = histogram_levels(g, quantum=quantum)
    if len(peaks) < 2:
        raise GeometryError(f"{source}: the image shows one phase only (its grey-level histogram "
                            f"has a single peak); give the levels or check the image")
    n = len(options.phases) if options.phases is not None else len(peaks)
    thresholds = found if n == len(peaks) else histogram_levels(g, n, quantum=quantum)[0]
    if len(thresholds) != n - 1:
        raise GeometryError(f"{source}: found {len(peaks)} grey phases, {n} were asked for: give the levels")
    info["grey_peaks"] = peaks
    thresholds = phase_levels(g, _classify(g, thresholds), n)
    return n, thresholds, _classify(g, thresholds)


#: Edge contrast (step across a class boundary / class difference) below which two grey classes
#: are one phase split by shading, and above which a dark class is a real phase.
SOFT_EDGE, SHARP_EDGE = 0.3, 0.4
#: Grey classes of the first mixture fit when the phases are not given (then merged).
OVERSPLIT = 5
#: A second mixture fit (on the flattened image) with two neighbouring components closer than
#: this (difference of means over their pooled spread) has nested a broad component on a
#: narrow one: it is rejected for the first fit. Real overlapping phases of the public
#: micrographs separate by 1.0-1.4.
NESTED_SEPARATION = 0.5


def _missed_dark_phase(g: np.ndarray, thresholds) -> float | None:
    """Fraction of a dark minority class that a 3-class mixture finds below the histogram's two
    phases with a sharp edge to them (pores that are a tail of the histogram), else None."""
    from ecmsim.geometry.image import segment as seg

    d, _ = seg.denoise(g)
    cuts, _ = seg.mixture_classes(d, n_classes=3)
    if len(cuts) != 2 or cuts[0] >= thresholds[0]:
        return None
    cl = _classify(d, cuts)
    frac = float(np.mean(cl == 0))
    if not 0.005 <= frac <= 0.5:
        return None
    contrast = seg.edge_contrast(d, cl, 0, 1)
    return frac if contrast is not None and contrast >= SHARP_EDGE else None


def _merge_soft_classes(g, classes, thresholds):
    """Merge neighbouring grey classes whose common boundary is soft (shading, not an edge)."""
    from ecmsim.geometry.image import segment as seg

    merged = []
    while len(thresholds) > 1:
        contrast = [seg.edge_contrast(g, classes, k, k + 1) for k in range(len(thresholds))]
        soft = [(c, k) for k, c in enumerate(contrast) if c is not None and c < SOFT_EDGE]
        if not soft:
            break
        c, k = min(soft)
        merged.append({"threshold": float(thresholds[k]), "edge_contrast": round(c, 3)})
        thresholds = np.delete(thresholds, k)
        classes = _classify(g, thresholds)
    return thresholds, classes, merged


def _partial_volume(g: np.ndarray, classes: np.ndarray) -> tuple[np.ndarray, int]:
    """Reassign the false middle phase along edges between the darkest and brightest phase.

    Where a pore (darkest) meets the brightest phase, blur and the median filter make grey
    values pass through the middle phase's level: a film of the middle phase, at most 2 pixels
    thick, appears along the edge (Li under every void on PLL). Pixels of the middle class that
    lie in a part narrower than 3 pixels and within 2 pixels of both other classes take the
    nearer of those two by grey value. A real film that thin is below the image's resolution.
    """
    from scipy.ndimage import binary_dilation, binary_opening

    square = np.ones((3, 3), dtype=bool)
    middle = classes == 1
    thin = middle & ~binary_opening(middle, structure=square, border_value=1)
    near_dark = binary_dilation(classes == 0, structure=square, iterations=2)
    near_bright = binary_dilation(classes == 2, structure=square, iterations=2)
    band = thin & near_dark & near_bright
    if not band.any():
        return classes, 0
    dark, bright = np.median(g[classes == 0]), np.median(g[classes == 2])
    out = classes.copy()
    out[band] = np.where(g[band] < 0.5 * (dark + bright), 0, 2)
    return out, int(band.sum())


#: Pore growth (hysteresis): patches of the phase next to the pores, darker than its grey peak
#: minus PORE_GROWTH_Z of its spread and at least the median filter size across, join a pore
#: they touch.
PORE_GROWTH_Z = 1.0


def _grow_pores(g: np.ndarray, classes: np.ndarray, void: int, host: list[int], width_px: int = 5
                ) -> tuple[np.ndarray, dict]:
    """Grow the pore class into the dark side of its neighbour phase (the classes ``host``, e.g.
    a middle grey class merged into the solid) by hysteresis from the pores. Returns the
    classes and what was decided.

    In a porous ceramic seen by SEM the pores are not flat: the deepest parts are dark, but the
    far walls of an open pore show through in mid grey, between the pore core and the solid.
    An intensity threshold misses them (the mixture found about half the hand-masked pore area
    on public micrographs, IoU 0.31-0.49). The solid's grey peak (mode; spread from the half
    width at half maximum on its bright side, away from the pores) gives a cut at mode -
    PORE_GROWTH_Z x spread; the pixels below it form a band, of which only the parts at least
    ``width_px`` across count (an opening: a blurred pore edge, a 1-2 px rim, and the solid's
    noise speckles are thinner; far-wall patches are not), and those connected to a pore core
    become pore (hysteresis, as in Canny edge linking). Runs on the flattened image of the
    mixture route, only when the phases are not given. ``width_px`` is the median filter size
    (5 px by default): at 3 px the blurred rims of flat pores grow too (10 % pores read as
    15 % in a test), at 7 px less of the far walls is found.
    """
    from scipy.ndimage import binary_opening, gaussian_filter1d
    from scipy.ndimage import label as cc

    in_host = np.isin(classes, host)
    v = g[in_host]
    if len(v) < 100:
        return classes, {"applied": False, "why": "too few pixels"}
    lo, hi = np.percentile(v, [0.5, 99.5])
    hist, edges = np.histogram(v, bins=128, range=(lo, hi))
    centres = 0.5 * (edges[1:] + edges[:-1])
    smooth = gaussian_filter1d(hist.astype(float), 1.5)
    m = int(np.argmax(smooth))
    mu, top = float(centres[m]), float(smooth[m])
    j = m
    while j < len(smooth) - 1 and smooth[j] > 0.5 * top:
        j += 1
    if j == m or smooth[j] > 0.5 * top:
        return classes, {"applied": False, "why": "no half maximum on the bright side of the peak"}
    x_half = centres[j - 1] + (centres[j] - centres[j - 1]) * (smooth[j - 1] - 0.5 * top) / max(
        smooth[j - 1] - smooth[j], 1e-12)
    sd = float((x_half - mu) / math.sqrt(2 * math.log(2)))
    cut = mu - PORE_GROWTH_Z * sd
    decided = {"host_peak": round(mu, 3), "host_spread": round(sd, 3), "cut": round(cut, 3)}
    if not sd > 0:
        return classes, {"applied": False, "why": "no spread", **decided}
    band = in_host & (g < cut)
    # only parts of the band at least width_px across: a blurred pore edge (a 1-2 px rim) and
    # the solid's noise speckles are thinner; the far walls of an open pore are patches
    thick = binary_opening(band, structure=np.ones((width_px, width_px), dtype=bool))
    decided.update({"band_pixels": int(band.sum()), "thick_band_pixels": int(thick.sum()),
                    "min_width_px": width_px})
    band = thick
    comp, n = cc(band | (classes == void))
    seeded = np.zeros(n + 1, dtype=bool)
    seeded[np.unique(comp[classes == void])] = True
    seeded[0] = False
    grow = band & seeded[comp]
    out = classes.copy()
    out[grow] = void
    decided.update({"applied": True, "pixels_added": int(grow.sum()),
                    "pore_fraction_before": round(float(np.mean(classes == void)), 4),
                    "pore_fraction_after": round(float(np.mean(out == void)), 4),
                    "rule": f"patches of the next phase darker than its peak - {PORE_GROWTH_Z:g} x its spread, "
                            f"at least {width_px} px across, connected to a pore, join it (hysteresis)"})
    return out, decided


# ------------------------------------------------------------------------------ texture

#: The texture reading replaces the grey-level one when they disagree on more than this share of
#: the pixels and the texture is sure (below); agreeing readings keep the grey levels.
TEXTURE_DISAGREEMENT = 0.05
#: The texture reading is sure when at most this share of the solid pixels is undecided
#: (probability margin between electrode and electrolyte < ``texture.UNSURE_MARGIN``) and its
#: context step moved at most ``CONTEXT_MOVED_MAX`` of the window to the other region.
TEXTURE_UNSURE_MAX, CONTEXT_MOVED_MAX = 0.10, 0.05
#: A composite electrolyte: the texture's electrolyte holds at least this share of particles, and
#: at most this share of its bright grains are coarse (``texture.FINE_GRAIN_RADIUS_PX``: the forest
#: learnt fine particles; the coarse grains of a composite cathode are not what it can read, and
#: there a smooth region without grains is as likely the same matrix as an electrode).
COMPOSITE_MIN_PARTICLES, COARSE_GRAIN_MAX = 0.03, 0.25
#: ... and at most this share: the forest learnt particles on 8-32 % of the polymer (a particle-
#: filled polymer: PLL is 18.5 vol% LLZTO), read 0.20-0.22 on renderings of 19 %. Where most of the
#: "electrolyte" reads as bright grains it is no polymer with particles: the porous ceramics read
#: 0.53-0.75, the composite cathode 0.37 (both gave false `unsure` lines before this bound).
COMPOSITE_MAX_PARTICLES = 0.35
#: ... and its particles are brighter than its matrix by at least this many noise sigmas (noise
#: specks are not particles).
PARTICLE_MIN_CONTRAST_SIGMA = 2.0


def _texture_bilayer(labels: np.ndarray) -> bool:
    """Is the texture reading an electrode layer over (or under) an electrolyte layer: each holds
    most of one edge band of rows (10 % of the height) in >= 50 % of the columns and is there one
    connected piece across the window (:func:`ecmsim.geometry.image.segment._is_layer`)?"""
    from ecmsim.geometry.image.phases import ELECTRODE, ELECTROLYTE, PARTICLE
    from ecmsim.geometry.image.segment import _band_share, _is_layer

    h = labels.shape[0]
    band = max(2, h // 10)
    electrode, electrolyte = labels == ELECTRODE, (labels == ELECTROLYTE) | (labels == PARTICLE)
    for top, bottom in ((electrode, electrolyte), (electrolyte, electrode)):
        t, b = slice(0, band), slice(h - band, h)
        if (min(_band_share(top, t), _band_share(bottom, b)) >= 0.5 and _is_layer(top, t) and _is_layer(bottom, b)):
            return True
    return False


def _texture_labels(grey: np.ndarray, options: ImageOptions) -> tuple[np.ndarray, dict]:
    from ecmsim.geometry.image.texture import texture_route

    labels, tinfo = texture_route(grey, particles=options.particles)
    present = [name for name, k in PHASE_NAMES.items() if (labels == k).any()]
    info = {"segmentation_method": "texture", "texture": tinfo, "phases": present}
    if not _sure(tinfo):
        info["warnings"] = [_unsure_line(tinfo)]
    return labels, info


def _sure(tinfo: dict) -> bool:
    return (tinfo["unsure_fraction"] <= TEXTURE_UNSURE_MAX
            and tinfo["context"]["moved_fraction"] <= CONTEXT_MOVED_MAX)


def _unsure_line(tinfo: dict, grey_reading: str = "") -> str:
    t = tinfo["region_fraction"]
    moved = tinfo["context"]["moved_fraction"]
    return (f"unsure: by texture electrode {t['electrode']:.2f} / electrolyte "
            f"{t['electrolyte']:.2f}, but {100 * tinfo['unsure_fraction']:.0f} % of the solid could be either"
            f"{f' and {100 * moved:.0f} % of the window was reassigned by context' if moved > CONTEXT_MOVED_MAX else ''}"
            f"{grey_reading}; mark a few pixels of each phase (scribbles, with phases) to decide")


def _auto(grey: np.ndarray, options: ImageOptions, labels, info: dict, error: GeometryError | None):
    """``auto`` without given phases: the grey-level reading (``labels``, or its ``error``) against
    the texture reading.

    - No composite electrolyte in the texture (fine particles, brighter than their matrix, on 3-35 %
      of it): the grey levels stay (their error is raised).
    - The readings agree (at most ``TEXTURE_DISAGREEMENT`` of the pixels differ): the grey levels
      stay.
    - The texture reads an electrode layer over a composite-electrolyte layer and is sure: it
      replaces the grey levels (a warning line gives both readings).
    - Otherwise two readings fit about equally: one ``unsure`` warning line with both, suggesting
      scribbles; the grey levels stay, unless they found no answer and the texture reads a bilayer.
    """
    from ecmsim.geometry.image.phases import DEAD_LI, ELECTRODE, ELECTROLYTE, PARTICLE
    from ecmsim.geometry.image.texture import texture_route

    t_labels, tinfo = texture_route(grey, particles=options.particles)
    t = tinfo["region_fraction"]
    layers = _texture_bilayer(t_labels)
    composite = (COMPOSITE_MIN_PARTICLES <= tinfo["particle_fraction_of_electrolyte"] <= COMPOSITE_MAX_PARTICLES
                 and tinfo["coarse_grain_share"] <= COARSE_GRAIN_MAX
                 and tinfo["particle_contrast_sigma"] >= PARTICLE_MIN_CONTRAST_SIGMA)
    summary = {key: tinfo[key] for key in ("region_fraction", "particle_fraction_of_electrolyte", "coarse_grain_share",
                                           "particle_contrast_sigma", "unsure_fraction", "seconds")}
    summary["bilayer"] = layers
    if not composite:
        if error is not None:
            raise error
        info["texture_check"] = {**summary, "used": False, "why": "no composite electrolyte by texture"}
        return labels, info
    disagree = None
    if labels is not None:
        region = np.select([labels == ELECTRODE, labels == DEAD_LI, labels == ELECTROLYTE, labels == PARTICLE],
                           [1, 1, 2, 2], 0)
        t_region = np.select([t_labels == ELECTRODE, t_labels == ELECTROLYTE, t_labels == PARTICLE], [1, 2, 2], 0)
        disagree = float(np.mean(region != t_region))
        g = {name: float(np.mean(region == k)) for k, name in enumerate(("void", "electrode", "electrolyte"))}
        grey_reading = f"; by grey level electrode {g['electrode']:.2f} / electrolyte {g['electrolyte']:.2f}"
        summary["disagreement"] = round(disagree, 4)
        if disagree <= TEXTURE_DISAGREEMENT:
            info["texture_check"] = {**summary, "used": False, "why": "the texture reading agrees with the grey levels"}
            return labels, info
    else:
        grey_reading = f"; by grey level: {str(error).split(': ', 1)[-1]}"
    sure = layers and _sure(tinfo)
    line = (f"read by texture: electrode {t['electrode']:.2f} / electrolyte {t['electrolyte']:.2f} (a polymer with "
            f"particles is one phase){grey_reading}") if sure else _unsure_line(tinfo, grey_reading)
    if not layers or (not sure and labels is not None):
        # no electrode layer by texture, or two readings fit about equally and the grey levels gave
        # one: the grey levels stay, with the line (a composite cathode keeps its grains and matrix)
        if error is not None:
            raise GeometryError(f"{error}; {line}") from None
        info.setdefault("warnings", []).append(line)
        info["texture_check"] = {**summary, "used": False,
                                 "why": "the texture reads no electrode layer" if not layers else "unsure"}
        return labels, info
    present = [name for name, k in PHASE_NAMES.items() if (t_labels == k).any()]
    out = {"segmentation_method": "texture", "texture": tinfo, "phases": present,
           "grey_level_reading": {"disagreement": None if disagree is None else round(disagree, 4),
                                  **({"fractions": g} if labels is not None else {"error": str(error)})},
           "warnings": [line]}
    return t_labels, out
