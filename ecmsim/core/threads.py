"""One BLAS thread per process unless the user says otherwise.

ecmsim's dense linear algebra is small (the interface diffusion's N x N systems, N = the interface facets,
10^2-10^3; the fibre's 2 x 2 transfer matrices), and its parallelism is MPI ranks, sweep workers or
pytest workers, one per core. A multi-threaded BLAS then only competes with them: numpy's OpenBLAS
runs a thread per core for a large enough call. On the 2-core machine with the other core busy a
128 x 128 ``numpy.linalg.solve`` took 2.4 ms on numpy's default against 0.11 ms on one thread; with two
threaded runs and a profiler on the two cores it took 52 ms. Whole runs gain little: 1-5 %
(benchmarks/bench_blas_threads.py, docs/benchmarks.md). The dolfinx wheel's own OpenBLAS (under
MUMPS) is single-threaded already.

:func:`limit_blas_threads` sets ``OPENBLAS_NUM_THREADS``, ``MKL_NUM_THREADS`` and
``OMP_NUM_THREADS`` to 1 where none of them is set, before numpy loads its BLAS (the variables are
read once, when the library loads). Importing :mod:`ecmsim` calls it. A user who sets any of the
three keeps their setting for all three; if numpy was imported before ecmsim the limit is applied
through threadpoolctl (a scikit-learn dependency) instead.
"""

from __future__ import annotations

import os
import sys

#: The variables a BLAS reads for its thread count (OpenBLAS, MKL, an OpenMP build of either).
BLAS_THREAD_VARIABLES = ("OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "OMP_NUM_THREADS")


def limit_blas_threads() -> bool:
    """One BLAS thread per process, unless a thread variable is set already. True if it limited."""
    if any(os.environ.get(name) for name in BLAS_THREAD_VARIABLES):
        return False
    for name in BLAS_THREAD_VARIABLES:
        os.environ[name] = "1"
    if "numpy" in sys.modules:      # its BLAS has read the environment already
        try:
            from threadpoolctl import threadpool_limits
        except ImportError:         # pragma: no cover - scikit-learn installs it
            return False
        threadpool_limits(limits=1, user_api="blas")
    return True


__all__ = ["BLAS_THREAD_VARIABLES", "limit_blas_threads"]
