"""The synthetic FIB-SEM renderer (ecmsim.geometry.fibsem) and ``ecmsim render``: seeded, the truth
kept (particles in their host phase, rims in their pore), each artefact at its chosen strength."""

from __future__ import annotations

import json
from dataclasses import replace

import numpy as np
import pytest
from conftest import assert_one_line_error, run_cli

from ecmsim.geometry import fibsem as fs
from ecmsim.geometry.image import ELECTRODE, ELECTROLYTE, PARTICLE, VOID
from ecmsim.geometry.image.segment import noise_sigma


@pytest.fixture(scope="module")
def scene():
    return fs.plated_li_pll_labels(160, 320, seed=4)


def test_same_seed_same_image_and_the_truth_is_the_label_image(scene):
    a, b = fs.render(scene, fs.LI_PLL, seed=9), fs.render(scene, fs.LI_PLL, seed=9)
    assert np.array_equal(a.grey, b.grey) and a.grey.dtype == np.uint8
    assert not np.array_equal(a.grey, fs.render(scene, fs.LI_PLL, seed=10).grey)
    assert np.array_equal(a.labels, scene)                 # particles are part of the electrolyte
    assert not (a.particles & (scene != ELECTROLYTE)).any()
    share = a.particles.sum() / (scene == ELECTROLYTE).sum()
    assert share == pytest.approx(fs.LI_PLL.particles.fraction, abs=0.01)
    assert np.array_equal(a.labels_with_particles() == PARTICLE, a.particles)


def test_rims_lie_inside_the_pores_and_are_brighter_than_the_solid(scene):
    r = fs.render(scene, replace(fs.LI_PLL, particles=None), strength=1.0, seed=1)
    void = scene == VOID
    assert r.rims.any() and not (r.rims & ~void).any()
    clean = fs.render(scene, replace(fs.LI_PLL, particles=None,
                                     artefacts=replace(fs.LI_PLL.artefacts, noise_sigma=0, curtain_amplitude=0,
                                                       shading_amplitude=0, blur_px=0)), seed=1)
    li = fs.LI_PLL.phases[ELECTRODE].grey
    assert np.median(clean.grey[clean.rims]) > li + 0.8 * fs.LI_PLL.artefacts.rim_contrast
    core = void & ~clean.rims
    assert np.median(clean.grey[core]) < li - 30


def test_strength_zero_draws_the_phase_levels_and_strength_scales_the_noise(scene):
    look = replace(fs.LI_PLL, particles=None, phases={k: fs.PhaseLook(v.grey) for k, v in fs.LI_PLL.phases.items()})
    flat = fs.render(scene, replace(look, artefacts=replace(look.artefacts, blur_px=0)), strength=0.0, seed=2)
    for code in (ELECTRODE, ELECTROLYTE):
        assert np.all(flat.grey[scene == code] == round(look.phases[code].grey))
    for s in (0.5, 1.5):
        r = fs.render(scene, look, strength=s, seed=2)
        assert noise_sigma(r.grey.astype(float)) == pytest.approx(s * look.artefacts.noise_sigma, rel=0.15, abs=0)


def test_curtains_fade_with_depth(scene):
    from scipy.ndimage import gaussian_filter1d

    only = replace(fs.LI_PLL, particles=None, artefacts=replace(
        fs.Artefacts(), rim_contrast=0, shading_amplitude=0, noise_sigma=0, blur_px=0, curtain_fade=0.8))
    flat = np.full((160, 320), ELECTRODE, np.uint8)
    g = fs.render(flat, only, seed=3).grey.astype(float)

    def stripes(rows):
        c = g[rows].mean(axis=0)
        return float(np.std(c - gaussian_filter1d(c, 25)))

    assert stripes(slice(0, 20)) > 3 * stripes(slice(140, 160))


def test_network_sits_in_the_electrode_and_explicit_particles_are_kept():
    lab = fs.li_sn_pll_labels(120, 240, seed=1)
    r = fs.render(lab, fs.LI_SN_PLL, seed=1)
    assert r.network.any() and not (r.network & (lab != ELECTRODE)).any()
    assert 0.05 < r.network.sum() / (lab == ELECTRODE).sum() < 0.3
    given = np.full((60, 120), ELECTROLYTE, np.uint8)
    given[20:30, 40:50] = PARTICLE
    r = fs.render(given, fs.LI_PLL, seed=1)
    assert r.particles.sum() == 100 and (r.labels == ELECTROLYTE).all()


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="no phase codes"):
        fs.render(np.full((20, 20), 9, np.uint8))
    with pytest.raises(ValueError, match="strength"):
        fs.render(np.full((20, 20), ELECTRODE, np.uint8), strength=-1)
    with pytest.raises(ValueError, match="8 x 8"):
        fs.render(np.zeros((4, 40), np.uint8))


def test_render_command_writes_image_truth_and_sidecar(tmp_path):
    from PIL import Image

    proc = run_cli("render", "--scene", "li_pll", "--size", "160x80", "--seed", "2", "-o", str(tmp_path / "x.png"))
    assert proc.returncode == 0, proc.stderr
    side = json.loads((tmp_path / "x.json").read_text())
    labels = np.asarray(Image.open(tmp_path / "x_labels.png"))
    assert labels.shape == (80, 160)
    assert side["phase_fraction_true"]["electrode"] == pytest.approx(float((labels == ELECTRODE).mean()), abs=1e-5)
    assert side["pixel_size_m"] == pytest.approx(50e-9)
    assert (np.asarray(Image.open(tmp_path / "x_particles.png")) == PARTICLE).any()
    # a label image of one's own, and the sidecar is the manifest: rendering again replaces it
    again = run_cli("render", str(tmp_path / "x_labels.png"), "-o", str(tmp_path / "x.png"), "--strength", "0.5")
    assert again.returncode == 0, again.stderr
    (tmp_path / "mine.png").write_bytes(b"not ecmsim's")
    assert_one_line_error(run_cli("render", "--scene", "li_pll", "-o", str(tmp_path / "mine.png")), "did not write")
    assert_one_line_error(run_cli("render", "--scene", "li_pll", "-o", str(tmp_path / "y.tif")), "PNG")
    assert_one_line_error(run_cli("render", "-o", str(tmp_path / "z.png")), "label image or --scene")


def test_shipped_plated_window_is_what_make_windows_draws():
    """meshes/li_pll_plated.* (the input of scenarios/li_pll_plated_particles.toml) are reproducible:
    the renderer with the sidecar's look, strength and seed draws them pixel for pixel."""
    from geometry_helpers import MESHES, read_png

    side = json.loads((MESHES / "li_pll_plated.json").read_text())
    grey = read_png(MESHES / "li_pll_plated.png")
    labels = fs.plated_li_pll_labels(*grey.shape, seed=side["seed"])
    r = fs.render(labels, fs.LI_PLL, strength=side["strength"], seed=side["seed"])
    assert np.array_equal(r.grey, grey)
    assert np.array_equal(r.labels, read_png(MESHES / "li_pll_plated_labels.png"))
    assert np.array_equal(r.labels_with_particles(), read_png(MESHES / "li_pll_plated_particles.png"))
    for name, code in (("void", VOID), ("electrode", ELECTRODE), ("electrolyte", ELECTROLYTE)):
        assert side["phase_fraction_true"][name] == pytest.approx(float((r.labels == code).mean()), abs=1e-5)
