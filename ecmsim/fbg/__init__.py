"""Virtual fibre Bragg grating: strain profile along the grating -> reflected spectrum -> peaks.

Modules: :mod:`~ecmsim.fbg.parameters` (grating, source, interrogator), :mod:`~ecmsim.fbg.optics`
(fibre constants, strain-optic effect, local Bragg wavelengths), :mod:`~ecmsim.fbg.tmm`
(transfer matrix), :mod:`~ecmsim.fbg.profile` (strain profiles and their CSV),
:mod:`~ecmsim.fbg.analysis` (interrogator: peaks, widths, eq. 1-2 stress estimate, temperature
compensation), :mod:`~ecmsim.fbg.spectra` (spectra I/O, comparison with measurements),
:mod:`~ecmsim.fbg.sensor` (the pipeline), :mod:`~ecmsim.fbg.plots`, :mod:`~ecmsim.cli.fbg`.
Equations and assumptions: docs/fbg.md.

The names below are imported on first use (PEP 562), so that importing :mod:`ecmsim.cli.fbg`
for the command line does not load numpy.
"""

from __future__ import annotations

import importlib

_EXPORTS = {
    "Grating": "parameters", "Interrogator": "parameters", "Source": "parameters",
    "Fibre": "optics", "StrainProfile": "profile", "read_profiles": "profile",
    "Spectrum": "spectra", "read_spectrum_csv": "spectra", "compare": "spectra",
    "PeakReport": "analysis", "Peak": "analysis", "find_peaks": "analysis",
    "stress_from_shift": "analysis", "strain_from_shift": "analysis",
    "compensate_temperature": "analysis",
    "simulate": "sensor", "simulate_series": "sensor", "grating_sections": "sensor",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f"ecmsim.fbg.{_EXPORTS[name]}"), name)
    raise AttributeError(f"module 'ecmsim.fbg' has no attribute {name!r}")
