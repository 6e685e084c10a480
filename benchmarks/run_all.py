"""Run every benchmarks/bench_*.py in turn (``make bench``).

Each benchmark prints its own table: timings of the alternatives side by side in one run,
with their ratio, so that a number never depends on which machine ran it alone.
"""

import runpy
import sys
from pathlib import Path

here = Path(__file__).parent
for path in sorted(here.glob("bench_*.py")):
    print(f"== {path.name}", flush=True)
    sys.argv = [str(path)]
    runpy.run_path(str(path), run_name="__main__")
