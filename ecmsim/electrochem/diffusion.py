"""Li diffusion along the electrode/electrolyte interface, driven by the contact pressure
(``cycling.interface_diffusion_m3_s``, contact windows; docs/electrochem.md, interface diffusion).

An atom of Li at a facet that carries the contact pressure p has the chemical potential mu = mu_0 + Omega_a p
(Omega_a = V_m / N_A; an open facet, a free Li surface, has p = 0, curvature neglected). Along the interface the
atoms diffuse down its gradient, a volume flux per unit depth (Herring, Coble)

    J = -(D_i delta_i Omega_a / k_B T) dp/ds = -B dp/ds      [m^2/s],

and the surface moves by dh/dt = -dJ/ds = B d^2 p/ds^2: Li leaves the contacts that carry the most pressure for
their neighbours and the open facets beside them, where it closes the gap. D_i delta_i [m^3/s] is the interface's
diffusion coefficient times its width.

On the facets (the window's interface samples, ordered by shared vertices): (L h)_k = (1/L_k) sum_j (p_j - p_k)
/ d_kj over the facets j that share a vertex with k, d_kj the distance of the midpoints. Sum_k L_k dh_k = 0 to
round-off: diffusion moves Li, it neither plates nor strips it. The pressure follows the moved Li at once
(elastically): explicit steps would be stable only below dt ~ d^3 / (B E*), seconds at a 1 um facet, so the step
is linearly implicit, p_new = p + K dh, with K the stiffness of two elastic half-spaces pressed together over the
window's width W with mirror sides: a surface wave cos(k x) of amplitude h carries p = E* k h / 2, so
K = sum_m (E* k_m / 2) phi_m <phi_m, .> / <phi_m, phi_m> over the cosines phi_m = cos(k_m (x - x_0)), k_m = m pi / W,
m = 1 ... M (M = W / the shortest facet, at most 4 per facet), with x the facets' midpoints projected on the
window's width and the facet lengths as weights, restricted to the closed facets (an open facet carries no
pressure):

    (I - dt B L K_c) dh = dt B L p        (backward Euler in the half-space's pressure; first order in dt).

This is the window's own response only approximately (finite thickness, creep that relaxes the pressure, a
curved interface), and only the step's lag depends on it: the pressure p of every step is the FE's.
"""

from __future__ import annotations

import numpy as np

from ecmsim.core.constants import GAS_CONSTANT_J_PER_MOL_K


def facet_neighbours(x: np.ndarray, y: np.ndarray, normal: np.ndarray, length: np.ndarray) -> np.ndarray:
    """(M, 2) pairs (k, j), k < j, of interface facets that share a vertex. The vertices are rebuilt from the
    midpoint, the normal and the length (the tangent is the normal turned by -90 degrees)."""
    from scipy.spatial import cKDTree

    t = np.column_stack([normal[:, 1], -normal[:, 0]]) * (0.5 * length)[:, None]
    mid = np.column_stack([x, y])
    ends = np.vstack([mid - t, mid + t])
    owner = np.concatenate([np.arange(len(x)), np.arange(len(x))])
    pairs = cKDTree(ends).query_pairs(1e-6 * float(length.min()), output_type="ndarray")
    k, j = owner[pairs[:, 0]], owner[pairs[:, 1]]
    keep = k != j
    out = np.unique(np.sort(np.column_stack([k[keep], j[keep]]), axis=1), axis=0)
    return out.reshape(-1, 2)


