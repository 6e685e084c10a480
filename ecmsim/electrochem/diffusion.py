"""Li diffusion along the electrode/electrolyte interface, driven by the contact pressure
(``cycling.interface_diffusion_m3_s``, contact windows; docs/electrochem.md, interface diffusion).

An atom of Li at a facet that carries the contact pressure p has the chemical potential mu = mu_0 + Omega_a p
(Omega_a = V_m / N_A; an open facet, a free Li surface, has p = 0; the deposit's curvature: below). Along the interface the
atoms diffuse down its gradient, a volume flux per unit depth (Herring, Coble)

    J = -(D_i delta_i Omega_a / k_B T) dp/ds = -B dp/ds      [m^2/s],

and the surface moves by dh/dt = -dJ/ds = B d^2 p/ds^2: Li leaves the contacts that carry the most pressure for
their neighbours and the open facets beside them, where it closes the gap. D_i delta_i [m^3/s] is the interface's
diffusion coefficient times its width. With an interface energy gamma [J/m^2] the deposit's curvature adds to the
chemical potential (Herring, Mullins): mu / Omega_a = p - gamma d^2h/ds^2 (a bump of plated Li is convex, d^2h/ds^2
< 0 on top: Li leaves it), so dh/dt = B d^2/ds^2 (p - gamma d^2h/ds^2); a wave of wave number k flattens at
B gamma k^4. Only the deposit h is curved here: the meshed interface's own curvature is left out.

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

    (I - dt B L K_c) dh = dt B L (p + K_c dh_e)   (backward Euler in the half-space's pressure; first order in dt),

with dh_e the surface's move by plating and stripping in the same step (the electrochemistry's part, known
before the diffusion's): the pressure that drives the step is the one predicted at its end, from the whole move
dh_e + dh. (With gamma, p reads p - gamma L h and K_c reads K_c - gamma L: the capillary part is exact and
linear.) Without dh_e a steady non-uniform plating v_e(s) is balanced at B L p = -v_e + B L K_c v_e dt, an error
of order dt K_c in the pressure: on the 20 um sinusoid plating at 0.2 mA/cm^2 the spread of the interface normal
stress then jumped between 0.5 and 1.2 MPa from step to step (docs/electrochem.md). With it the balance is
B L p = -v_e whatever K_c and dt.

K_c is the window's own response only approximately (finite thickness, creep that relaxes the pressure, a
curved interface). The step is therefore iterated (coupling iterations, :meth:`InterfaceDiffusion.correct`, called
by the cycling problem after each solve of the mechanics): the residual of backward Euler in the FE's own end
pressure p', R = dh - dt B L p', is corrected by quasi-Newton steps with K_c as the Jacobian and Aitken's
relaxation, until the correction is a small share of the step's move (the converged step is backward Euler in
the coupled problem: diffusion and contact solved together, up to that tolerance).
"""

from __future__ import annotations

import numpy as np
from scipy.linalg import lu_factor, lu_solve

from ecmsim.core.constants import GAS_CONSTANT_J_PER_MOL_K

