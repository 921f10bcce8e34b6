"""Errors that library code raises and the CLI turns into one clear line and an exit code."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    OK = 0
    FAILURE = 1  # the work could not be done (I/O, database, a crawl that could not run)
    USAGE = 2  # bad arguments or invalid input: nothing was written


class GovpulseError(Exception):
    """Base error. `message` says what went wrong and where; `hint` what to do about it."""

    exit_code: ExitCode = ExitCode.FAILURE

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint


class ValidationError(GovpulseError):
    """Input that cannot be accepted (a malformed id, an unknown unit, a bad roster row)."""

    exit_code = ExitCode.USAGE


class NotFoundError(ValidationError):
    """A name or id that matches nothing in the registry."""


class ConflictError(ValidationError):
    """The change would break a rule of the registry (duplicate account, unit with children...)."""


class RowError(ValidationError):
    """One or more bad rows of an imported file. `problems` lists (row, column, value, what)."""

    def __init__(self, message: str, problems: list[tuple[int, str, str, str]], *, hint: str | None = None):
        super().__init__(message, hint=hint)
        self.problems = problems


class LockedError(GovpulseError):
    """Another process holds the lock this work needs."""
