"""Optics of a strained grating: fibre constants, strain-optic effect, local Bragg wavelengths.

Frame: x, y transverse, z along the fibre. Strains are the *tensor* components of the
elastic (mechanical) strain of the fibre core, eps_xy = gamma_xy / 2 as FE codes give them
(sym(grad u)), without the free thermal expansion of the fibre, which the temperature term
adds.

Per section (digest sec. 3; Butter & Hocker 1978; Gafsi & El-Sherif 2000):

1. Principal transverse axes: the 2x2 tensor [[e_xx, e_xy], [e_xy, e_yy]] is diagonalised,
   phi = 1/2 atan2(2 e_xy, e_xx - e_yy) folded into [-pi/4, pi/4], so that the "x" eigenmode
   is the one whose axis is nearest the fibre's x axis (exactly x when e_xy = 0):
   e_1 = e_xx cos^2 phi + e_yy sin^2 phi + 2 e_xy sin phi cos phi, e_2 = e_xx + e_yy - e_1.
2. Index of each polarisation eigenmode (strain-optic, isotropic p11, p12):
   dn_1 = -(n^3 / 2) [p11 e_1 + p12 (e_2 + e_zz)],  dn_2 = -(n^3 / 2) [p11 e_2 + p12 (e_1 + e_zz)].
3. Local Bragg wavelength, axial strain counted once (it stretches the period only; its
   photoelastic part is the p12 e_zz term above):
   lambda_i = 2 (n_eff + dn_i) Lambda (1 + e_zz) (1 + (alpha + xi)(T - T_ref)),
   Lambda = lambda_D / (2 n_eff). Unloaded: lambda_i = lambda_D exactly.

The longitudinal shears e_xz, e_yz are accepted and ignored: to first order the propagation
constants of the two transverse (LP01) eigenmodes depend only on the transverse components of
the index perturbation; e_xz, e_yz couple the transverse field to its small longitudinal
component (second order), and twist (a z-varying e_xz, e_yz) adds circular birefringence,
which rotates the polarisation but does not move the Bragg wavelength of either mode.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ecmsim import materials
from ecmsim.fbg.parameters import Grating

#: Smallest section length in grating periods: coupled-mode theory averages over many periods
#: (Erdogan 1997, Sec. IV: "the number of sections M cannot be made arbitrarily large").
MIN_PERIODS_PER_SECTION = 10
#: Default section length in periods and the most sections chosen automatically.
DEFAULT_PERIODS_PER_SECTION = 50
MAX_AUTO_SECTIONS = 2000


@dataclass(frozen=True)
class Fibre:
    """Constants of the optical fibre, all from one record of the materials library.

    Attributes:
        effective_index: effective index n_eff of the core mode, including the grating's mean
            index change [-].
        p11, p12: Pockels strain-optic coefficients [-].
        youngs_modulus_Pa: E [Pa]; poissons_ratio: nu [-].
        thermal_expansion_per_K: alpha [1/K]; thermo_optic_per_K: xi = (1/n) dn/dT [1/K].
        diameter_m: cladding diameter [m].
        material_key: the library record the values come from.
    """

    effective_index: float
    p11: float
    p12: float
    youngs_modulus_Pa: float
    poissons_ratio: float
    thermal_expansion_per_K: float
    thermo_optic_per_K: float
    diameter_m: float
    material_key: str = "silica"

    @classmethod
    def from_material(cls, key: str = "silica") -> Fibre:
        """The fibre of library record ``key`` (``ecmsim materials silica`` shows its sources)."""
        m = materials.get(key)
        return cls(effective_index=m.get("effective_index"), p11=m.get("p11"), p12=m.get("p12"),
                   youngs_modulus_Pa=m.youngs_modulus_Pa, poissons_ratio=m.poissons_ratio,
                   thermal_expansion_per_K=m.get("thermal_expansion_per_K"),
                   thermo_optic_per_K=m.get("thermo_optic_per_K"), diameter_m=m.get("diameter_m"),
                   material_key=key)

    @property
    def effective_photoelastic(self) -> float:
        """p_e = (n^2 / 2) [p12 - nu (p11 + p12)] [-], of a free fibre under axial stress.

        The strain sensitivity is d(lambda)/lambda = (1 - p_e) eps_z (reference paper eq. 1).
        """
        n, nu = self.effective_index, self.poissons_ratio
        return 0.5 * n * n * (self.p12 - nu * (self.p11 + self.p12))

    @property
    def thermal_sensitivity_per_K(self) -> float:
        """(1/lambda) d(lambda)/dT = alpha + xi [1/K] of a free fibre."""
        return self.thermal_expansion_per_K + self.thermo_optic_per_K


def period_m(grating: Grating, fibre: Fibre) -> float:
    """Grating period Lambda = lambda_D / (2 n_eff) [m] (no +dn/n offset: n_eff includes it)."""
    return grating.design_wavelength_m / (2.0 * fibre.effective_index)


def section_count(grating: Grating, fibre: Fibre) -> int:
    """Number of uniform sections for the transfer matrix.

    ``grating.sections`` if set, else L / (50 Lambda) (at most 2000): ~27 um sections at
    1550 nm, fine enough for any strain field a FE model resolves along 10 mm. Raises
    ScenarioError when a section would be shorter than 10 periods, below which the
    piecewise-uniform coupled-mode model is not valid (Erdogan 1997, Sec. IV).
    """
    from ecmsim.core.errors import ScenarioError
    lam = period_m(grating, fibre)
    longest = int(grating.length_m / (MIN_PERIODS_PER_SECTION * lam))
    if grating.sections is None:
        return max(1, min(MAX_AUTO_SECTIONS, int(grating.length_m / (DEFAULT_PERIODS_PER_SECTION * lam))))
    if grating.sections > longest:
        raise ScenarioError(
            f"grating.sections = {grating.sections}: sections of {grating.length_m / grating.sections:.3g} m "
            f"are shorter than {MIN_PERIODS_PER_SECTION} grating periods ({MIN_PERIODS_PER_SECTION * lam:.3g} m); "
            f"coupled-mode theory needs many periods per section: use at most {max(longest, 1)}")
    return grating.sections


def apodization(grating: Grating, z_from_centre_m: np.ndarray) -> np.ndarray:
    """Apodization g(z) in [0, 1] of the index modulation at distance z from the centre [-].

    ``uniform``: 1; ``gaussian``: exp(-4 ln2 (z / FWHM)^2); ``raised_cosine``:
    (1 + cos(2 pi z / L)) / 2, zero at both ends (Erdogan 1997, sec. V)."""
    z = np.asarray(z_from_centre_m, dtype=float)
    if grating.apodization == "uniform":
        return np.ones_like(z)
    if grating.apodization == "raised_cosine":
        return 0.5 * (1.0 + np.cos(2.0 * math.pi * np.clip(z / grating.length_m, -0.5, 0.5)))
    return np.exp(-4.0 * math.log(2.0) * (z / grating.fwhm_m) ** 2)


def principal_transverse_strains(exx, eyy, exy):
    """Principal transverse strains and the angle of the "x" eigenaxis.

    Returns (e_1, e_2, phi): e_1 along the principal axis at phi [rad] from x, with phi in
    [-pi/4, pi/4] (the principal axis nearest x), e_2 along the axis at phi + pi/2.
    """
    exx, eyy, exy = (np.asarray(a, dtype=float) for a in (exx, eyy, exy))
    phi = 0.5 * np.arctan2(2.0 * exy, exx - eyy)        # axis of the larger strain, (-pi/2, pi/2]
    phi = np.where(phi > math.pi / 4, phi - math.pi / 2, phi)
    phi = np.where(phi < -math.pi / 4, phi + math.pi / 2, phi)
    c, s = np.cos(phi), np.sin(phi)
    e1 = exx * c * c + eyy * s * s + 2.0 * exy * s * c
    e2 = exx + eyy - e1                                   # the trace is invariant
    return e1, e2, phi


def index_changes(fibre: Fibre, e1, e2, ezz):
    """Strain-optic index changes (dn_1, dn_2) of the two polarisation eigenmodes [-].

    dn_i = -(n^3 / 2) [p11 e_i + p12 (e_j + e_zz)] (digest sec. 3).
    """
    half_n3 = 0.5 * fibre.effective_index ** 3
    dn1 = -half_n3 * (fibre.p11 * e1 + fibre.p12 * (e2 + ezz))
    dn2 = -half_n3 * (fibre.p11 * e2 + fibre.p12 * (e1 + ezz))
    return dn1, dn2


@dataclass(frozen=True)
class LocalBragg:
    """Per-section optics of a strained grating (arrays over sections).

    Attributes:
        z_m: section centres [m]; dz_m: section length [m].
        bragg_m: local Bragg wavelength, shape (2, sections): row 0 the "x" eigenmode, row 1 "y" [m].
        index: local effective index of each eigenmode, shape (2, sections) [-].
        coupling: pi v delta_n g(z) [-]; the coupling constant is kappa = coupling / lambda [1/m].
        angle_rad: angle of the "x" eigenaxis from the fibre's x axis [rad].
    """

    z_m: np.ndarray
    dz_m: float
    bragg_m: np.ndarray
    index: np.ndarray
    coupling: np.ndarray
    angle_rad: np.ndarray


def local_bragg(fibre: Fibre, grating: Grating, z_from_centre_m, exx, eyy, ezz, exy, T_K=None,
                dz_m: float | None = None) -> LocalBragg:
    """Local Bragg wavelengths and indices of the two eigenmodes at each section.

    ``z_from_centre_m`` are the section centres measured from the grating centre [m]; strains
    are the section-averaged tensor components [-]; ``T_K`` the temperatures [K] (None: the
    grating's reference temperature). See the module docstring for the equations.
    """
    z = np.asarray(z_from_centre_m, dtype=float)
    ezz = np.asarray(ezz, dtype=float)
    e1, e2, phi = principal_transverse_strains(exx, eyy, exy)
    dn1, dn2 = index_changes(fibre, e1, e2, ezz)
    n = fibre.effective_index
    g = apodization(grating, z)
    # DC index along z: constant (DC-compensated writing) or following the apodization
    base = n - grating.delta_n * (1.0 - g) if grating.dc_apodized else np.full_like(z, n)
    if T_K is None:
        dT = np.zeros_like(z)
    else:
        dT = np.asarray(T_K, dtype=float) - grating.reference_temperature_K
    thermal = 1.0 + fibre.thermal_sensitivity_per_K * dT
    stretch = 2.0 * period_m(grating, fibre) * (1.0 + ezz) * thermal
    index = np.stack([(base + dn1), (base + dn2)])
    bragg = index * stretch
    index = index * (1.0 + fibre.thermo_optic_per_K * dT)
    coupling = math.pi * grating.visibility * grating.delta_n * g
    if dz_m is None:
        dz_m = grating.length_m / max(len(z), 1)
    return LocalBragg(z_m=z, dz_m=float(dz_m), bragg_m=bragg, index=index, coupling=coupling,
                      angle_rad=np.asarray(phi, dtype=float))


def strain_from_stress(fibre: Fibre, sxx, syy, szz, sxy=0.0, sxz=0.0, syz=0.0):
    """Isotropic Hooke's law: tensor strains (e_xx, e_yy, e_zz, e_xy, e_xz, e_yz) from stresses [Pa].

    e = ((1 + nu) s - nu tr(s) I) / E, shear e_ij = s_ij (1 + nu) / E = s_ij / (2 G).
    """
    E, nu = fibre.youngs_modulus_Pa, fibre.poissons_ratio
    tr = np.asarray(sxx) + np.asarray(syy) + np.asarray(szz)
    normal = [((1 + nu) * np.asarray(s) - nu * tr) / E for s in (sxx, syy, szz)]
    shear = [(1 + nu) * np.asarray(s) / E for s in (sxy, sxz, syz)]
    return (*normal, *shear)