#: The coupling iterations of a step (CyclingProblem.iterate) stop once their correction is below this share of
#: the step's move (plating and diffusion) times the protocol's error tolerance [-].
COUPLING_TOLERANCE = 0.2


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
        interface_energy_J_m2: gamma of the deposit's surface [J/m^2]: mu / Omega_a = p - gamma d^2h/ds^2 (0: none).
    """

    def __init__(self, x, y, normal, length, *, diffusion_m3_s: float, temperature_K: float,
                 molar_volume_m3_mol: float, contact_modulus_Pa: float, interface_energy_J_m2: float = 0.0):
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
        #: gamma [J/m^2]: the deposit's curvature -d^2h/ds^2 = -L h raises mu / Omega_a by -gamma L h
        self.interface_energy = float(interface_energy_J_m2)
        self._cap = self.interface_energy * self._lap

    def laplacian(self, p: np.ndarray) -> np.ndarray:
        """(L p)_k = (1/L_k) sum_j (p_j - p_k) / d_kj [Pa/m^2]."""
        return (self._G @ p) / self.length

    def step(self, pressure_Pa: np.ndarray, closed: np.ndarray, dt_s: float,
             moved_m: np.ndarray | None = None, surface_m: np.ndarray | None = None) -> np.ndarray:
        """dh [m]: the surface's move by diffusion over dt with the pressure p_k of the last accepted state
        (p = 0 on open facets), linearly implicit in p (module docstring). Sum_k L_k dh_k = 0.

        moved_m: dh_e [m], the surface's move by plating and stripping in the same step (> 0 towards the
        electrolyte), predicted into the pressure as K_c dh_e; None: no other move.
        surface_m: h [m], the deposit's surface at the start of the step (live Li and porous dead Li): its
        curvature enters mu with the interface energy (implicitly, with the step's moves); None: flat."""
        if dt_s <= 0:
            return np.zeros_like(self.length)
        closed = np.asarray(closed, dtype=bool)
        p = np.where(closed, np.maximum(pressure_Pa, 0.0), 0.0)
        self._a = a = dt_s * self.mobility
        # mu / Omega_a answers a move dh by K_c dh (elastic, closed facets) - gamma L dh (capillary, everywhere)
        self._K = K = self.stiffness * (closed[:, None] & closed[None, :]) - self._cap
        # (I - dt B L K), factorised once: the coupling iterations' corrections solve with it again
        self._A_lu = lu_factor(np.eye(len(p)) - a * (self._lap @ K))
        #: the step's move by plating (dh_e) and by diffusion so far (dh), and the surface it started from [m]
        self.moved_e = np.zeros_like(p) if moved_m is None else np.asarray(moved_m, dtype=float)
        self.surface = np.zeros_like(p) if surface_m is None else np.asarray(surface_m, dtype=float)
        self._r, self._omega = None, 1.0         # the coupling iterations' last correction and relaxation
        mu = p - self._cap @ self.surface + self._load(K, self.moved_e)
        self.moved = lu_solve(self._A_lu, a * (self._lap @ mu))
        #: mu / Omega_a predicted at the step's end, p - gamma L h + K (dh_e + dh) [Pa]
        self.predicted_Pa = mu + self._load(K, self.moved)
        return self.moved.copy()

    def correct(self, pressure_end_Pa: np.ndarray, closed_end: np.ndarray) -> np.ndarray:
        """d [m]: the quasi-Newton correction of the last step's move once its end pressure p' (the FE's; 0 on
        open facets) is known, mu' / Omega_a = p' - gamma L h' with the step's end surface h' (exact). The
        residual of backward Euler in mu' is R = dh - dt B L mu' / Omega_a = dt B L (mu_pred - mu') / Omega_a;
        (I - dt B L K) d = -R, relaxed by Aitken's factor omega (from the last two corrections of the step), and
        the prediction moves so that dh = dt B L mu_pred / Omega_a holds again. Without the relaxation it
        converges while the window is at most twice as stiff as K_c, slowly where it is much softer (creep)."""
        p_end = np.where(np.asarray(closed_end, bool), np.maximum(pressure_end_Pa, 0.0), 0.0)
        mu_end = p_end - self._cap @ (self.surface + self.moved_e + self.moved)
        r = lu_solve(self._A_lu, self._a * (self._lap @ (mu_end - self.predicted_Pa)))
        if self._r is not None:      # Aitken: the relaxation that the last two corrections ask for
            dr = r - self._r
            den = float(np.dot(self.length, dr * dr))
            if den > 0:
                self._omega = float(np.clip(-self._omega * np.dot(self.length, self._r * dr) / den, 0.1, 20.0))
        self._r = r
        d = self._omega * r
        self.moved = self.moved + d
        # dh = dt B L mu_pred holds again with mu_pred + omega (mu' - mu_pred) + K d
        self.predicted_Pa = self.predicted_Pa + self._omega * (mu_end - self.predicted_Pa) + self._load(self._K, d)
        return d

    def _load(self, K: np.ndarray, move: np.ndarray) -> np.ndarray:
        """K_c move [Pa]; a uniform move loads no wave (m >= 1), so its discrete residue is left out."""
        return K @ (move - np.dot(move, self.length) / self.length.sum())


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


__all__ = ["InterfaceDiffusion", "facet_neighbours", "COUPLING_TOLERANCE"]
