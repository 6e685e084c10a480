"""Write examples/fbg_profile.csv: the core strain of a fibre pressed between two layers.

A 125 um silica fibre lies across the cell; over the middle 6 mm of its 10 mm grating the stack
pressure p presses it between electrode and electrolyte through a contact band of width w (a
line load F = p w per unit length, smoothed over 0.5 mm at the band's ends), outside that it is
free. The core strain is that of a disc under diametral compression (Timoshenko & Goodier,
Theory of Elasticity, sec. 41: at the centre sigma_yy = -6F/(pi D), sigma_xx = 2F/(pi D)) in
plane strain (ezz = 0), with silica's E and nu from the materials library, at 60 C.

    python examples/make_fbg_profile.py            # rewrites examples/fbg_profile.csv
    ecmsim fbg examples/fbg_profile.csv -o results/fbg

A teaching example of the profile format (z_m, exx, eyy, ezz, exy, T_K), not a calibrated cell.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from ecmsim import materials

OUT = Path(__file__).with_name("fbg_profile.csv")
PRESSURE_PA = 2.4e6          # stack pressure [Pa]
BAND_M = 125e-6              # contact band width across the fibre [m]
DIAMETER_M = 125e-6          # cladding diameter [m]
LOADED_M = (2e-3, 8e-3)      # loaded part of the 10 mm grating [m]
RAMP_M = 0.5e-3              # smoothing of the load's ends [m]
TEMPERATURE_K = 333.15       # 60 C


def profile(n: int = 201) -> np.ndarray:
    silica = materials.get("silica")
    E, nu = silica.youngs_modulus_Pa, silica.poissons_ratio
    z = np.linspace(0.0, 10e-3, n)
    s = 0.5 * (np.tanh((z - LOADED_M[0]) / RAMP_M) - np.tanh((z - LOADED_M[1]) / RAMP_M))
    F = PRESSURE_PA * BAND_M * s                       # line load [N/m]
    sxx, syy = 2 * F / (np.pi * DIAMETER_M), -6 * F / (np.pi * DIAMETER_M)
    exx = ((1 - nu**2) * sxx - nu * (1 + nu) * syy) / E  # plane strain
    eyy = ((1 - nu**2) * syy - nu * (1 + nu) * sxx) / E
    zeros = np.zeros_like(z)
    return np.column_stack([z, exx, eyy, zeros, zeros, np.full_like(z, TEMPERATURE_K)])


def main() -> None:
    np.savetxt(OUT, profile(), delimiter=",", header="z_m,exx,eyy,ezz,exy,T_K", comments="", fmt="%.9g")
    print(OUT)


if __name__ == "__main__":
    main()