class InterfaceDiffusion:
    """The pressure-driven diffusion of Li along a window's interface (module docstring).

    Args:
        x, y, normal, length: the facets' midpoints [m], unit normals and lengths [m] (every rank the same).
        diffusion_m3_s: D_i delta_i, the interface's diffusion coefficient times its width [m^3/s] (> 0).
        temperature_K: T [K].
        molar_volume_m3_mol: V_m of Li [m^3/mol] (Omega_a = V_m / N_A).
        contact_modulus_Pa: E* of the electrode/electrolyte pair, 1/E* = (1 - nu_1^2)/E_1 + (1 - nu_2^2)/E_2 [Pa]:
            the half-space stiffness K of the linearly implicit step.
    """

    def __init__(self, x, y, normal, length, *, diffusion_m3_s: float, temperature_K: float,
                 molar_volume_m3_mol: float, contact_modulus_Pa: float):
        from scipy.sparse import coo_matrix

        if not diffusion_m3_s > 0:
            raise ValueError(f"interface diffusion D_i delta_i must be > 0 m^3/s, got {diffusion_m3_s}")
        self.length = np.asarray(length, dtype=float)
        #: B = D_i delta_i Omega_a / (k_B T) = D_i delta_i V_m / (R T) [m^6/(J s)]
        self.mobility = float(diffusion_m3_s) * molar_volume_m3_mol / (GAS_CONSTANT_J_PER_MOL_K * temperature_K)
        self.stiffness = _half_space_stiffness(np.asarray(x, float), np.asarray(normal, float), self.length,
                                               float(contact_modulus_Pa))
        self.pairs = facet_neighbours(np.asarray(x, float), np.asarray(y, float), np.asarray(normal, float),
                                      self.length)
        k, j = self.pairs[:, 0], self.pairs[:, 1]
        mid = np.column_stack([x, y])
        w = 1.0 / np.linalg.norm(mid[k] - mid[j], axis=1)
        n = len(self.length)
        # the graph Laplacian G (symmetric, rows sum to 0); L = diag(1/L_k) G
        G = coo_matrix((np.concatenate([w, w, -w, -w]),
                        (np.concatenate([k, j, k, j]), np.concatenate([j, k, k, j]))), shape=(n, n)).tocsr()
        self._G = G
        self._lap = G.toarray() / self.length[:, None]      # L, dense: the step solves with it anyway

    def laplacian(self, p: np.ndarray) -> np.ndarray:
        """(L p)_k = (1/L_k) sum_j (p_j - p_k) / d_kj [Pa/m^2]."""
        return (self._G @ p) / self.length

    def step(self, pressure_Pa: np.ndarray, closed: np.ndarray, dt_s: float) -> np.ndarray:
        """dh [m]: the surface's move by diffusion over dt with the pressure p_k of the last accepted state
        (p = 0 on open facets), linearly implicit in p (module docstring). Sum_k L_k dh_k = 0."""
        if dt_s <= 0:
            return np.zeros_like(self.length)
        closed = np.asarray(closed, dtype=bool)
        p = np.where(closed, np.maximum(pressure_Pa, 0.0), 0.0)
        a = dt_s * self.mobility
        K = self.stiffness * (closed[:, None] & closed[None, :])
        A = np.eye(len(p)) - a * (self._lap @ K)
        return np.linalg.solve(A, a * (self._lap @ p))


def _half_space_stiffness(x: np.ndarray, normal: np.ndarray, length: np.ndarray, modulus_Pa: float) -> np.ndarray:
    """K [Pa/m] (N x N): the pressure at each facet per unit move of every facet's surface, for two elastic
    half-spaces over the window's width with mirror sides (module docstring)."""
    half = 0.5 * np.abs(normal[:, 1]) * length        # half the facet's projected width
    x0, x1 = float((x - half).min()), float((x + half).max())
    width = x1 - x0
    # waves down to the shortest facet, at most 4 per facet (a window of 0.1 um facets over millimetres)
    m = np.arange(1, min(int(np.ceil(width / float(length.min()))), 4 * len(x)) + 1)
    k = m * np.pi / width
    phi = np.cos(np.outer(x - x0, k))                 # (N, M)
    # <phi_m, phi_m> = W / 2 with the facet lengths as weights (exact for a flat, uniform interface)
    return (phi * (modulus_Pa * k / width)) @ (phi.T * length[None, :])


__all__ = ["InterfaceDiffusion", "facet_neighbours"]
