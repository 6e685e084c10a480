"""Open a result folder in Python: ``ecmsim.results.load(DIR)`` (the public name; the code is
:mod:`ecmsim.io.results`)."""

from ecmsim.io.results import *  # noqa: F401,F403
from ecmsim.io.results import __all__  # noqa: F401
