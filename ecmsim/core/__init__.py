"""Infrastructure every stage uses, and that knows no physics.

- :mod:`~ecmsim.core.errors`: errors meant for people (one line, exit status 2).
- :mod:`~ecmsim.core.fem`: the one import of dolfinx / petsc4py / mpi4py, solver options.
- :mod:`~ecmsim.core.constants`: physical constants (SI).
- :mod:`~ecmsim.core.progress`, :mod:`~ecmsim.core.interrupt`: progress lines, Ctrl-C in compiled code.
- :mod:`~ecmsim.core.figures`: matplotlib without a screen, titles, drawing that warns instead of failing.
- :mod:`~ecmsim.core.version`: the package version.
"""
