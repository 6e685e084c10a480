"""Strain-optic physics of the virtual FBG, through the whole chain profile -> spectrum -> peaks.

Expected values are computed here from the library's fibre constants with the textbook formulas,
not with the module's functions.
"""

import math

import numpy as np
import pytest

from ecmsim import materials
from ecmsim.fbg import Grating, Interrogator, Source, StrainProfile, simulate
from ecmsim.fbg.optics import Fibre, principal_transverse_strains
from ecmsim.fbg.sensor import grating_sections

SILICA = materials.get("silica")
E, NU = SILICA.youngs_modulus_Pa, SILICA.poissons_ratio
N, P11, P12 = SILICA.get("effective_index"), SILICA.get("p11"), SILICA.get("p12")
ALPHA, XI = SILICA.get("thermal_expansion_per_K"), SILICA.get("thermo_optic_per_K")
D = SILICA.get("diameter_m")
LAMBDA_D = 1550e-9
L = 10e-3
#: The vertex of the parabola through three 1 pm samples finds a smooth peak to well below this.
PEAK_TOL = 0.02e-12


def peak_of(R, lam):
    """Wavelength of the largest sample, refined by the parabola through its neighbours."""
    i = int(np.argmax(R))
    a, b, c = R[i - 1], R[i], R[i + 1]
    return lam[i] + 0.5 * (a - c) / (a - 2 * b + c) * (lam[1] - lam[0])


def test_unloaded_peak_is_the_design_wavelength():
    """No strain, reference temperature: the peak sits at lambda_D (within 1 pm; in fact < 0.02 pm),
    for any design wavelength, uniform or DC-compensated Gaussian apodization."""
    for grating in (Grating(), Grating(design_wavelength_m=1588.35e-9),
                    Grating(apodization="gaussian", delta_n=3e-4), Grating(sections=17)):
        spectrum, report = simulate(StrainProfile.uniform(L), grating)
        assert report.count == 1
        assert abs(report.peaks[0].wavelength_m - grating.design_wavelength_m) < PEAK_TOL
        assert abs(report.centroid_m - grating.design_wavelength_m) < PEAK_TOL
        assert abs(report.shift_m) < PEAK_TOL


def test_dc_apodized_grating_moves_its_wings_blue():
    """With the DC index following the Gaussian apodization the wings have a lower index: the
    peak moves to shorter wavelengths, by less than the full DC shift lambda delta_n / n."""
    dn = 3e-4
    _, report = simulate(StrainProfile.uniform(L), Grating(apodization="gaussian", delta_n=dn, dc_apodized=True))
    shift = report.strongest.wavelength_m - LAMBDA_D
    assert -LAMBDA_D * dn / N < shift < -1e-12


@pytest.mark.parametrize("strain", [1e-4, 1e-3, -5e-4])
def test_uniform_axial_strain_shift(strain):
    """Free fibre under axial tension (e_xx = e_yy = -nu e_zz): lambda = lambda_D (1 - p_e e)(1 + e),
    p_e = (n^2/2)[p12 - nu (p11 + p12)]: about 1.2 pm per microstrain at 1550 nm."""
    p_e = 0.5 * N * N * (P12 - NU * (P11 + P12))
    expected = LAMBDA_D * (1 - p_e * strain) * (1 + strain)
    profile = StrainProfile.uniform(L, exx=-NU * strain, eyy=-NU * strain, ezz=strain)
    spectrum, report = simulate(profile)
    assert report.count == 1 and report.splitting_m == 0.0
    assert abs(report.peaks[0].wavelength_m - expected) < PEAK_TOL
    # the same in pm per microstrain: lambda_D [pm] 1e-6 [(1 - p_e) - p_e e]
    sensitivity = (report.peaks[0].wavelength_m - LAMBDA_D) * 1e12 / (strain * 1e6)
    expected_sensitivity = LAMBDA_D * 1e12 * 1e-6 * ((1 - p_e) - p_e * strain)
    assert abs(sensitivity - expected_sensitivity) < PEAK_TOL * 1e12 / abs(strain * 1e6)
    assert 1.15 < sensitivity < 1.30


def test_pure_axial_strain_counts_the_axial_strain_once():
    """e_zz alone (transverse strain held at 0): both eigenmodes move to
    lambda_D (1 - n^2 p12 e / 2)(1 + e): the period stretches once, the index changes by p12 e."""
    strain = 8e-4
    expected = LAMBDA_D * (1 - 0.5 * N * N * P12 * strain) * (1 + strain)
    spectrum, _ = simulate(StrainProfile.uniform(L, ezz=strain))
    lam = spectrum.wavelength_m
    assert abs(peak_of(spectrum.R_x, lam) - expected) < PEAK_TOL
    assert abs(peak_of(spectrum.R_y, lam) - expected) < PEAK_TOL


