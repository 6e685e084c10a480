"""Transfer matrix of the virtual FBG against closed forms and against the plain loop."""

import math
import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from scipy.optimize import brentq

from ecmsim.fbg import fastkernel, parallel, tmm
from ecmsim.fbg.parallel import map_in_processes

N_EFF = 1.45          # the closed forms below do not read the library: any index will do
LAMBDA_D = 1550e-9
LENGTH = 10e-3
DELTA_N = 1e-4


def uniform_closed_form(lam, n=N_EFF, lam_d=LAMBDA_D, dn=DELTA_N, L=LENGTH):
    """Erdogan (1997) eq. 20: R = sinh^2(gamma L) / (cosh^2(gamma L) - sigma^2 / kappa^2), written
    with real functions on both sides of the band edge (independent of the module's tan route)."""
    lam = np.asarray(lam, dtype=float)
    sigma = 2 * np.pi * n * (1 / lam - 1 / lam_d)
    kappa = np.pi * dn / lam
    g2 = kappa ** 2 - sigma ** 2
    out = np.empty_like(lam)
    inside = g2 > 0
    g = np.sqrt(g2[inside])
    out[inside] = np.sinh(g * L) ** 2 / (np.cosh(g * L) ** 2 - sigma[inside] ** 2 / kappa[inside] ** 2)
    q = np.sqrt(-g2[~inside])
    # gamma = i q: sinh^2 -> -sin^2, cosh^2 -> cos^2
    out[~inside] = np.sin(q * L) ** 2 / (sigma[~inside] ** 2 / kappa[~inside] ** 2 - np.cos(q * L) ** 2)
    return out


def uniform_sections(M, n=N_EFF, lam_d=LAMBDA_D, dn=DELTA_N):
    return np.full((1, M), lam_d), np.full((1, M), n), np.full(M, np.pi * dn)


@pytest.mark.parametrize("sections", [1, 7, 200])
def test_uniform_grating_spectrum_equals_closed_form(sections):
    """A uniform grating cut into any number of sections gives Erdogan's eq. 20 to 1e-10."""
    lam = np.linspace(1548.5e-9, 1551.5e-9, 6001)
    R = tmm.reflectance(lam, *uniform_sections(sections), LENGTH / sections)[0]
    assert np.max(np.abs(R - uniform_closed_form(lam))) < 1e-10


def test_peak_reflectance_is_tanh_squared():
    """R_max = tanh^2(kappa L) at the design wavelength (sigma^ = 0), kappa = pi delta_n / lambda."""
    for dn, M in ((1e-4, 50), (3e-5, 13), (4e-4, 333)):
        R = tmm.reflectance([LAMBDA_D], *uniform_sections(M, dn=dn), LENGTH / M)[0, 0]
        expected = math.tanh(math.pi * dn / LAMBDA_D * LENGTH) ** 2
        assert abs(R - expected) < 1e-12, (dn, R, expected)


def first_zeros_closed_form(n=N_EFF, lam_d=LAMBDA_D, dn=DELTA_N, L=LENGTH):
    """Wavelengths of the first reflection zeros: gamma L = i pi, i.e. sigma^2 - kappa^2 = (pi/L)^2."""
    def f(lam):
        return (2 * math.pi * n * (1 / lam - 1 / lam_d)) ** 2 - (math.pi * dn / lam) ** 2 - (math.pi / L) ** 2
    half = 2e-9
    return brentq(f, lam_d - half, lam_d - 1e-13, xtol=1e-22), brentq(f, lam_d + 1e-13, lam_d + half, xtol=1e-22)


def test_first_zero_bandwidth_equals_closed_form():
    """The zeros of the TMM reflection amplitude next to the main lobe are the closed-form zeros.

    For a uniform grating conj(B) = i kappa sinh(gamma L)/gamma: its imaginary part is real-valued
    on both sides of the band edge and changes sign at each zero of R, so brentq finds the zeros
    of the computed spectrum to machine precision.
    """
    M = 40

    def im_b(lam):
        A, B = tmm.transfer_matrix([lam], *uniform_sections(M), LENGTH / M)
        return float(np.conj(B[0, 0]).imag)

    lo, hi = first_zeros_closed_form()
    found_lo = brentq(im_b, lo - 20e-12, lo + 20e-12, xtol=1e-22)
    found_hi = brentq(im_b, hi - 20e-12, hi + 20e-12, xtol=1e-22)
    width = hi - lo
    assert abs((found_hi - found_lo) - width) / width < 1e-10
    assert abs(found_lo - lo) < 1e-10 * width and abs(found_hi - hi) < 1e-10 * width
    # Erdogan's eq. 23 approximation of the same width (kappa taken at lambda_D): within 0.1 %
    approx = LAMBDA_D * DELTA_N / N_EFF * math.sqrt(1 + (LAMBDA_D / (DELTA_N * LENGTH)) ** 2)
    assert abs(width - approx) / approx < 1e-3
    # and the sampled spectrum has its minima next to the main lobe within one sample of them
    lam = np.arange(1549.5e-9, 1550.5e-9, 1e-13)
    R = tmm.reflectance(lam, *uniform_sections(M), LENGTH / M)[0]
    centre = int(np.argmax(R))
    left = centre - int(np.argmax(np.diff(R[centre::-1]) > 0))
    right = centre + int(np.argmax(np.diff(R[centre:]) > 0))
    assert abs(lam[left] - lo) <= 1e-13 and abs(lam[right] - hi) <= 1e-13


