"""Reflection spectrum of a non-uniform grating: piecewise-uniform transfer matrix.

Coupled-mode theory of a Bragg grating (T. Erdogan, J. Lightwave Technol. 15, 1277 (1997),
eqs. 7-8, 16-17, 26-27): forward and backward amplitudes R, S obey

    dR/dz = i sigma^ R + i kappa S,     dS/dz = -i sigma^ S - i kappa R,

with, in a uniform section of local Bragg wavelength lambda_B and effective index n,

    sigma^ = 2 pi n (1/lambda - 1/lambda_B)    (DC self-coupling included in lambda_B),
    kappa  = pi v delta_n g(z) / lambda,       gamma^2 = kappa^2 - sigma^^2.

Each section of length dz has the matrix (Erdogan eq. 27) mapping [R, S] at its end to its start

    F = [[C - i sigma^ S_,  -i kappa S_], [i kappa S_,  C + i sigma^ S_]],
    C = cosh(gamma dz),  S_ = sinh(gamma dz) / gamma,

(cos and sin/|gamma| where |sigma^| > kappa), and the grating is F_total = F_1 F_2 ... F_M from the
input end (smallest z) to the far end. With R = 1, S = 0 behind the grating, the reflection
amplitude is r = F_total[1, 0] / F_total[0, 0] and the reflectance |r|^2.

Every F has the form [[a, b], [conj(b), conj(a)]] (lossless: det F = |a|^2 - |b|^2 = 1), and so
does the product: two complex numbers (A, B) per wavelength carry it, r = conj(B) / A.

Vectorisation (see benchmarks/bench_fbg.py): the section matrices are built for blocks of
sections x polarisations x wavelengths in single numpy calls; the product is a loop over the
sections whose body works on all wavelengths and both polarisations at once, in pieces that
stay in a core's L2 cache. cos and sin come from one tangent of the half angle,
cos x = (1 - t^2)/(1 + t^2), sin x = 2t/(1 + t^2), t = tan(x/2): numpy's float64 tan is
vectorised while its sin and cos are not (about 6x faster here).

Parallelism: the wavelength axis is split between forked processes
(:mod:`ecmsim.fbg.parallel` says why not threads, and when everything runs here instead).
"""

from __future__ import annotations

import cmath
import math
import os

import numpy as np

from ecmsim.fbg.parallel import map_in_processes

#: Polarisations x wavelengths carried through the section loop at a time, and sections x
#: polarisations x wavelengths of one block of section matrices: small enough for the arrays
#: to stay in a core's L2 cache, large enough for the numpy call overhead to be small
#: (tuned with benchmarks/bench_fbg.py).
_CHUNK_ELEMENTS = 1 << 13
_BLOCK_ELEMENTS = 1 << 14
#: Below this much work (~15 ms) forking a worker costs more than it saves.
_MIN_PARALLEL_ELEMENTS = 1 << 20
#: Kernels of :func:`transfer_matrix`.
KERNELS = ("numba", "numpy")
#: gamma dz and kappa L above which cosh overflows (e^710): no physical grating comes close
#: (kappa L = 350 means 1 - R ~ 1e-304).
MAX_KAPPA_L = 350.0


