"""``[cloud.api]``: every behaviour of the Cloud API that syncer assumes but cannot know in advance.

docs/cloud-api.md marks these lines ``[assumed]``: nothing public says which page comes first,
how buckets are keyed or what a group's description field is called. Each guess is a setting here,
defaulting to today's value, and ``syncer probe`` checks a real firm against every one of them and
writes the values that fit. The client, the reader and the probe read them from here; nothing else
in the code may hard-code them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from syncer.model import OBJECT_KINDS, RELATION_KINDS, ROLES_PATH, ValueType

Keying = Literal["client", "session", "route"]
QuoteEscape = Literal["doubled", "backslash"]
RoleReference = Literal["Id", "CWGuid"]


class RateLimitHeaders(BaseModel):
    """The names of the four rate-limit headers (compared without regard to letter case)."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    burst_capacity: Annotated[str, Field(min_length=1)] = "x-ratelimit-burst-capacity"
    """The most tokens the bucket holds."""
    replenish_rate: Annotated[str, Field(min_length=1)] = "x-ratelimit-replenish-rate"
    """Tokens added per second."""
    requested_tokens: Annotated[str, Field(min_length=1)] = "x-ratelimit-requested-tokens"
    """What the request cost."""
    remaining: Annotated[str, Field(min_length=1)] = "x-ratelimit-remaining"
    """Tokens left after the request."""


class NotFoundAnswer(BaseModel):
    """How the firm answers a request for an object that does not exist."""

    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    status: Annotated[int, Field(ge=400, le=499)] = 404
    """The status of that answer."""
    message: str = ""
    """A part of its error message (any letter case) that tells it from other answers of the same
    status, e.g. a 400 that also means a validation error; empty: the status alone."""

    def matches(self, status: int, message: str) -> bool:
        return status == self.status and self.message.casefold() in message.casefold()


class ApiSettings(BaseModel):
    # Same conventions as the other sections (syncer.settings._Section), repeated here so this
    # module does not import settings.py, which imports it.
    model_config = ConfigDict(extra="forbid", frozen=True, use_attribute_docstrings=True)

    first_page: Annotated[int, Field(ge=0, le=1)] = 1
    """Number of the first page of a list (``page=``)."""
    max_page_size: Annotated[int, Field(ge=1, le=1000)] = 100
    """Largest ``pageSize`` the API honours; syncer never asks for more."""
    search_quote_escape: QuoteEscape = "doubled"
    """How a quote inside a ``search=`` string is written: ``'O''Brien'`` or ``'O\\'Brien'``."""
    ratelimit_keying: Keying = "client"
    """Rate-limit buckets per API client, per session or per route family (``cloud.pool_size``
    above 1 only helps with ``session``)."""
    auth_limited: bool = True
    """Whether ``auth/token`` draws from the rate-limit bucket (then it is paced like the rest)."""
    token_lifetime_seconds: Annotated[float, Field(gt=0)] = 1800.0
    """How long a session token lives; the API sends no expiry, so syncer counts it itself (and
    learns a shorter one from the first token the server ends early)."""
    ratelimit_headers: RateLimitHeaders = RateLimitHeaders()
    """The rate-limit headers' names (``[cloud.api.ratelimit_headers]``): syncer learns the
    bucket from them."""
    not_found: NotFoundAnswer = NotFoundAnswer()
    """The answer that means "no such object" (``[cloud.api.not_found]``): a delete finding it
    is done, an assignment finding it names a parent that is gone."""
    stable_order: bool = True
    """Whether a list keeps its order across pages; without it syncer reads a list again until
    it has seen each of its objects (at most five times; then exit 76)."""
    field_names: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Per kind, API field names that differ from the documented ones, e.g.
    ``{groups = {BriefDescription = "Description"}}``."""
    members_readable: bool = True
    """Whether ``GET groups/{id}/user-assignments`` lists a group's members; without it syncer
    only adds members (it cannot see whom to remove)."""
    user_roles_reference: RoleReference = "Id"
    """What a user's ``FirmWideRoleIds`` lists: the roles' numeric ``Id`` or their ``CWGuid``."""

    @field_validator("field_names")
    @classmethod
    def _known_fields(cls, value: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
        unknown = sorted(set(value) - set(OBJECT_KINDS) - {ROLES_PATH})
        if unknown:
            known = ", ".join((*OBJECT_KINDS, ROLES_PATH))
            raise ValueError(f"unknown kind {', '.join(unknown)}; expected one of {known}")
        for kind, renames in value.items():
            strangers = sorted(set(renames) - set(documented_fields(kind)))
            if strangers:
                raise ValueError(
                    f"{kind} has no documented field {', '.join(strangers)}; "
                    f"expected one of {', '.join(documented_fields(kind))}"
                )
        return value

    def renames(self, kind: str) -> FieldNames:
        """The field-name translation of ``kind`` (identity when nothing is renamed)."""
        return FieldNames(self.field_names.get(kind, {}))

    def page_size(self, wanted: int) -> int:
        return min(wanted, self.max_page_size)

    def quote(self, value: str) -> str:
        """A string literal for ``search=``, with quotes inside escaped as this firm expects."""
        inner = "''" if self.search_quote_escape == "doubled" else "\\'"
        return "'" + value.replace("'", inner) + "'"


ROLE_FIELDS: Mapping[str, type] = {"Id": int, "CWGuid": str, "Name": str}


def documented_fields(kind: str) -> dict[str, type]:
    """Documented field name -> the JSON type syncer expects of its value: what syncer reads and
    writes of ``kind`` (``roles`` or an object kind of ``syncer.model``)."""
    if kind not in OBJECT_KINDS:
        return dict(ROLE_FIELDS)
    spec = OBJECT_KINDS[kind]
    found: dict[str, type] = {"Id": int, "CWGuid": str, spec.key_field: str}
    for field in spec.fields:
        encoded = field.codec.encode(True) if field.value_type is ValueType.BOOL else ""
        found[field.api_name] = type(encoded)
    found.update({name: type(value) for name, value in spec.constant_fields.items()})
    if spec.inactive_date_field:
        found[spec.inactive_date_field] = str
    for relation in RELATION_KINDS.values():
        if relation.parent_kind == kind and relation.read_field:
            found[relation.read_field] = list
    return found


class FieldNames:
    """Translates between the documented field names (the model's) and the firm's own."""

    def __init__(self, documented_to_firm: Mapping[str, str]) -> None:
        self._out = dict(documented_to_firm)
        self._in = {firm.casefold(): doc for doc, firm in documented_to_firm.items()}

    def outgoing(self, name: str) -> str:
        return self._out.get(name, name)

    def to_firm(self, body: Mapping[str, Any]) -> dict[str, Any]:
        return {self.outgoing(k): v for k, v in body.items()} if self._out else dict(body)

    def from_firm(self, obj: Mapping[str, Any]) -> dict[str, Any]:
        if not self._in:
            return dict(obj)
        return {self._in.get(str(k).casefold(), k): v for k, v in obj.items()}
