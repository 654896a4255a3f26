"""Errors of the routing layer."""


class InvalidProblem(ValueError):
    """A problem whose indices, shapes or values are inconsistent."""


class SolverError(RuntimeError):
    """The solver failed for a reason that is not the problem's fault."""