def random_grating(rng, P=2, M=23):
    bragg = LAMBDA_D + rng.normal(0, 0.3e-9, (P, M))
    index = N_EFF + rng.normal(0, 2e-4, (P, M))
    coupling = np.pi * 1.5e-4 * rng.uniform(0.1, 1.0, M)
    return bragg, index, coupling


def test_vectorised_kernel_equals_plain_loop():
    """Non-uniform sections, two polarisations, wavelengths inside and outside every local stop
    band: the vectorised kernel (tan route, blocks) and the plain complex loop agree."""
    rng = np.random.default_rng(7)
    bragg, index, coupling = random_grating(rng)
    lam = np.linspace(1548e-9, 1552e-9, 257)
    dz = LENGTH / bragg.shape[1]
    R_loop, r_loop = tmm.reflectance_loop(lam, bragg, index, coupling, dz, amplitude=True)
    for workers in (1, 3):
        R, r = tmm.reflectance(lam, bragg, index, coupling, dz, amplitude=True, workers=workers)
        assert np.max(np.abs(R - R_loop)) < 1e-12
        assert np.max(np.abs(r - r_loop)) < 1e-11
    assert R_loop.max() > 0.3          # the comparison covers strong reflection too


def test_processes_and_chunks_give_identical_results(monkeypatch):
    """Splitting the wavelengths between processes and L2-sized pieces changes nothing."""
    rng = np.random.default_rng(3)
    bragg, index, coupling = random_grating(rng, M=300)
    lam = np.linspace(1548e-9, 1552e-9, 4001)
    dz = LENGTH / 300
    one = tmm.reflectance(lam, bragg, index, coupling, dz, workers=1, kernel="numpy")
    monkeypatch.setattr(tmm, "_CHUNK_ELEMENTS", 1000)
    monkeypatch.setattr(tmm, "_BLOCK_ELEMENTS", 5000)
    two = tmm.reflectance(lam, bragg, index, coupling, dz, workers=2, kernel="numpy")
    assert np.array_equal(one, two)
    if fastkernel.available():
        monkeypatch.setattr(tmm, "_MIN_PARALLEL_ELEMENTS", 1)
        one = tmm.reflectance(lam, bragg, index, coupling, dz, workers=1, kernel="numba")
        two = tmm.reflectance(lam, bragg, index, coupling, dz, workers=2, kernel="numba")
        assert np.array_equal(one, two)


@pytest.mark.skipif(not fastkernel.available(), reason="numba not installed")
@pytest.mark.parametrize("case", ["random", "one long section", "strong", "wide window"])
def test_numba_kernel_equals_numpy_kernel(case):
    """The compiled kernel (series in (gamma dz)^2, argument doubling) against the numpy reference
    (tan half-angle, cosh/sinh in the stop band): transfer matrices to ~1e-12, across short and
    long sections (|gamma dz| from 1e-3 to ~60), inside and outside the stop bands."""
    rng = np.random.default_rng(11)
    lam = np.linspace(1548e-9, 1552e-9, 1501)
    if case == "random":
        bragg, index, coupling = random_grating(rng, M=120)
        dz = LENGTH / 120
    elif case == "one long section":                       # |gamma dz| up to ~60 at the window's ends
        bragg, index, coupling = uniform_sections(1)
        dz = LENGTH
    elif case == "strong":                                 # kappa L ~ 20: cosh of large arguments
        bragg, index, coupling = uniform_sections(40, dn=1e-3)
        dz = LENGTH / 40
    else:
        bragg, index, coupling = random_grating(rng, M=30)
        lam = np.linspace(1450e-9, 1650e-9, 2001)
        dz = LENGTH / 30
    A0, B0 = tmm.transfer_matrix(lam, bragg, index, coupling, dz, workers=1, kernel="numpy")
    A1, B1 = tmm.transfer_matrix(lam, bragg, index, coupling, dz, workers=1, kernel="numba")
    scale = np.abs(A0)             # the phases of A, B far from resonance (hundreds of radians over
    assert np.max(np.abs(A1 - A0) / scale) < 5e-12     # the grating) carry rounding of ~1e-12 in both
    assert np.max(np.abs(B1 - B0) / scale) < 5e-12
    R0 = tmm.reflectance(lam, bragg, index, coupling, dz, kernel="numpy")
    R1 = tmm.reflectance(lam, bragg, index, coupling, dz, kernel="numba")
    assert np.max(np.abs(R1 - R0)) < 1e-12
    assert R0.max() > 0.5


def test_kernel_choice():
    with pytest.raises(ValueError, match="kernel"):
        tmm.reflectance(np.array([1550e-9]), *uniform_sections(1), LENGTH, kernel="fortran")
    assert tmm.default_kernel() in tmm.KERNELS


