"""ecmsim runs numpy's BLAS on one thread per process unless the user set a thread count
(ecmsim/core/threads.py; the measurements are in docs/benchmarks.md)."""

import json
import os
import subprocess
import sys

import pytest

from ecmsim.core.threads import BLAS_THREAD_VARIABLES

PROBE = """
import json, sys
{first}
from threadpoolctl import threadpool_info
print(json.dumps(sorted({{i["num_threads"] for i in threadpool_info() if i["user_api"] == "blas"}})))
"""


def _blas_threads(first: str, **env: str) -> list[int]:
    clean = {k: v for k, v in os.environ.items() if k not in BLAS_THREAD_VARIABLES}
    out = subprocess.run([sys.executable, "-c", PROBE.format(first=first)], env={**clean, **env},
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


@pytest.mark.parametrize("first", ["import ecmsim, numpy", "import numpy, ecmsim"])
def test_one_blas_thread_after_importing_ecmsim(first):
    """Whether numpy comes before or after ecmsim, every BLAS numpy loaded runs one thread."""
    assert _blas_threads(first) == [1]


def test_the_users_thread_count_is_kept():
    """A thread variable set by the user wins (here 2 threads, more than ecmsim would choose)."""
    assert _blas_threads("import ecmsim, numpy", OPENBLAS_NUM_THREADS="2") == [2]


def test_without_ecmsim_numpy_would_use_more_threads():
    """The probe can see the difference: numpy alone takes a thread per core on this machine."""
    if (os.cpu_count() or 1) < 2:
        pytest.skip("one core: numpy's default is one thread too")
    assert max(_blas_threads("import numpy")) > 1
