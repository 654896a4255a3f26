"""Errors of the dispatch layer: bad requests name the field at fault."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class FieldError:
    """One problem with one field: ``loc`` like ``jobs[3].windows[0]``."""

    loc: str
    code: str
    message: str

    def __str__(self) -> str:
        return f"{self.loc}: {self.message}" if self.loc else self.message


class RequestError(ValueError):
    """A request that cannot be planned as given; carries every field error found."""

    def __init__(self, errors: list[FieldError] | tuple[FieldError, ...]) -> None:
        self.errors = tuple(errors)
        super().__init__(str(self.errors[0]) if self.errors else "invalid request")

    @classmethod
    def single(cls, loc: str, message: str, code: str = "invalid") -> RequestError:
        return cls([FieldError(loc, code, message)])


def format_loc(loc: tuple[str | int, ...] | list[str | int]) -> str:
    """('jobs', 3, 'windows', 0) → 'jobs[3].windows[0]'."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