def test_map_in_processes_keeps_order_and_survives_failing_or_stuck_workers():
    """Run in a fresh interpreter: earlier tests of the suite load mpi4py, and with MPI loaded
    the pool (rightly) never forks, which would leave the forking path untested."""
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(Path(__file__).parents[1]), str(Path(__file__).parent)]))
    for var in ("PMI_RANK", "OMPI_COMM_WORLD_RANK", "PMIX_RANK"):
        env.pop(var, None)
    proc = subprocess.run([sys.executable, "-c", "import test_fbg_tmm as t; t.fork_checks()"], env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "fork checks passed"


def fork_checks():
    """The assertions of the test above, run where mpi4py is not loaded."""
    assert "mpi4py" not in sys.modules
    parent = os.getpid()
    results = map_in_processes(lambda i: (os.getpid() != parent, 2 * i), [1, 2, 3])
    assert [r[1] for r in results] == [2, 4, 6]
    assert results[0][0] is False and all(r[0] for r in results[1:])      # forked workers did 2 and 3

    def fails_in_children(i):
        if os.getpid() != parent:
            raise RuntimeError("worker failure")
        return 10 * i
    assert map_in_processes(fails_in_children, [1, 2, 3]) == [10, 20, 30]

    os.environ["OMPI_COMM_WORLD_RANK"] = "0"                              # under mpirun: no forking
    assert all(r[0] is False for r in map_in_processes(lambda i: (os.getpid() != parent, i), [1, 2]))
    del os.environ["OMPI_COMM_WORLD_RANK"]

    def stuck_in_children(i):
        if os.getpid() != parent:
            time.sleep(60)
        return 10 * i
    parallel.PATIENCE_EXTRA_S = 0.5
    t0 = time.monotonic()
    assert map_in_processes(stuck_in_children, [1, 2]) == [10, 20]
    assert time.monotonic() - t0 < 10
    print("fork checks passed")


def test_lossless_transfer_matrix():
    """|A|^2 - |B|^2 = 1 (R + T = 1) for a non-uniform grating."""
    rng = np.random.default_rng(11)
    bragg, index, coupling = random_grating(rng, M=150)
    A, B = tmm.transfer_matrix(np.linspace(1549e-9, 1551e-9, 999), bragg, index, coupling, LENGTH / 150)
    assert np.max(np.abs(np.abs(A) ** 2 - np.abs(B) ** 2 - 1)) < 1e-9 * np.max(np.abs(A) ** 2)


def test_weak_gaussian_apodized_grating_is_fourier_transform_of_coupling():
    """Weak grating, first-order Born limit: r(sigma^) = integral kappa(z) exp(2 i sigma^ z) dz.

    Gaussian kappa(z) = kappa0 exp(-4 ln2 z^2 / F^2) = kappa0 exp(-z^2 / (2 s^2)) gives
    R = kappa0^2 2 pi s^2 exp(-4 sigma^2 s^2); F = L/4, so the truncation at +-L/2 is negligible.
    Next-order terms are O(R) ~ 1e-4 relative; sections of L/400 add O((dz/s)^2) ~ 1e-4.
    """
    from ecmsim.fbg.optics import apodization
    from ecmsim.fbg.parameters import Grating
    dn, M = 2e-6, 400
    grating = Grating(delta_n=dn, apodization="gaussian", gaussian_fwhm_m=LENGTH / 4)
    dz = LENGTH / M
    z = (np.arange(M) + 0.5) * dz - LENGTH / 2
    g = apodization(grating, z)
    lam = np.linspace(1549.2e-9, 1550.8e-9, 801)
    R = tmm.reflectance(lam, np.full((1, M), LAMBDA_D), np.full((1, M), N_EFF), np.pi * dn * g, dz)[0]
    s = (LENGTH / 4) / (2 * math.sqrt(2 * math.log(2)))
    sigma = 2 * np.pi * N_EFF * (1 / lam - 1 / LAMBDA_D)
    kappa0 = np.pi * dn / lam
    born = kappa0 ** 2 * 2 * np.pi * s ** 2 * np.exp(-4 * sigma ** 2 * s ** 2)
    visible = born > 1e-3 * born.max()
    assert np.max(np.abs(R[visible] / born[visible] - 1)) < 2e-3
    assert abs(lam[np.argmax(R)] - LAMBDA_D) <= 1e-12


def test_combine_polarisations():
    R_x, R_y = np.array([0.8, 0.1]), np.array([0.2, 0.6])
    assert np.allclose(tmm.combine_polarisations(R_x, R_y, None, 0.3), 0.5 * (R_x + R_y), atol=0)
    assert np.allclose(tmm.combine_polarisations(R_x, R_y, 0.3, 0.3), R_x, atol=0)
    assert np.allclose(tmm.combine_polarisations(R_x, R_y, 0.3 + np.pi / 2, 0.3), R_y, atol=0)
    mixed = tmm.combine_polarisations(R_x, R_y, np.pi / 3, 0.0)
    assert np.allclose(mixed, 0.25 * R_x + 0.75 * R_y, atol=0)
