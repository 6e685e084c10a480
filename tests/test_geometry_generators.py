"""Seeded generators: reproducible, and hitting their requested statistics.

Tolerances: the rough profiles are synthesised with fixed spectral amplitudes, so RMS and the
circular autocorrelation are exact up to round-off and to resampling the 1/e crossing on the
profile's own grid (xi/16 spacing; linear interpolation of a smooth curve: < 0.5 %). The void
widths are scaled to cover exactly the requested fraction. Widths are log-normal: with N voids
the sample CV has a relative standard error of about 1/sqrt(2N), so over ~150 voids it should
lie within 20 % of the request (~3.5 standard errors).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from geometry_helpers import circular_correlation_length, interface_polyline, report_of

from ecmsim.core.errors import GeometryError
from ecmsim.geometry import generators as gen
from ecmsim.mesh import MeshOptions
from ecmsim.mesh.partition import _conforming_partition

W, T = 40e-6, 20e-6


def _same(a, b) -> bool:
    return len(a.regions) == len(b.regions) and all(
        np.array_equal(p.outer, q.outer) for p, q in zip(a.regions, b.regions, strict=True))


@pytest.mark.parametrize("make", [
    lambda s: gen.rough(W, T, T, 0.5e-6, 2e-6, seed=s),
    lambda s: gen.rough(W, T, T, 0.5e-6, 2e-6, seed=s, spectrum="self_affine", hurst_exponent=0.5),
    lambda s: gen.voids(W, T, T, 0.3, 3e-6, seed=s),
    lambda s: gen.voids(W, T, T, 0.3, 3e-6, seed=s, rms_height_m=0.2e-6, correlation_length_m=2e-6),
    lambda s: gen.filaments(W, T, T, 3, 5e-6, 0.5e-6, seed=s),
], ids=["rough", "self_affine", "voids", "rough_voids", "filaments"])
def test_same_seed_same_geometry_other_seed_other_geometry(make):
    assert _same(make(7), make(7))
    assert not _same(make(7), make(8))


@pytest.mark.parametrize("spectrum, hurst", [("gaussian", 1.0), ("self_affine", 0.8), ("self_affine", 0.4)])
@pytest.mark.parametrize("seed", [0, 1, 2])
def test_rough_interface_hits_rms_and_correlation_length(spectrum, hurst, seed):
    rms, xi = 0.4e-6, 1.5e-6
    g = gen.rough(W, T, T, rms, xi, seed=seed, spectrum=spectrum, hurst_exponent=hurst)
    line = interface_polyline(g)
    h = line[:, 1] - T
    assert math.sqrt(np.mean((h[:-1] - h[:-1].mean()) ** 2)) == pytest.approx(rms, rel=1e-9, abs=0)
    assert abs(h[:-1].mean()) < 1e-12
    assert circular_correlation_length(line[:, 0], h) == pytest.approx(xi, rel=5e-3, abs=0)


def test_rough_self_affine_is_rougher_at_small_scales():
    """Same RMS and xi: a lower Hurst exponent puts more height in short wavelengths."""
    def slope_rms(hurst):
        line = interface_polyline(gen.rough(W, T, T, 0.4e-6, 2e-6, seed=3, spectrum="self_affine",
                                            hurst_exponent=hurst))
        return np.sqrt(np.mean((np.diff(line[:, 1]) / np.diff(line[:, 0])) ** 2))
    assert slope_rms(0.3) > 2 * slope_rms(1.0)


def test_voids_cover_the_requested_fraction_measured_on_the_mesh():
    g = gen.voids(W, T, T, 0.25, 2.5e-6, seed=4, void_aspect_ratio=0.3)
    report, _ = report_of(g, MeshOptions(1e-6, 0.25e-6))
    # flat interface: the lost contact is the voids' chord, exactly the covered width
    assert report["interface_contact_fraction_geometric"] == pytest.approx(0.75, abs=1e-9)
    assert report["void_count"] == round(0.25 * W / 2.5e-6)
    # half-ellipse areas: pi/4 * w * (aspect * w) summed over voids
    widths = _void_widths(g)
    assert widths.sum() == pytest.approx(0.25 * W, rel=1e-9, abs=0)
    expected = sum(math.pi / 4 * w * 0.3 * w for w in widths) / (W * 2 * T)
    assert report["void_area_fraction"] == pytest.approx(expected, rel=0.01, abs=0)  # polygon of 32 sides


def test_void_widths_are_lognormal_with_requested_mean_and_cv():
    width, mean, cv = 4000e-6, 3e-6, 0.4
    g = gen.voids(width, T, T, 0.12, mean, void_width_cv=cv, seed=5)
    w = _void_widths(g)
    assert len(w) == round(0.12 * width / mean) == 160
    assert w.mean() == pytest.approx(0.12 * width / len(w), rel=1e-9, abs=0)
    assert w.std(ddof=1) / w.mean() == pytest.approx(cv, rel=0.2, abs=0)
    # log-normal: the log-widths are symmetric (skewness of log near 0, of widths positive)
    assert abs(_skew(np.log(w))) < 0.5 < _skew(w)


def test_filaments_have_requested_count_length_and_width():
    g = gen.filaments(W, T, T, 4, 6e-6, 0.5e-6, seed=6)
    part = _conforming_partition(g)
    assert part is not None
    line = interface_polyline(g)
    below = line[line[:, 1] < T - 1e-9]
    # each filament: a run of points below the flat interface
    gaps = np.flatnonzero(np.diff(below[:, 0]) > 1e-6)
    runs = np.split(below, gaps + 1)
    assert len(runs) == 4
    for run in runs:
        assert T - run[:, 1].min() == pytest.approx(6e-6, rel=1e-9, abs=0)
        assert run[:, 0].max() - run[:, 0].min() == pytest.approx(0.5e-6, rel=1e-9, abs=0)


def test_generators_refuse_what_does_not_fit():
    with pytest.raises(GeometryError, match="do not fit"):
        gen.voids(W, T, T, 0.89, 20e-6)
    with pytest.raises(GeometryError, match="do not fit"):
        gen.filaments(W, T, T, 40, 5e-6, 0.5e-6)
    with pytest.raises(GeometryError, match="correlation_length_m"):
        gen.rough(W, T, T, 0.5e-6, 20e-6)
    with pytest.raises(GeometryError, match="inside the window"):
        gen.rough(W, 1e-6, 1e-6, 0.5e-6, 2e-6)


def _void_widths(g) -> np.ndarray:
    """Chords of the voids: the electrolyte's free ('void') edges, joined into runs."""
    part = _conforming_partition(g)
    edges = part.edges[[n == "void" for n in part.names]]
    electrolyte_piece = [i for i, lab in enumerate(part.pieces) if lab == "electrolyte"][0]
    # the chord edges belong to the electrolyte: they are the flat ones (y = T)
    pts = part.points[edges]
    flat = np.all(np.abs(pts[:, :, 1] - T) < 1e-12, axis=1)
    assert electrolyte_piece >= 0
    xs = np.sort(pts[flat][:, :, 0], axis=1)
    xs = xs[np.argsort(xs[:, 0])]
    runs, start, end = [], xs[0, 0], xs[0, 1]
    for a, b in xs[1:]:
        if a > end + 1e-12:
            runs.append(end - start)
            start = a
        end = b
    runs.append(end - start)
    return np.array(runs)


def _skew(v: np.ndarray) -> float:
    d = v - v.mean()
    return float(np.mean(d**3) / np.mean(d**2) ** 1.5)
