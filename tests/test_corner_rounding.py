"""Corner rounding of contours (ecmsim.geometry.polyline.round_corners, image option min_radius_m):
the discrete turning radius against circles, the radius reached, the area kept, the bound a
cap between two fixed ends puts on it, and the image pipeline's use of it."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.optimize import brentq

from ecmsim.core.errors import GeometryError
from ecmsim.geometry import image as img
from ecmsim.geometry.image.phases import ELECTRODE, ELECTROLYTE, VOID
from ecmsim.geometry.polyline import chain_area, resample, round_corners, turning_radii


def _circle(radius, n):
    t = np.linspace(0, 2 * np.pi, n, endpoint=False)
    return radius * np.column_stack([np.cos(t), np.sin(t)])


@pytest.mark.parametrize("n", [12, 50, 400])
def test_turning_radius_of_a_regular_polygon_is_its_circle_to_second_order(n):
    """A regular n-gon inscribed in radius R has segments 2R sin(pi/n) turning by 2 pi/n: its
    turning radius is R sin(pi/n)/(pi/n), within (pi/n)^2/6 of R."""
    r = turning_radii(_circle(7.0, n), closed=True)
    exact = 7.0 * math.sin(math.pi / n) / (math.pi / n)
    assert r == pytest.approx(np.full(n, exact), rel=1e-9, abs=0)
    assert abs(r.mean() / 7.0 - 1) <= (math.pi / n) ** 2 / 6 * 1.001


def test_turning_radius_straight_and_open_chains():
    line = np.column_stack([np.arange(5.0), np.zeros(5)])
    assert np.all(np.isinf(turning_radii(line, closed=False)))
    assert len(turning_radii(line, closed=False)) == 3          # inner vertices only
    right_angle = np.array([[0.0, 0], [2, 0], [2, 2]])
    assert turning_radii(right_angle, closed=False) == pytest.approx([2 / (math.pi / 2)], rel=1e-12, abs=0)


def test_resample_keeps_ends_and_spacing():
    chain = np.array([[0.0, 0], [10, 0], [10, 7]])
    out = resample(chain, 1.0)
    assert np.array_equal(out[0], chain[0]) and np.array_equal(out[-1], chain[-1])
    steps = np.hypot(*np.diff(out, axis=0).T)
    assert steps.max() <= 1.0 + 1e-12 and len(out) == 18


def test_square_rounds_to_the_radius_and_keeps_its_area():
    square = np.array([[0.0, 0], [10, 0], [10, 10], [0, 10]])
    out, reached = round_corners(square, 3.0, closed=True)
    assert reached >= 3.0
    assert turning_radii(out, closed=True).min() == pytest.approx(reached, rel=1e-12, abs=0)
    assert chain_area(out, True) == pytest.approx(100.0, rel=1e-9, abs=0)
    # the sides move out only by the area the corners lost spread over the perimeter: four
    # fillets of 3 take (4 - pi) 9 = 7.7 of 40 length, 0.19; the smoothing rounds wider than 3
    mid_side = out[np.argmin(np.abs(out[:, 1] - 5) + np.abs(out[:, 0] - 10))]
    assert 0.1 < mid_side[0] - 10 < 0.5


def test_open_corner_keeps_its_ends_and_the_area_between():
    corner = np.array([[0.0, 0], [20, 0], [20, 20]])
    out, reached = round_corners(corner, 5.0)
    assert reached >= 5.0
    assert np.array_equal(out[0], corner[0]) and np.array_equal(out[-1], corner[-1])
    assert chain_area(out, False) == pytest.approx(chain_area(corner, False), rel=1e-9, abs=0)
    # a fillet of radius rho tangent to both legs passes rho (sqrt 2 - 1) = 2.07 from the corner;
    # the smoothed corner is of that size (its radius grows from 5 at the middle outwards)
    gap = np.hypot(out[:, 0] - 20, out[:, 1]).min()
    assert 0.5 * 5.0 * (math.sqrt(2) - 1) < gap < 2 * 5.0 * (math.sqrt(2) - 1)


def test_a_cap_between_fixed_ends_reaches_its_circular_arc_and_stops():
    """Ends fixed and area kept, a cap of chord c and area A can be no rounder than the circular
    arc through its ends with that segment area: asked for more, the rounding stops there."""
    cap = np.array([[0.0, 0], [10, 3], [20, 0]])
    c, area = 20.0, 30.0
    theta = brentq(lambda t: (c / (2 * math.sin(t / 2))) ** 2 / 2 * (t - math.sin(t)) - area, 1e-3, math.pi)
    arc = c / (2 * math.sin(theta / 2))
    out, reached = round_corners(cap, 40.0)
    assert 0.85 * arc <= reached <= 1.02 * arc
    assert chain_area(out, False) == pytest.approx(chain_area(cap, False), rel=1e-9, abs=0)
    out, reached = round_corners(cap, 10.0)   # below the arc: reached
    assert reached >= 10.0
    # shorter than the resampling step (40 / 5): still a cap with its area, not its chord
    small = np.array([[0.0, 0], [2, 1.5], [4, 0]])
    out, _ = round_corners(small, 40.0)
    assert len(out) == 3 and chain_area(out, False) == pytest.approx(chain_area(small, False), rel=1e-9, abs=0)


def test_a_loop_smaller_than_the_radius_becomes_round_not_a_point():
    square = np.array([[0.0, 0], [4, 0], [4, 4], [0, 4]])
    out, reached = round_corners(square, 40.0, closed=True)
    equivalent = math.sqrt(16 / math.pi)
    assert 0.9 * equivalent <= reached <= 1.05 * equivalent
    assert chain_area(out, True) == pytest.approx(16.0, rel=1e-9, abs=0)


def _stepped_interface(h=60, w=120):
    """Electrode on top with a 10 px deep, 20 px wide square tooth into the electrolyte."""
    lab = np.full((h, w), ELECTROLYTE, dtype=np.uint8)
    lab[:30] = ELECTRODE
    lab[30:40, 50:70] = ELECTRODE
    return lab


def test_image_interface_rounded_to_the_radius_with_its_areas_kept():
    lab = _stepped_interface()
    info: dict = {}
    g = img.labels_to_geometry(lab, 1.0, tolerance_px=1.0, min_radius_px=4.0, info=info)
    rounding = info["corner_rounding"]
    assert rounding["chains_kept"] == 0 and rounding["chains_rounded"] == rounding["chains"] >= 1
    assert rounding["smallest_radius_px"]["electrode/electrolyte"] >= 4.0
    electrode = [r for r in g.regions if r.label == "electrode"][0].outer
    # the interface: the electrode boundary's vertices away from the window sides and top
    inner = electrode[(electrode[:, 0] > 0) & (electrode[:, 0] < 120) & (electrode[:, 1] < 60)]
    assert turning_radii(inner, closed=False).min() >= 4.0
    for label, code in (("electrode", ELECTRODE), ("electrolyte", ELECTROLYTE)):
        assert g.area_m2(label) == pytest.approx(np.count_nonzero(lab == code), abs=2.0)
    plain = img.labels_to_geometry(lab, 1.0, tolerance_px=1.0)
    plain_electrode = [r for r in plain.regions if r.label == "electrode"][0].outer
    assert len(plain_electrode) < len(electrode)   # the rounded contour is resampled at radius / 5


def test_rounding_that_would_cross_a_neighbour_keeps_the_corner():
    """A 2 px void wall-to-wall beside the tooth: rounding the tooth's corner to 8 px would cut
    through the void, so the ladder keeps that chain's corners and says so."""
    lab = _stepped_interface()
    lab[31:39, 71:73] = VOID          # a thin void hugging the tooth's right side
    info: dict = {}
    g = img.labels_to_geometry(lab, 1.0, tolerance_px=1.0, min_radius_px=8.0, info=info)
    assert info["corner_rounding"]["chains_kept"] >= 1
    assert g.area_m2("electrode") == pytest.approx(np.count_nonzero(lab == ELECTRODE), abs=3.0)


