"""Phase codes of a label array and their names: the vocabulary every step of the image
pipeline shares (and :mod:`ecmsim.geometry.synthetic`, which draws images with known phases).

A label array holds one code per pixel: :data:`VOID`, :data:`ELECTRODE`, :data:`ELECTROLYTE`,
and the further solid phases of N-phase layouts; :data:`PHASE_NAMES` maps the names used in
options, sidecars and reports to the codes (:func:`_check_phase_names` checks a list of them).
"""

from __future__ import annotations

from ecmsim.core.errors import GeometryError

#: Phase codes of a label array, and their names.
VOID, ELECTRODE, ELECTROLYTE = 0, 1, 2
#: Further named solid phases of N-phase layouts (composite, porous or multi-layer windows).
PARTICLE, DEAD_LI, SEPARATOR = 3, 4, 5
PHASE_NAMES = {"void": VOID, "electrode": ELECTRODE, "electrolyte": ELECTROLYTE,
               "particle": PARTICLE, "dead_li": DEAD_LI, "separator": SEPARATOR}

#: Cleaning that changes the void fraction by more than this (relative, and 0.2 % absolute) is
#: reported as a warning (so is pore growth, :mod:`ecmsim.geometry.image.classes`, by more than
#: this relative change).
VOID_CHANGE_WARNING = 0.2


def _check_phase_names(names, what: str) -> None:
    unknown = [n for n in names if n not in PHASE_NAMES]
    if unknown:
        raise GeometryError(f"{what}: unknown phase '{unknown[0]}' (known: {', '.join(PHASE_NAMES)})")
    if len(set(names)) != len(names):
        raise GeometryError(f"{what}: each phase may appear once (got {', '.join(names)})")
    if "electrolyte" not in names:
        raise GeometryError(f"{what}: 'electrolyte' is missing (every layout needs the electrolyte; "
                            f"the electrode is optional)")
