"""The error hierarchy of ragbench.

Every error a user can cause derives from :class:`RagbenchError`. The CLI turns these into a
message and exit status 2; the API turns them into a 4xx JSON body. Anything else is a bug.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ragbench.formats.problems import Problem


class RagbenchError(Exception):
    """Base class of every error caused by the user's input or request."""


class InputError(RagbenchError):
    """Bad input: a file, an argument or a request body that cannot be used."""


class FormatError(InputError):
    """A file could not be read; ``problems`` lists every problem found (file, line, column, message)."""

    def __init__(self, problems: Sequence[Problem], more: int = 0) -> None:
        if not problems:
            raise ValueError("FormatError needs at least one problem")
        self.problems = list(problems)
        self.more = more
        head = self.problems[0].render()
        rest = len(self.problems) - 1 + more
        super().__init__(head if rest == 0 else f"{head} (and {rest} more problem{'s' * (rest > 1)})")


class MeasureError(InputError):
    """A measure name could not be parsed or is not supported by any engine."""


class MissingExtraError(RagbenchError):
    """An optional dependency is not installed; the message names the pip command."""


class NotFoundError(RagbenchError):
    """The benchmark, run, user or token named does not exist (HTTP 404)."""


class PermissionDenied(RagbenchError):
    """The user is known but may not do this (HTTP 403): not an admin, not the run's owner."""


class AuthError(RagbenchError):
    """No user, or an unknown or revoked API token (HTTP 401)."""


class ConflictError(RagbenchError):
    """The request clashes with what is stored (HTTP 409): a taken name, a file already submitted."""


class TooLargeError(RagbenchError):
    """An upload is larger than ``RAGBENCH_MAX_UPLOAD_BYTES`` (HTTP 413)."""


class QuotaExceeded(RagbenchError):
    """A submission quota or a rate limit is used up (HTTP 429); ``retry_after`` is the number of
    seconds until it frees up again, None when it never does (a total quota)."""

    def __init__(self, message: str, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.retry_after = retry_after
