"""The simulator's error responses: one exception type carrying status, message and field errors.

Handlers raise ``ApiError``; the middleware renders it as the simulator's error body
``{"message": ..., "errors": [{"field": ..., "message": ...}]}`` (docs/cloud-api.md §5).
"""

from __future__ import annotations

from collections.abc import Sequence

from syncer.simulator.resources import Violation


class ApiError(Exception):
    def __init__(self, status: int, message: str, errors: Sequence[Violation] = ()) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = tuple(errors)

    def body(self) -> dict[str, object]:
        return {
            "message": self.message,
            "errors": [{"field": e.field, "message": e.message} for e in self.errors],
        }


def invalid(errors: Sequence[Violation]) -> ApiError:
    return ApiError(400, "The request is invalid.", errors)


def not_found(kind: str, guid: str) -> ApiError:
    return ApiError(404, f"Nothing in {kind} has CWGuid {guid}.")
