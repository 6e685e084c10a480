"""Label maps that name more phases than an image holds: a section without voids, a stack where
only some slices have them. Said (a warning in the report), not refused; a value that names no
pixel while other pixels are left without a phase is still a typo and refused."""

from __future__ import annotations

import numpy as np
import pytest

from ecmsim.core.errors import GeometryError
from ecmsim.geometry import image as img
from ecmsim.geometry.stack import segment_stack

PX = 50e-9
LABELS = {"void": 7, "electrode": 3, "electrolyte": 12}


def bilayer(n: int = 80, void: bool = False) -> np.ndarray:
    """Electrode (3) over electrolyte (12), optionally a void (7) on the interface."""
    a = np.full((n, n), 12, dtype=np.uint8)
    a[: n // 2] = 3
    if void:
        a[n // 2 - 4: n // 2 + 1, 20:30] = 7
    return a


def test_a_label_map_naming_void_on_an_image_without_voids_is_accepted_with_a_warning():
    res = img.array_to_geometry(bilayer(), img.ImageOptions(pixel_size_m=PX, label_values=LABELS))
    assert res.geometry.width_m == pytest.approx(80 * PX, rel=1e-12, abs=0)
    assert any("void = 7 does not occur" in w for w in res.info.get("warnings", [])), res.info


def test_a_wrong_value_is_still_refused():
    with pytest.raises(GeometryError, match=r"not assigned to a phase.*electrode = 4 does not occur"):
        img.array_to_geometry(bilayer(), img.ImageOptions(pixel_size_m=PX,
                                                          label_values={**LABELS, "electrode": 4}))
    with pytest.raises(GeometryError, match="electrolyte = 9 does not occur"):
        img.array_to_geometry(bilayer(), img.ImageOptions(pixel_size_m=PX,
                                                          label_values={"electrode": 3, "electrolyte": 9}))


def test_a_stack_with_voids_in_some_slices_warns():
    volume = np.stack([bilayer(void=k == 0) for k in range(4)])
    res = segment_stack(volume, PX, PX, label_values=LABELS)
    assert "label void = 7 occurs in 1 of 4 slices" in res.info["warnings"]
    assert (res.labels == 0).any()                               # the void of slice 0 is kept
    none = segment_stack(np.stack([bilayer() for _ in range(3)]), PX, PX, label_values=LABELS)
    assert any("void = 7 occurs in no slice" in w for w in none.info["warnings"])
    with pytest.raises(GeometryError, match="electrolyte = 9 occurs in no slice"):
        segment_stack(volume, PX, PX, label_values={**LABELS, "electrolyte": 9})
