"""One exception hierarchy; the CLI turns each into one line and an exit code."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class ErrorLocation:
    path: str
    line: int | None = None
    column: int | None = None

    def __str__(self) -> str:
        parts = [self.path]
        if self.line is not None:
            parts.append(str(self.line))
            if self.column is not None:
                parts.append(str(self.column))
        return ":".join(parts)


class OomlensError(Exception):
    """Root of every error oomlens raises on purpose."""

    def __init__(self, message: str, location: ErrorLocation | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.location = location

    def __str__(self) -> str:
        return f"{self.location}: {self.message}" if self.location else self.message


class InputError(OomlensError):
    """An input cannot be opened, decompressed or read."""


class ParseError(OomlensError):
    """A report block could not be parsed (never escapes the API; becomes a diagnostic)."""


class RuleError(OomlensError):
    """A rule file is invalid."""


class RenderError(OomlensError):
    """A report could not be rendered."""
