"""Errors meant for people.

Every error that a user can cause by their input derives from :class:`EcmsimError`; the
command line prints its message as one line on stderr and exits with status 2. Messages
name the file, the key, the value and what is allowed, e.g.
``scenarios/li.toml: loading.stack_pressure_Pa = -2400000.0: must be > 0 [Pa]``.
"""


class EcmsimError(Exception):
    """Base class of errors caused by input: reported as one line, exit code 2."""


class ScenarioError(EcmsimError):
    """A scenario file or an override is missing, unreadable or invalid."""


class MaterialError(EcmsimError):
    """A material record is unknown or has values outside their physical range."""


class GeometryError(EcmsimError):
    """A geometry cannot be built from the given parameters or image."""


class MeshError(EcmsimError):
    """gmsh could not mesh a geometry, or a mesh file lacks the expected tags."""


class SolverError(EcmsimError):
    """A solve did not converge or produced a non-finite field.

    ``newton_iterations``: the iterations the failed solve spent (the time loop counts them as
    rejected work)."""

    def __init__(self, message: str = "", newton_iterations: int = 0):
        super().__init__(message)
        self.newton_iterations = int(newton_iterations)


class InputFileError(EcmsimError):
    """A data file (profile, spectrum, image) is missing or malformed."""


class OutputError(EcmsimError):
    """A result cannot be written where asked (the folder holds other files, is read-only, ...)."""
