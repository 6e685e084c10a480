"""Write examples/measured_dBm.csv: a spectrum as an FBG interrogator exports it, for trying
``ecmsim fbg --measured`` and ``ecmsim fbg invert`` (docs/fbg.md §6-7).

Synthetic, not a measurement: four overlapping Gaussian lines (FWHM 160 pm, centres 1550.12,
1550.30, 1550.45, 1550.63 nm, heights 0.5, 0.8, 0.6, 0.4) on a 1 % floor with 0.4 % white noise
(seed 5), sampled every 2 pm from 1549.2 to 1551.6 nm, written in dBm at an arbitrary level
(-20 dBm for reflectance 1) after a two-line instrument preamble, with the column names
``Wavelength (nm),Power (dBm)``. The lines are not the grating's own shape: the decomposition
picks the Gaussian family by its information criterion and finds the four centres within 1 pm
(tests/test_fbg_measured.py checks the same construction).

    python examples/make_measured_spectrum.py      # rewrites examples/measured_dBm.csv
    ecmsim fbg examples/fbg_profile.csv -o results/fbg_measured --measured examples/measured_dBm.csv
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

OUT = Path(__file__).with_name("measured_dBm.csv")
CENTRES_NM = (1550.12, 1550.30, 1550.45, 1550.63)
HEIGHTS = (0.5, 0.8, 0.6, 0.4)
FWHM_NM = 0.160


def spectrum() -> tuple[np.ndarray, np.ndarray]:
    """Wavelengths [nm] and power [dBm]."""
    lam = np.round(np.arange(1549.2, 1551.6, 0.002), 4)
    R = sum(h * np.exp(-4 * np.log(2) * ((lam - c) / FWHM_NM) ** 2) for h, c in zip(HEIGHTS, CENTRES_NM))
    R = R + 0.01 + np.random.default_rng(5).normal(0, 0.004, lam.size)
    return lam, 10 * np.log10(np.clip(R, 1e-4, None)) - 20.0


if __name__ == "__main__":
    lam, dbm = spectrum()
    OUT.write_text("Instrument,FBG interrogator (synthetic example: examples/make_measured_spectrum.py)\n"
                   "Channel,1\nWavelength (nm),Power (dBm)\n"
                   + "\n".join(f"{w:.4f},{p:.3f}" for w, p in zip(lam, dbm)) + "\n")
    print(f"wrote {OUT}")
