"""Frictionless contact between tagged bodies (optionally with Coulomb friction): Nitsche's method.

The cell regions of a :class:`~ecmsim.mesh.TaggedMesh` form bodies, split at the contact facet
groups (``interface``: electrode "+" over electrolyte "-"), each with its own displacement; rigid
circles (a fibre) are obstacles of one body. The Signorini conditions on the contacts (and the
Coulomb law, optionally) enter through Nitsche's method; Newton solves all bodies at once in load
steps. The setting, the Nitsche form, its parameter scaling and the sign conventions are derived
in :mod:`ecmsim.mechanics.contact.forms` (and docs/contact.md).

Modules:

- :mod:`~ecmsim.mechanics.contact.bodies`: the contacts (:class:`ContactPair`, :class:`RigidCircle`),
  the split into bodies (submeshes, entity maps) and the facets' integration data ("+" on the
  electrode side);
- :mod:`~ecmsim.mechanics.contact.forms`: the Nitsche forms (normal contact, friction, rigid circle);
- :mod:`~ecmsim.mechanics.contact.profile`: :class:`ContactProfile`, gap and pressure sampled at the
  forms' quadrature points;
- :mod:`~ecmsim.mechanics.contact.problem`: :class:`ContactProblem` (Newton with load stepping),
  :class:`ContactSolution` and :func:`stack_pressure_contact_problem`.

The public names are re-exported here (``from ecmsim.mechanics.contact import ContactProblem``);
the modules of this package import each other directly, never this file.
"""

from ecmsim.mechanics.contact.bodies import (NAMED_FACET_GROUPS, ContactPair, RigidCircle, electrode_contact_groups,
                                             facet_regions, find_bodies)
from ecmsim.mechanics.contact.forms import NITSCHE_PARAMETER, NITSCHE_VARIANTS, nitsche_coefficients
from ecmsim.mechanics.contact.problem import ContactProblem, ContactSolution, stack_pressure_contact_problem
from ecmsim.mechanics.contact.profile import ContactProfile

__all__ = ["ContactProblem", "ContactPair", "RigidCircle", "ContactProfile", "ContactSolution",
           "stack_pressure_contact_problem", "electrode_contact_groups", "nitsche_coefficients", "find_bodies",
           "facet_regions", "NITSCHE_PARAMETER", "NITSCHE_VARIANTS", "NAMED_FACET_GROUPS"]