def test_temperature_shift():
    """dT at no strain: d(lambda) = (alpha + xi) lambda_D dT."""
    dT = 40.0
    grating = Grating(reference_temperature_K=293.15)
    spectrum, report = simulate(StrainProfile.uniform(L, T_K=293.15 + dT), grating)
    expected = LAMBDA_D * (ALPHA + XI) * dT
    assert abs(report.shift_m - expected) < PEAK_TOL
    assert abs(report.peaks[0].wavelength_m - LAMBDA_D - expected) < PEAK_TOL
    assert 8e-12 < expected / dT < 16e-12            # ~ 10-15 pm/K for silica at 1550 nm


def test_equal_transverse_strains_do_not_split():
    """e_xx = e_yy (any e_zz, any e_xz, e_yz): the two eigenmodes are degenerate."""
    profile = StrainProfile.uniform(L, exx=-3e-4, eyy=-3e-4, ezz=2e-4, exz=1e-4, eyz=-2e-4)
    spectrum, report = simulate(profile)
    assert np.array_equal(spectrum.R_x, spectrum.R_y)
    assert report.count == 1 and report.splitting_m == 0.0


def diametral_load_strains(f, theta=0.0):
    """Centre of a disc of diameter D under a diametral line load f [N/m] along y (Timoshenko &
    Goodier): sigma_x = 2 f / (pi D), sigma_y = -6 f / (pi D). Plane strain (e_zz = 0, a long fibre
    held along its axis), so sigma_z = nu (sigma_x + sigma_y). Returns tensor strains rotated by
    theta (the load along the direction at theta + 90 deg from x)."""
    sx, sy = 2 * f / (math.pi * D), -6 * f / (math.pi * D)
    sz = NU * (sx + sy)
    tr = sx + sy + sz
    ex, ey = ((1 + NU) * sx - NU * tr) / E, ((1 + NU) * sy - NU * tr) / E
    c, s = math.cos(theta), math.sin(theta)
    exx = ex * c * c + ey * s * s
    eyy = ex * s * s + ey * c * c
    exy = (ex - ey) * s * c
    return ex, ey, exx, eyy, exy


def test_diametral_line_load_splitting():
    """Analytic birefringence: lambda_x - lambda_y = lambda_D (n^2/2)(p12 - p11)(e_x - e_y).

    Each eigenmode's peak matches lambda_i = lambda_D (1 + dn_i / n) to 0.02 pm; the unpolarised
    spectrum, read by the interrogator (1 pm samples), gives the splitting within 1 pm. A Gaussian
    apodization keeps the side lobes of one peak from pulling the other (with a uniform grating
    and a splitting near the bandwidth they overlap and the apparent splitting is smaller).
    """
    f = 3000.0                                             # N/m: ~230 pm, the scale of [P]'s 190 pm
    ex, ey, exx, eyy, exy = diametral_load_strains(f)
    splitting = LAMBDA_D * 0.5 * N * N * (P12 - P11) * (ex - ey)
    lam_x = LAMBDA_D * (1 - 0.5 * N * N * (P11 * ex + P12 * ey))
    lam_y = LAMBDA_D * (1 - 0.5 * N * N * (P11 * ey + P12 * ex))
    assert abs((lam_x - lam_y) - splitting) < 1e-18
    grating = Grating(apodization="gaussian")
    spectrum, report = simulate(StrainProfile.uniform(L, exx=exx, eyy=eyy, ezz=0.0), grating)
    lam = spectrum.wavelength_m
    assert abs(peak_of(spectrum.R_x, lam) - lam_x) < PEAK_TOL
    assert abs(peak_of(spectrum.R_y, lam) - lam_y) < PEAK_TOL
    assert report.count == 2
    assert abs(report.splitting_m - splitting) < Interrogator().resolution_m
    assert abs(min(p.wavelength_m for p in report.peaks) - lam_y) < 1e-12
    assert 200e-12 < splitting < 260e-12


