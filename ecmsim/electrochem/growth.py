"""The growth of a facet spread over the deposition layer along the interface (``cycling.growth_smoothing_length_m``).

:func:`smoothing_operator` S[q, k]: the share of facet k's growth at layer point q, a Gaussian of width s along
the interface, exp(-(D_qk^2 - d_q^2) / 2 s^2) with D_qk the distance from q to facet k's midpoint and d_q the
distance to the nearest one (for a flat interface D^2 - d^2 is the distance along it squared, at any depth),
weighted by the facet length. Its rows sum exactly to 1 (a uniform plated thickness gives the nearest-facet
rule's uniform eigenstrain), and its columns, weighted by the points' quadrature weights, to the layer area A_k
of each facet (every facet's plated volume lands in the layer, as with the nearest-facet rule) as far as
alternating scalings (Sinkhorn, ending on the rows) get in 200 rounds (docs/electrochem.md).
"""

from __future__ import annotations

import numpy as np

from ecmsim.core.fem import MPI


def smoothing_operator(points: np.ndarray, tree, x: np.ndarray, y: np.ndarray, length: np.ndarray, s: float,
                       weights: np.ndarray, target: np.ndarray, comm) -> tuple[object, float]:
    """(S, column error): the sparse operator of the module docstring and the largest |column - A_k| / max A_k
    the scalings left.

    Args:
        points: the layer's quadrature points (N, 2) [m] on this rank.
        tree: a cKDTree of the facet midpoints (x, y) [m], the same on every rank.
        x, y, length: facet midpoints and lengths [m].
        s: the Gaussian's width [m] (> 0).
        weights: quadrature weights of the points [m²], 0 where another rank owns the point.
        target: A_k, the layer area of each facet [m²] (summed over the ranks).
        comm: the MPI communicator of the window.
    """
    from scipy.sparse import csr_matrix

    d = tree.query(points)[0]
    near = tree.query_ball_point(points, np.sqrt(d ** 2 + (3.0 * s) ** 2) * (1 + 1e-12))
    rows = np.repeat(np.arange(len(points)), [len(n) for n in near])
    cols = np.fromiter((k for n in near for k in n), dtype=np.int64, count=len(rows))
    D2 = (points[rows, 0] - x[cols]) ** 2 + (points[rows, 1] - y[cols]) ** 2
    data = np.exp(-0.5 * np.maximum(D2 - d[rows] ** 2, 0.0) / s ** 2) * length[cols]
    S = csr_matrix((data, (rows, cols)), shape=(len(points), len(x)))

    def unit_rows(S):
        return csr_matrix(S.multiply(1.0 / np.maximum(np.asarray(S.sum(axis=1)).ravel(), 1e-300)[:, None]))

    S = unit_rows(S)
    for _ in range(200):
        col = comm.allreduce(np.asarray(S.T @ weights).ravel(), op=MPI.SUM)
        worst = float(np.max(np.abs(col - target)) / max(float(target.max()), 1e-300))
        if worst < 1e-8:
            break
        S = unit_rows(S.multiply(np.where(col > 0, target / np.where(col > 0, col, 1.0), 1.0)[None, :]))
    return S, worst


__all__ = ["smoothing_operator"]
