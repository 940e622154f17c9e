"""Errors of single API calls, and how a message is pulled out of whatever body came back.

The error body format is not public (docs/cloud-api.md §5), so the message is extracted
tolerantly; a non-JSON or empty body yields a short raw excerpt or the status text, never a crash.
Messages are built from the response body and the request path only: tokens and secrets travel in
headers and the auth body, and a body that echoes them is masked (``syncer.masking``).
"""

from __future__ import annotations

from http import HTTPStatus

import orjson

from syncer.assumptions import NotFoundAnswer
from syncer.errors import ExitCode, SyncerError
from syncer.masking import mask

DOCUMENTED_NOT_FOUND = NotFoundAnswer()
"""404, whatever the message (docs/cloud-api.md §5)."""
_MESSAGE_KEYS = ("message", "errorMessage", "error_description", "title", "detail", "error")
_MAX_RAW = 300


class ApiError(SyncerError):
    """A request the API answered with an error (or did not answer at all).

    The apply engine settles most of these per row; one that ends a command (a list read during
    ``plan``) exits with the code its status implies, like every other ``SyncerError``.
    """

    def __init__(self, status: int, message: str, method: str, path: str) -> None:
        self.exit_code = exit_code_for(status)
        self.status = status
        self.message = mask(message)
        self.method = method
        self.path = path
        super().__init__(f"{method} {path}: {status} {self.message}")


class Rejected(ApiError):
    """A 4xx other than 401 and 429: the request (the row) is at fault; carries the message."""


class NotFound(Rejected):
    """The object addressed does not exist (any more): a 404, or the answer a firm gives instead
    (``[cloud.api.not_found]``)."""


class Conflict(Rejected):
    """409: a unique key (``EntityNo``, ``Email``) is already taken."""


class OutcomeUnknown(ApiError):
    """A non-idempotent request may or may not have been applied (timeout, dropped connection, 5xx
    after sending); the caller must look the object up before trying again."""


def exit_code_for(status: int) -> ExitCode:
    """A server error or no answer may clear by itself (69); a refusal of the client needs its
    credentials looked at (77); any other 4xx on a command's own request means Cloud does not
    behave as the API promises (76)."""
    if status == 0 or status >= 500 or status == 429:
        return ExitCode.UNREACHABLE
    if status in (401, 403):
        return ExitCode.CREDENTIALS_REJECTED
    return ExitCode.CLOUD_CONTRACT


_REJECTION_TYPES: dict[int, type[Rejected]] = {409: Conflict}


def rejection_for(
    status: int, message: str, not_found: NotFoundAnswer = DOCUMENTED_NOT_FOUND
) -> type[Rejected]:
    """The kind of refusal an answer is; ``not_found`` says which one means "no such object"."""
    if not_found.matches(status, message):
        return NotFound
    return _REJECTION_TYPES.get(status, Rejected)


def _from_json(value: object) -> str | None:
    if isinstance(value, str):
        return value.strip() or None
    if isinstance(value, list):
        parts = [found for item in value if (found := _from_json(item))]
        return "; ".join(parts) or None
    if not isinstance(value, dict):
        return None
    lowered = {str(key).lower(): item for key, item in value.items()}
    for key in _MESSAGE_KEYS:
        found = lowered.get(key.lower())
        if isinstance(found, str) and found.strip():
            message = found.strip()
            details = _field_errors(lowered.get("errors"))
            return f"{message} ({details})" if details and details != message else message
    return _field_errors(lowered.get("errors"))


def _field_errors(errors: object) -> str | None:
    if not isinstance(errors, list):
        return _from_json(errors) if isinstance(errors, dict) else None
    parts: list[str] = []
    for item in errors:
        if isinstance(item, dict):
            lowered = {str(key).lower(): value for key, value in item.items()}
            message = lowered.get("message")
            name = lowered.get("field")
            if isinstance(message, str):
                parts.append(f"{name}: {message}" if isinstance(name, str) and name else message)
        elif isinstance(item, str):
            parts.append(item)
    return "; ".join(parts) or None


def extract_message(status: int, body: bytes) -> str:
    """The most useful human message in an error body, whatever its shape."""
    text = body.decode("utf-8", errors="replace").strip()
    if text:
        try:
            found = _from_json(orjson.loads(text))
        except orjson.JSONDecodeError:
            found = None
        if found:
            return found[:_MAX_RAW]
        if not text.startswith(("{", "[")):
            return text[:_MAX_RAW]
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "error"
