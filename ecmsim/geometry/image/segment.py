"""Segmentation of real micrographs: robust automatic classes, scribble-trained pixel classifier,
and import of label / probability maps from ilastik or Fiji (Trainable) Weka.

Real FIB-SEM images rarely show one clear histogram mode per phase: pores are a dark tail,
particles a shoulder. The automatic route therefore does not look for histogram peaks:

1. **destripe** (curtaining: column steps, see :func:`ecmsim.geometry.image.flatten._destripe`);
2. **denoise** by non-local means with the noise level estimated from the image
   (:func:`skimage.restoration.estimate_sigma`); NLM keeps edges, so a pore's grey level
   becomes a compact cluster instead of a tail;
3. **classes** by a Gaussian mixture on a random sample of the denoised grey values; the number
   of classes (2..``max_classes``) is the smallest whose BIC is within ``BIC_MARGIN`` per pixel
   of the best (a mixture always improves a little with one more component on non-Gaussian
   shapes; a real phase improves it a lot). Components holding less than ``MIN_CLASS_FRACTION``
   of the pixels are dropped. Thresholds are where neighbouring components' weighted densities
   cross, so a phase on 2 % of the image keeps its own class (Otsu-like criteria would split
   the big phase instead).

The classes are then flattened (shading/curtaining measured per class) by the caller and named
by :func:`name_classes`: by position and connectivity (which class forms the top band, which the
bottom band, which are inclusions), not by grey order alone.

Hard cases: :func:`classify_scribbles` trains a random forest on
:func:`skimage.feature.multiscale_basic_features` from a sparse label image (0 = unlabelled), and
:func:`read_label_map` reads label or probability maps written by ilastik (HDF5, TIFF) or Weka
(TIFF; probability stacks are reduced by arg-max).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecmsim.core.errors import GeometryError, InputFileError

#: Extra BIC per pixel a further mixture component must gain to count as a phase.
BIC_MARGIN = 0.05
#: A mixture component with less of the pixels than this is no phase.
MIN_CLASS_FRACTION = 0.005
#: Pixels sampled for the mixture fit (speed; the fit is of a 1-D distribution).
SAMPLE = 10_000


def denoise(g: np.ndarray, strength: float = 1.0) -> tuple[np.ndarray, float]:
    """Non-local-means denoised image and the estimated noise sigma (image units)."""
    from skimage.restoration import denoise_nl_means

    lo, hi = np.percentile(g, [0.1, 99.9])
    scale = (hi - lo) or 1.0
    x = (g - lo) / scale
    sigma = noise_sigma(x)
    if sigma <= 1e-6:
        return g.copy(), 0.0
    out = denoise_nl_means(x, h=0.8 * strength * sigma, sigma=sigma, patch_size=5, patch_distance=6,
                           fast_mode=True)
    return out * scale + lo, sigma * scale


def noise_sigma(x: np.ndarray) -> float:
    """White-noise sigma (Immerkaer's Laplacian-difference operator, robust median form): the
    operator cancels smooth shading and straight edges and has gain 6 on white noise."""
    from scipy.ndimage import convolve

    k = np.array([[1, -2, 1], [-2, 4, -2], [1, -2, 1]], dtype=float)
    r = convolve(x, k, mode="reflect")[1:-1, 1:-1]
    return float(1.4826 * np.median(np.abs(r)) / 6.0)


#: Neighbouring mixture components closer than this (difference of means over their pooled
#: standard deviation) are one phase with a non-Gaussian grey distribution, not two phases.
SEPARATION_MIN = 2.0


def mixture_classes(g: np.ndarray, max_classes: int = 5, n_classes: int | None = None, seed: int = 0,
                    min_contrast: float = 0.0) -> tuple[np.ndarray, dict]:
    """Thresholds between grey classes of a (denoised) image by a Gaussian mixture.

    ``n_classes`` given: that many components. Else start from ``max_classes`` and drop one
    while two neighbouring components overlap (separation below ``SEPARATION_MIN``): a phase
    whose grey values are skewed (a dark tail of pores, a shoulder of particles, shading) is
    fitted by several overlapping components; two phases are separated by at least twice
    their spread; and the darkest and brightest class must differ by at least ``min_contrast`` (the caller passes
    the noise sigma of the raw image: denoised pure noise is blotchy, with narrow components a
    fraction of that apart, so classes spanning less than that are one). Components with less than ``MIN_CLASS_FRACTION`` of the pixels are dropped.

    Returns the thresholds (increasing, len = classes - 1) and what was decided.
    """
    from sklearn.mixture import GaussianMixture
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(seed)
    v = g.ravel()
    if len(v) > SAMPLE:
        v = v[rng.choice(len(v), SAMPLE, replace=False)]
    lo, hi = np.percentile(v, [0.1, 99.9])
    scale = (hi - lo) or 1.0
    x = ((v - lo) / scale)[:, None]
    k = n_classes or max_classes
    tried = {}
    while True:
        with threadpool_limits(1):  # BLAS threads cost more than they give on a 1-D fit
            gm = GaussianMixture(k, covariance_type="full", random_state=seed, n_init=1, reg_covar=1e-4).fit(x)
        order = np.argsort(gm.means_.ravel())
        means = gm.means_.ravel()[order]
        weights = gm.weights_[order]
        sds = np.sqrt(gm.covariances_.reshape(-1)[order])
        keep = weights >= MIN_CLASS_FRACTION
        means, weights, sds = means[keep], weights[keep], sds[keep]
        sep = np.diff(means) / np.sqrt(0.5 * (sds[1:] ** 2 + sds[:-1] ** 2))
        tried[str(k)] = [round(float(q), 2) for q in sep]
        if n_classes or len(means) <= 1 or k <= 1 or sep.min() >= SEPARATION_MIN:
            break
        k -= 1
    if not n_classes and len(means) > 1 and (means[-1] - means[0]) * scale < min_contrast:
        tried["range_below_noise"] = round(float((means[-1] - means[0]) * scale), 3)
        means, weights, sds = means[:1] * 0 + float(np.mean(x)), weights[:1] * 0 + 1, sds[:1] * 0 + float(np.std(x))
    cuts = []
    grid = np.linspace(0, 1, 2001)
    for a in range(len(means) - 1):  # where the weighted densities of neighbours cross
        seg = grid[(grid > means[a]) & (grid < means[a + 1])]
        if len(seg) == 0:
            cuts.append(0.5 * (means[a] + means[a + 1]))
            continue
        da = weights[a] / sds[a] * np.exp(-0.5 * ((seg - means[a]) / sds[a]) ** 2)
        db = weights[a + 1] / sds[a + 1] * np.exp(-0.5 * ((seg - means[a + 1]) / sds[a + 1]) ** 2)
        cuts.append(float(seg[int(np.argmin(np.abs(np.log(da + 1e-300) - np.log(db + 1e-300))))]))
    info = {"method": "gaussian_mixture", "separation_by_count": tried, "classes_chosen": int(len(means)),
            "class_means": [float(m * scale + lo) for m in means],
            "class_sds": [float(s * scale) for s in sds],
            "class_weights": [round(float(w), 5) for w in weights]}
    if (~keep).any():
        info["components_dropped_below_fraction"] = MIN_CLASS_FRACTION
    return np.array(cuts) * scale + lo, info


def edge_contrast(d: np.ndarray, classes: np.ndarray, a: int, b: int) -> float | None:
    """How sharp the boundary between classes ``a`` and ``b`` is: the median grey step across it
    (over 2 px, on the denoised image ``d``) divided by the difference of the class medians.

    A real phase boundary is an edge (ratio near 1: the step is the contrast); a class split
    by shading (a charging glow making part of one phase brighter) changes slowly (ratio near
    0). None when the classes do not touch.
    """
    pairs = []
    for axis in (0, 1):
        c0 = np.take(classes, range(0, classes.shape[axis] - 2), axis=axis)
        c2 = np.take(classes, range(2, classes.shape[axis]), axis=axis)
        d0 = np.take(d, range(0, d.shape[axis] - 2), axis=axis)
        d2 = np.take(d, range(2, d.shape[axis]), axis=axis)
        sel = ((c0 == a) & (c2 == b)) | ((c0 == b) & (c2 == a))
        pairs.append(np.abs(d2[sel] - d0[sel]))
    steps = np.concatenate(pairs)
    if len(steps) < 20:
        return None
    gap = abs(float(np.median(d[classes == b]) - np.median(d[classes == a])))
    return float(np.median(steps)) / gap if gap > 0 else 0.0


def _band_share(mask: np.ndarray, rows: slice) -> float:
    """Fraction of the columns whose pixels in ``rows`` are mostly ``mask``."""
    return float(np.mean(mask[rows].mean(axis=0) > 0.5))


def _is_layer(mask: np.ndarray, rows: slice) -> bool:
    """Is ``mask`` in the band ``rows`` one layer: its largest connected piece (over the whole
    image) holds >= 80 % of the band's mask pixels and spans >= 90 % of the columns? An
    electrode band is one piece across the window (pores at the interface do not cut it);
    particles touching an edge are separate grains."""
    from scipy.ndimage import label

    lab, n = label(mask)
    if n == 0:
        return False
    in_band = lab[rows][mask[rows]]
    if len(in_band) == 0:
        return False
    counts = np.bincount(in_band, minlength=n + 1)
    biggest = int(np.argmax(counts[1:]) + 1)
    columns = np.mean((lab == biggest).any(axis=0))
    return bool(counts[biggest] >= 0.8 * len(in_band) and columns >= 0.9)


def name_classes(classes: np.ndarray, n: int, g: np.ndarray | None = None) -> tuple[list[str], dict]:
    """Phase name of each class (dark -> bright) by position and connectivity.

    - The class that holds most of a band of rows at the top (10 % of the height) and the one
      at the bottom are the two layer phases. Different classes, each one connected piece
      across the window (:func:`_is_layer`): a bilayer (electrode and electrolyte; which is
      which is left to the caller's electrode rule, marked ``?``). The same class, or a band
      made of separate grains (particles crowding one edge of a composite): a single matrix
      (porous or composite electrolyte, no electrode), the class that spans the window.
    - Of the others, the darkest, if darker than the layer phases, is ``void``.
    - Any further class is an inclusion: ``particle`` (bright grains in the matrix).

    Returns the names and the facts used (band shares, rule).
    """
    h = classes.shape[0]
    band = max(2, h // 10)
    top, bottom = slice(0, band), slice(h - band, h)
    share_top = [_band_share(classes == k, top) for k in range(n)]
    share_bot = [_band_share(classes == k, bottom) for k in range(n)]
    frac = [float(np.mean(classes == k)) for k in range(n)]
    t, b = int(np.argmax(share_top)), int(np.argmax(share_bot))
    names = [""] * n
    info = {"top_band_share": [round(s, 3) for s in share_top],
            "bottom_band_share": [round(s, 3) for s in share_bot],
            "class_fraction": [round(f, 4) for f in frac]}
    layer_t, layer_b = _is_layer(classes == t, top), _is_layer(classes == b, bottom)
    info["top_class_is_one_layer"], info["bottom_class_is_one_layer"] = layer_t, layer_b
    if t != b and min(share_top[t], share_bot[b]) >= 0.5 and layer_t and layer_b:
        names[t] = names[b] = "?"
        info["layout"] = "bilayer: one class on top, another at the bottom"
        layer = [t, b]
    else:
        if t != b and min(share_top[t], share_bot[b]) >= 0.5:
            info["not_a_bilayer"] = ("the top" if not layer_t else "the bottom") + \
                " band's class is separate grains, not one layer across the window"
        spanning = [k for k, ok in ((t, layer_t), (b, layer_b)) if ok]
        if spanning:   # the class that is one connected piece across the window is the matrix
            matrix = max(spanning, key=lambda k: frac[k])
        else:
            matrix = int(np.argmax(frac)) if share_top[t] < 0.5 and share_bot[b] < 0.5 else (
                t if share_top[t] >= share_bot[b] else b)
        names[matrix] = "electrolyte"
        info["layout"] = "matrix: one class spans the window (no electrode band)"
        layer = [matrix]
    rest = [k for k in range(n) if not names[k]]
    if rest and rest[0] < min(layer):
        names[rest[0]] = "void"
        rest = rest[1:]
    for k in rest:
        if k < min(layer):
            # darker than the layer(s) but not the darkest: pore edges (partial volume) or
            # shading; they join the darkest layer phase
            names[k] = f"={min(layer)}"  # resolved by the caller once the layer is named
            info.setdefault("dark_classes_merged_into_layer", []).append(k)
        else:
            names[k] = "particle"
    return names, info


# ------------------------------------------------------------------------------ scribbles, imports

def features(grey: np.ndarray, sigma_max_px: float = 16.0) -> np.ndarray:
    """Multi-scale intensity, edge and texture features per pixel (H, W, F)."""
    from skimage.feature import multiscale_basic_features

    lo, hi = np.percentile(grey, [0.1, 99.9])
    x = np.clip((grey - lo) / ((hi - lo) or 1.0), 0, 1)
    return multiscale_basic_features(x, intensity=True, edges=True, texture=True, sigma_min=1.0,
                                     sigma_max=sigma_max_px)


def classify_scribbles(grey: np.ndarray, scribbles: np.ndarray, seed: int = 0) -> tuple[np.ndarray, dict]:
    """Labels of every pixel from a sparse label image (0 = unlabelled, 1..K = classes).

    A random forest (100 trees, depth 12) on :func:`features` is trained on the scribbled
    pixels and predicts the rest; returns labels (same values as the scribbles) and the
    out-of-bag accuracy on the scribbles.
    """
    from sklearn.ensemble import RandomForestClassifier

    if scribbles.shape != grey.shape:
        raise GeometryError(f"scribbles are {scribbles.shape[1]} x {scribbles.shape[0]} px, the image "
                            f"{grey.shape[1]} x {grey.shape[0]} px: they must match")
    values = np.unique(scribbles[scribbles > 0])
    if len(values) < 2:
        raise GeometryError(f"scribbles must mark at least two classes (values > 0; got {values.tolist()})")
    f = features(grey)
    sel = scribbles > 0
    rf = RandomForestClassifier(n_estimators=100, max_depth=12, n_jobs=1, random_state=seed, oob_score=True)
    rf.fit(f[sel], scribbles[sel])
    out = rf.predict(f.reshape(-1, f.shape[-1])).reshape(grey.shape)
    return out.astype(scribbles.dtype), {"method": "random_forest_on_scribbles", "features": int(f.shape[-1]),
                                         "scribbled_pixels": int(sel.sum()),
                                         "oob_accuracy": round(float(rf.oob_score_), 4)}


def read_label_map(path: str | Path, dataset: str | None = None) -> np.ndarray:
    """Integer labels from an ilastik / Weka export (TIFF, PNG or HDF5).

    Integer images are labels as they are. Float images, or stacks whose last (or first) axis
    has 2..16 channels, are probability maps: the label is 1 + the arg-max channel. HDF5: the
    ``dataset`` (default: ilastik's ``exported_data``, else the only dataset).
    """
    path = Path(path)
    if not path.is_file():
        raise InputFileError(f"{path}: label map not found")
    if path.suffix.lower() in (".h5", ".hdf5", ".hdf"):
        import h5py

        with h5py.File(path, "r") as f:
            names = []
            f.visititems(lambda n, o: names.append(n) if isinstance(o, h5py.Dataset) else None)
            key = dataset or ("exported_data" if "exported_data" in names else (names[0] if len(names) == 1 else None))
            if key not in names:
                raise InputFileError(f"{path}: dataset {key!r} not found (datasets: {', '.join(names)})")
            data = np.asarray(f[key])
    else:
        import tifffile

        try:
            data = tifffile.imread(path) if path.suffix.lower() in (".tif", ".tiff") else _pil(path)
        except Exception as err:  # noqa: BLE001 - any reader failure is one bad-input line
            raise InputFileError(f"{path}: cannot read the label map: {err}") from None
    data = np.squeeze(data)
    if data.ndim == 3:
        axis = -1 if data.shape[-1] <= 16 else (0 if data.shape[0] <= 16 else None)
        if axis is None:
            raise InputFileError(f"{path}: a 2-D label map or a probability stack is expected (shape {data.shape})")
        return (np.argmax(data, axis=axis) + 1).astype(np.int32)
    if np.issubdtype(data.dtype, np.floating):
        if np.all(data == np.round(data)):
            return data.astype(np.int32)
        raise InputFileError(f"{path}: one float channel is neither labels nor a class probability stack")
    return data.astype(np.int32)


def _pil(path: Path) -> np.ndarray:
    from PIL import Image

    with Image.open(path) as im:
        return np.asarray(im)
