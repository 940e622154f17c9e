"""What came back: a response's JSON, and the objects in it once they keep the API's promises.

Every answer is checked (``syncer.cloud.shapes``) before syncer uses it, and the firm's field
renames (``[cloud.api] field_names``) are undone here, so the rest of syncer sees the documented
API whatever the firm's dialect.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from syncer.assumptions import FieldNames, NotFoundAnswer
from syncer.cloud.errors import DOCUMENTED_NOT_FOUND, ApiError, extract_message, rejection_for
from syncer.cloud.pipeline import (
    ApiResponse,
)
from syncer.cloud.shapes import (
    CHILD_RULES,
    broken,
    checked_object,
    field_of,
    object_rules,
)
from syncer.model import ChildKind
from syncer.state import RemoteObject

NO_RENAMES = FieldNames({})


def remote_object(
    obj: object, path: str = "", where: str = "", names: FieldNames = NO_RENAMES
) -> RemoteObject:
    """An object of ``path`` (e.g. ``users``), once it is seen to keep the API's promises, its
    fields under their documented names (``names`` undoes the firm's renames)."""
    checked = checked_object(where or path or "response", obj, object_rules(path))
    fields = names.from_firm(checked)
    num_id = field_of(fields, "Id")
    return RemoteObject(
        cwguid=str(field_of(fields, "CWGuid")),
        id=num_id if isinstance(num_id, int) else None,
        fields=fields,
    )


def child_object(kind: ChildKind, where: str, obj: object) -> RemoteObject:
    """A child (an entity's address), once it keeps an object's promises and its kind's."""
    return remote_object(checked_object(where, obj, CHILD_RULES.get(kind.name, ())), where=where)


def child_answer(kind: ChildKind, where: str, answer: object) -> int | RemoteObject:
    """A child create's answer, once it is seen to be an ``Id`` or an object keeping the
    promises; anything else (null, text, a list) is a broken promise (exit 76)."""
    if isinstance(answer, int) and not isinstance(answer, bool):
        return answer
    if isinstance(answer, Mapping):
        return child_object(kind, where, answer)
    raise broken(where, f"expected the new {kind.name} Id (an integer) or object")


def decode_response(
    method: str,
    path: str,
    response: ApiResponse,
    not_found: NotFoundAnswer = DOCUMENTED_NOT_FOUND,
) -> Any:
    """The JSON body of a success; the matching ``ApiError`` (with the API's message) for a 4xx
    (``NotFound`` for the firm's ``not_found`` answer) or 5xx; ``CloudContractBroken`` for any
    other status or a success that is not JSON."""
    status = response.status
    if 400 <= status < 500:
        message = extract_message(status, response.body)
        raise rejection_for(status, message, not_found)(status, message, method, path)
    if 500 <= status < 600:
        raise ApiError(status, extract_message(status, response.body), method, path)
    if not 200 <= status < 300:
        raise broken(f"{method} {path}", f"status {status}")
    if not response.body:
        return None
    try:
        return orjson.loads(response.body)
    except orjson.JSONDecodeError:
        raise broken(f"{method} {path}", f"status {status} with a body that is not JSON") from None