def test_rotated_line_load_same_splitting_and_polarised_source():
    """The same load along another direction (shear e_xy != 0): the same splitting, eigenaxis at
    the load angle; a source polarised along that axis sees only the "x" eigenmode's peak."""
    theta = math.radians(30)
    ex, ey, exx, eyy, exy = diametral_load_strains(3000.0, theta)
    profile = StrainProfile.uniform(L, exx=exx, eyy=eyy, exy=exy)
    sections = grating_sections(profile, Grating(), Fibre.from_material())
    assert np.allclose(sections.angle_rad, theta, atol=1e-12)
    e1, e2, _ = principal_transverse_strains(exx, eyy, exy)
    assert abs(e1 - ex) < 1e-18 and abs(e2 - ey) < 1e-18
    grating = Grating(apodization="gaussian")
    _, unpolarised = simulate(profile, grating)
    splitting = LAMBDA_D * 0.5 * N * N * (P12 - P11) * (ex - ey)
    assert abs(unpolarised.splitting_m - splitting) < 1e-12
    spectrum, polarised = simulate(profile, grating, source=Source(polarisation_angle_rad=theta))
    assert np.allclose(spectrum.R, spectrum.R_x, atol=1e-12)
    assert polarised.count == 1
    lam_x = LAMBDA_D * (1 - 0.5 * N * N * (P11 * ex + P12 * ey))
    assert abs(polarised.peaks[0].wavelength_m - lam_x) < PEAK_TOL


def test_longitudinal_shear_is_accepted_and_does_not_move_peaks():
    """e_xz, e_yz do not enter the transverse-mode indices (first order): same spectrum."""
    base = StrainProfile.uniform(L, exx=1e-4, eyy=-2e-4, ezz=3e-4, exy=5e-5)
    sheared = StrainProfile.uniform(L, exx=1e-4, eyy=-2e-4, ezz=3e-4, exy=5e-5, exz=4e-4, eyz=-3e-4)
    a, _ = simulate(base)
    b, _ = simulate(sheared)
    assert np.array_equal(a.R, b.R)


def test_linear_strain_gradient_broadens_by_the_bragg_spread():
    """A linear axial strain gradient makes a chirped grating: its FWHM is the spread of the
    local Bragg wavelengths along the grating, each band edge blurred by the local stop band
    (full width lambda^2 kappa / (pi n)). Chosen so that the spread is >= 4x the intrinsic
    bandwidth and the chirped band still reflects > 70 %."""
    p_e = 0.5 * N * N * (P12 - NU * (P11 + P12))
    dn = 3e-4
    kappa = math.pi * dn / LAMBDA_D
    local_band = LAMBDA_D ** 2 * kappa / (math.pi * N)
    intrinsic = LAMBDA_D * dn / N * math.sqrt(1 + (LAMBDA_D / (dn * L)) ** 2)
    _, flat = simulate(StrainProfile.uniform(L), Grating(delta_n=dn))
    widths = []
    for total in (1.2e-3, 2.4e-3):
        z = np.array([0.0, L])
        ezz = np.array([-total / 2, total / 2])
        profile = StrainProfile(z_m=z, exx=-NU * ezz, eyy=-NU * ezz, ezz=ezz)
        _, report = simulate(profile, Grating(delta_n=dn))
        bragg = LAMBDA_D * (1 - p_e * ezz) * (1 + ezz)
        spread = bragg[1] - bragg[0]
        assert spread > 4 * intrinsic
        assert abs(report.strongest.fwhm_m - spread) < local_band
        assert abs(report.centroid_m - bragg.mean()) < 0.05 * spread
        widths.append(report.strongest.fwhm_m)
    assert widths[0] > 3 * flat.strongest.fwhm_m              # well beyond the unstrained peak
    assert 1.6 < widths[1] / widths[0] < 2.2


def test_principal_strains_are_the_eigenvalues():
    rng = np.random.default_rng(5)
    exx, eyy, exy = rng.normal(0, 1e-3, (3, 200))
    e1, e2, phi = principal_transverse_strains(exx, eyy, exy)
    eig = np.linalg.eigvalsh(np.stack([np.stack([exx, exy], -1), np.stack([exy, eyy], -1)], -1))
    assert np.allclose(np.sort(np.stack([e1, e2], -1), -1), eig, atol=1e-18)
    assert np.all(np.abs(phi) <= math.pi / 4 + 1e-15)
    # the "x" eigenaxis is the one nearest x: with no shear it is x itself, whichever strain is larger
    e1, e2, phi = principal_transverse_strains(np.array([1e-4, -1e-4]), np.array([-1e-4, 1e-4]), np.zeros(2))
    assert np.array_equal(e1, [1e-4, -1e-4]) and np.array_equal(phi, [0.0, 0.0])