def test_min_radius_option_is_checked():
    with pytest.raises(GeometryError, match="min_radius_m"):
        img.ImageOptions(pixel_size_m=50e-9, min_radius_m=-1e-6)
    with pytest.raises(GeometryError, match="200 pixels"):
        img.ImageOptions(pixel_size_m=50e-9, min_radius_m=20e-6)
    assert img.ImageOptions(pixel_size_m=50e-9, min_radius_m=2e-6).min_radius_m == 2e-6


def test_a_run_reports_the_rounding_and_the_image_notes_in_its_summary(tmp_path):
    """`ecmsim run` keeps what the image pipeline did: summary.json "image" holds the rounding (the
    interface chains at the radius asked) and any image warnings also reach stderr."""
    from conftest import SCENARIOS, read_summary, run_cli

    proc = run_cli("run", str(SCENARIOS / "li_pll_cycled_image.toml"), "-q", "-o", str(tmp_path / "r"),
                   "--set", "geometry.min_radius_m=2e-6", "--set", "output.fields=false",
                   "--set", "output.plots=false")
    assert proc.returncode == 0, proc.stderr
    rounding = read_summary(tmp_path / "r")["image"]["corner_rounding"]
    assert rounding["min_radius_m"] == pytest.approx(2e-6, rel=1e-12, abs=0)
    assert rounding["smallest_radius_m"]["electrode/electrolyte"] >= 2e-6
    assert rounding["chains_kept"] == 0
