"""Errors of the geodata layer."""


class TravelDataError(ValueError):
    """Travel settings or data that cannot be used (bad points, bad matrix, bad extract).

    ``field`` names the offending setting relative to the travel options
    (e.g. ``"durations_s[2][3]"``), or is empty.
    """

    def __init__(self, message: str, field: str = "") -> None:
        super().__init__(message)
        self.field = field


class ProviderUnavailable(RuntimeError):
    """A travel provider that could not be reached or answered garbage."""
