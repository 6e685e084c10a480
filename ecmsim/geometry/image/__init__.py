"""FIB-SEM / SEM cross-sections -> phase labels -> contours -> :class:`~ecmsim.geometry.Geometry`.

The pipeline (:func:`image_to_geometry` runs every step, :mod:`.pipeline`); each step is a
module of this package, whose docstring says how it works:

1. **read** (:mod:`.read`) a PNG or TIFF (8/16 bit, grey or RGB; RGB becomes grey by Rec. 601
   luma), or a label image whose integer values name the phases (``label_values``); the options
   (:class:`ImageOptions`) may come partly from a sidecar JSON beside the image.
2. **segment** grey images into void / electrode / electrolyte (:mod:`.classes`): a median
   filter (``median_px``, default 5x5); the phases are the clear peaks of the grey-level
   histogram, their thresholds midway between neighbouring phases' grey levels
   (:mod:`.levels`), or the classes of a Gaussian mixture on the denoised image when the
   histogram shows fewer phases than there are (:mod:`.segment`), or the user's ``levels``.
   A flattening step (:mod:`.flatten`) subtracts curtaining stripes and smooth shading
   estimated from the residual of each phase, and the pixels are classified again. A composite
   electrolyte (a polymer with bright particles, about as dark as the Li) is read by texture and
   context (:mod:`.texture`, with its pore rims in :mod:`.rims`): ``method = "texture"``, or
   ``auto`` when that reading is sure and the grey levels misread it. Hard cases: scribbles or
   label maps from ilastik / Weka (:mod:`.segment`).
3. **assign** (:mod:`.assign`) the phases: the one bordering most void is the electrode, else
   the more textured one is the electrolyte, or the user says which (``electrode_side`` or
   ``phases``).
4. **crop** (:mod:`.window`) to the window (x from the image's left edge, y from its top, as
   image viewers show).
5. **clean** (:mod:`.clean`): small pieces join the phase around them, thin parts their
   neighbours, floating material becomes void, pixels touching only by a corner are bridged.
6. **orient** (:mod:`.window`) so that the electrode is on top (the mesh convention:
   electrolyte bottom fixed).
7. **contours** (:mod:`.contour`): the boundaries between phases are cut at junctions into
   chains, drawn through pixel-edge midpoints and simplified to ``tolerance_px`` with their areas
   kept; every chain is stored once, so neighbouring regions share their boundary vertex for
   vertex.

Alongside: the phase codes and names (:mod:`.phases`: :data:`VOID`, :data:`PHASE_NAMES`...),
what the labels themselves measure, for comparison with the mesh (:mod:`.measure`), and the disk
cache that keeps the texture route's trained forest between processes (:mod:`.diskcache`).

Voids are what no region covers; electrode pieces inside the electrolyte (dead Li) stay
electrode regions (:mod:`ecmsim.mesh` tags their boundary ``island``).

This package re-exports the public names of its modules; the modules import each other
directly, never this ``__init__``.
"""

from __future__ import annotations

from ecmsim.geometry.image.classes import segment_grey
from ecmsim.geometry.image.clean import clean_labels, drop_floating, fix_pinches
from ecmsim.geometry.image.contour import labels_to_geometry
from ecmsim.geometry.image.levels import histogram_levels, phase_levels
from ecmsim.geometry.image.measure import crofton_length, pixel_measures
from ecmsim.geometry.image.phases import ELECTRODE, ELECTROLYTE, PHASE_NAMES, VOID
from ecmsim.geometry.image.pipeline import ImageResult, array_to_geometry, image_to_geometry
from ecmsim.geometry.image.read import (ImageOptions, labels_from_label_image, options_with_sidecar, read_image,
                                        read_sidecar, to_grey)
from ecmsim.geometry.image.window import crop_window

# further phase codes, the cleaning of thin parts and the tuning constants of the steps: importable
# from here as before, but not part of ``__all__``
from ecmsim.geometry.image.classes import NESTED_SEPARATION as NESTED_SEPARATION
from ecmsim.geometry.image.classes import OVERSPLIT as OVERSPLIT
from ecmsim.geometry.image.classes import PORE_GROWTH_Z as PORE_GROWTH_Z
from ecmsim.geometry.image.classes import SHARP_EDGE as SHARP_EDGE
from ecmsim.geometry.image.classes import SOFT_EDGE as SOFT_EDGE
from ecmsim.geometry.image.clean import remove_thin_parts as remove_thin_parts
from ecmsim.geometry.image.contour import EDGE_CLEARANCE_PX as EDGE_CLEARANCE_PX
from ecmsim.geometry.image.contour import MIN_CORNER_DEG as MIN_CORNER_DEG
from ecmsim.geometry.image.levels import VALLEY_RATIO as VALLEY_RATIO
from ecmsim.geometry.image.phases import DEAD_LI as DEAD_LI
from ecmsim.geometry.image.phases import PARTICLE as PARTICLE
from ecmsim.geometry.image.phases import SEPARATOR as SEPARATOR
from ecmsim.geometry.image.phases import VOID_CHANGE_WARNING as VOID_CHANGE_WARNING
from ecmsim.geometry.image.read import ANTIALIAS_MAX_FRACTION as ANTIALIAS_MAX_FRACTION

__all__ = ["ImageOptions", "ImageResult", "read_image", "to_grey", "read_sidecar", "options_with_sidecar",
           "histogram_levels", "phase_levels", "segment_grey", "labels_from_label_image", "crop_window", "clean_labels",
           "drop_floating", "fix_pinches", "labels_to_geometry", "crofton_length", "pixel_measures",
           "image_to_geometry", "array_to_geometry", "VOID", "ELECTRODE", "ELECTROLYTE",
           "PHASE_NAMES"]