def worker_count() -> int:
    """Processes used by :func:`reflectance`: the CPUs this process may run on."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except AttributeError:          # not on Linux
        return max(1, os.cpu_count() or 1)


def reflectance(wavelength_m, bragg_m, index, coupling, dz_m: float, *, workers: int | None = None,
                amplitude: bool = False, kernel: str | None = None):
    """Reflectance of each polarisation over a wavelength grid.

    Args:
        wavelength_m: wavelengths, shape (W,) [m].
        bragg_m: local Bragg wavelength per polarisation and section, shape (P, M) [m], sections
            ordered from the input end.
        index: local effective index, shape (P, M) [-].
        coupling: pi v delta_n g(z) per section, shape (M,) [-] (kappa = coupling / lambda).
        dz_m: section length [m].
        workers: processes sharing the wavelengths (default: :func:`worker_count`; 1: this one).
        amplitude: also return the complex reflection amplitude r.
        kernel: ``"numba"`` (compiled, :mod:`ecmsim.fbg.fastkernel`), ``"numpy"`` (the vectorised
            numpy reference) or None: :func:`default_kernel`.

    Returns:
        R = |r|^2, shape (P, W) [-]; with ``amplitude``, (R, r).
    """
    A, B = transfer_matrix(wavelength_m, bragg_m, index, coupling, dz_m, workers=workers, kernel=kernel)
    R = (B.real ** 2 + B.imag ** 2) / (A.real ** 2 + A.imag ** 2)
    if amplitude:
        return R, np.conj(B) / A
    return R


def default_kernel() -> str:
    """``"numba"`` where numba imports, else ``"numpy"``; the environment variable
    ``ECMSIM_FBG_KERNEL`` (numba or numpy) overrides."""
    chosen = os.environ.get("ECMSIM_FBG_KERNEL", "").strip().lower()
    if chosen in KERNELS:
        return chosen
    from ecmsim.fbg import fastkernel
    return "numba" if fastkernel.available() else "numpy"


def transfer_matrix(wavelength_m, bragg_m, index, coupling, dz_m: float, *, workers: int | None = None,
                    kernel: str | None = None):
    """The grating's transfer matrix F_total = [[A, B], [conj(B), conj(A)]] per polarisation and
    wavelength: returns (A, B), complex arrays of shape (P, W). Arguments as :func:`reflectance`.

    r = conj(B) / A, t = 1 / A, and |A|^2 - |B|^2 = 1 (lossless).
    """
    lam = np.ascontiguousarray(wavelength_m, dtype=float)
    bragg = np.atleast_2d(np.asarray(bragg_m, dtype=float))
    n = np.atleast_2d(np.asarray(index, dtype=float))
    k = np.asarray(coupling, dtype=float)
    P, M = bragg.shape
    if n.shape != (P, M) or k.shape != (M,) or lam.ndim != 1:
        raise ValueError(f"shapes: wavelength {lam.shape}, bragg {bragg.shape}, index {n.shape}, "
                         f"coupling {k.shape}: expected (W,), (P, M), (P, M), (M,)")
    if np.max(np.abs(k)) * M * dz_m / np.min(lam) > MAX_KAPPA_L:
        raise ValueError(f"kappa L > {MAX_KAPPA_L}: grating too strong for float64 transfer matrices")
    W = lam.size
    kernel = default_kernel() if kernel is None else kernel
    if kernel not in KERNELS:
        raise ValueError(f"kernel = {kernel!r}: must be one of {', '.join(KERNELS)}")
    workers = worker_count() if workers is None else max(1, int(workers))
    # the compiled kernel does the same work ~5x faster: forking pays off later
    if P * M * W < _MIN_PARALLEL_ELEMENTS * (4 if kernel == "numba" else 1):
        workers = 1
    if kernel == "numba":
        from ecmsim.fbg import fastkernel
        if not fastkernel.available():
            raise ValueError("kernel = 'numba': numba is not installed (pip install numba)")
        fastkernel.warm_up()                               # compile once, before any fork
        chain = fastkernel.chain
    else:
        chain = _chain
    # sigma^ dz = (2 pi n dz / lambda_B) (lambda_B - lambda) / lambda: the difference of two close
    # wavelengths is exact, so sigma^ keeps full relative precision near resonance
    c = (2.0 * math.pi * dz_m) * n / bragg
    kdz = k * dz_m
    bounds = np.linspace(0, W, workers + 1).astype(int)
    chunks = [slice(a, b) for a, b in zip(bounds[:-1], bounds[1:]) if b > a]
    parts = map_in_processes(lambda chunk: chain(lam[chunk], bragg, c, kdz), chunks)
    A = np.concatenate([a for a, _ in parts], axis=1)
    B = np.concatenate([b for _, b in parts], axis=1)
    return A, B


def _chain(lam: np.ndarray, bragg: np.ndarray, c: np.ndarray, kdz: np.ndarray):
    """(A, B) of F_total = F_1 ... F_M for one worker's wavelengths; shapes (P, W).

    The wavelengths are taken in pieces of about _CHUNK_ELEMENTS / P so that the working set
    of the section loop stays in the core's L2 cache (the passes are memory bound).
    """
    P = bragg.shape[0]
    W = lam.size
    step = max(1, _CHUNK_ELEMENTS // P)
    A = np.empty((P, W), dtype=complex)
    B = np.empty((P, W), dtype=complex)
    for w0 in range(0, W, step):
        w1 = min(W, w0 + step)
        A[:, w0:w1], B[:, w0:w1] = _chain_piece(lam[w0:w1], bragg, c, kdz)
    return A, B


def _chain_piece(lam: np.ndarray, bragg: np.ndarray, c: np.ndarray, kdz: np.ndarray):
    """(A, B) for a few thousand wavelengths: section matrices by blocks, then their product."""
    with np.errstate(invalid="ignore", divide="ignore"):    # 0/0 at gamma = 0, replaced
        return _chain_piece_unguarded(lam, bragg, c, kdz)


def _chain_piece_unguarded(lam, bragg, c, kdz):
    P, M = bragg.shape
    W = lam.size
    inv_lam = 1.0 / lam
    block = max(1, min(M, _BLOCK_ELEMENTS // (P * W)))
    A = np.ones((P, W), dtype=complex)
    B = np.zeros((P, W), dtype=complex)
    An, Bn = np.empty_like(A), np.empty_like(B)
    t1, t2 = np.empty_like(A), np.empty_like(A)
    # block buffers, reused: a = C - i sigma^ S_, ca = conj(a), bb = i kappa S_ (real part 0)
    a_buf = np.empty((block, P, W), dtype=complex)
    ca_buf = np.empty_like(a_buf)
    bb_buf = np.zeros_like(a_buf)
    sd_buf, x_buf, t_buf, d_buf = (np.empty((block, P, W)) for _ in range(4))
    for m0 in range(0, M, block):
        m1 = min(M, m0 + block)
        nb = m1 - m0
        a, ca, bb = a_buf[:nb], ca_buf[:nb], bb_buf[:nb]
        sd, x, t, d = sd_buf[:nb], x_buf[:nb], t_buf[:nb], d_buf[:nb]
        # minus sigma^ dz (the sign is what a's imaginary part needs; x uses its square)
        np.subtract(lam, bragg[:, m0:m1].T[:, :, None], out=sd)
        sd *= c[:, m0:m1].T[:, :, None]
        sd *= inv_lam
        kd = kdz[m0:m1, None] * inv_lam                     # kappa dz, (nb, W)
        # (gamma dz)^2 = (kappa dz)^2 - (sigma^ dz)^2; positive inside the stop band
        np.multiply(sd, sd, out=x)
        np.subtract((kd * kd)[:, None, :], x, out=x)
        inside = np.flatnonzero(x >= 0.0)                   # few: a narrow band per section
        np.abs(x, out=x)
        np.sqrt(x, out=x)                                   # x = |gamma| dz
        np.multiply(x, 0.5, out=t)
        np.tan(t, out=d)
        np.divide(d, t, out=t)                              # tan(x/2) / (x/2) (nan at x = 0, fixed below)
        np.multiply(d, d, out=d)
        d += 1.0                                            # 1 + tan^2(x/2)
        np.divide(2.0, d, out=a.real)
        a.real[...] -= 1.0                                  # cos(x)
        np.divide(t, d, out=d)                              # sin(x) / x
        if inside.size:
            xi = x.take(inside)
            a.real.put(inside, np.cosh(xi))
            d.put(inside, np.divide(np.sinh(xi), xi, out=np.ones_like(xi), where=xi > 0.0))
        np.multiply(d, sd, out=a.imag)                      # -sigma^ S_
        np.conjugate(a, out=ca)
        np.multiply(d, kd[:, None, :], out=bb.imag)         # kappa S_
        for j in range(nb):
            np.multiply(a[j], A, out=t1)
            np.multiply(bb[j], B, out=t2)
            np.add(t1, t2, out=An)
            np.multiply(ca[j], B, out=t1)
            np.multiply(bb[j], A, out=t2)
            np.subtract(t1, t2, out=Bn)
            A, An = An, A
            B, Bn = Bn, B
    return A, B


def reflectance_loop(wavelength_m, bragg_m, index, coupling, dz_m: float, *, amplitude: bool = False):
    """The same spectrum as :func:`reflectance`, written as a plain loop over wavelengths,
    polarisations and sections with a 2x2 matrix product per section (complex cosh/sinh).

    The straightforward way, as the open-source Python simulators do it: kept as the
    reference that the vectorised kernel is tested and benchmarked against.
    """
    lam = np.asarray(wavelength_m, dtype=float)
    bragg = np.atleast_2d(np.asarray(bragg_m, dtype=float))
    n = np.atleast_2d(np.asarray(index, dtype=float))
    k = np.asarray(coupling, dtype=float)
    P, M = bragg.shape
    R = np.empty((P, lam.size))
    r = np.empty((P, lam.size), dtype=complex)
    for p in range(P):
        for w, wl in enumerate(lam):
            F = np.eye(2, dtype=complex)
            for m in range(M):
                sigma = 2.0 * math.pi * n[p, m] * (bragg[p, m] - wl) / (wl * bragg[p, m])
                kappa = k[m] / wl
                gamma = cmath.sqrt(kappa * kappa - sigma * sigma)
                ch = cmath.cosh(gamma * dz_m)
                sh = cmath.sinh(gamma * dz_m) / gamma if gamma != 0 else dz_m
                Fm = np.array([[ch - 1j * sigma * sh, -1j * kappa * sh],
                               [1j * kappa * sh, ch + 1j * sigma * sh]])
                F = F @ Fm
            r[p, w] = F[1, 0] / F[0, 0]
            R[p, w] = abs(r[p, w]) ** 2
    return (R, r) if amplitude else R


def combine_polarisations(R_x, R_y, polarisation_angle_rad: float | None, principal_angle_rad: float):
    """Reflectance seen with the source's polarisation [-].

    Unpolarised (None): R = (R_x + R_y) / 2. Linearly polarised at psi from the fibre's x axis:
    R = cos^2(psi - phi) R_x + sin^2(psi - phi) R_y, phi the principal-axis angle of the "x"
    eigenmode; the two eigenmodes are orthogonal, so their reflected powers add.
    """
    if polarisation_angle_rad is None:
        return 0.5 * (R_x + R_y)
    c2 = math.cos(polarisation_angle_rad - principal_angle_rad) ** 2
    return c2 * R_x + (1.0 - c2) * R_y
