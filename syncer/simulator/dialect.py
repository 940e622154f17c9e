"""The firm's dialect: every ``[assumed]`` behaviour of docs/cloud-api.md, with its alternatives.

A real firm may number pages from 0, cap ``pageSize`` lower (refusing or clamping a larger one),
escape quotes differently, name a field otherwise, hide group member lists or list a user's roles
by CWGuid. Each alternative is a knob here, so ``syncer probe`` can be tested against every one of
them and syncer shown to work once configured as the probe advises. Default: docs/cloud-api.md.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Annotated, Any, Final, Literal

from pydantic import Field

from syncer.simulator.errors import invalid
from syncer.simulator.knobs import Knobs
from syncer.simulator.resources import ResourceSpec, Violation

MAX_PAGE_SIZE: Final = 100
DEFAULT_PAGE_SIZE: Final = 25


class Dialect(Knobs):
    first_page: Annotated[int, Field(ge=0, le=1)] = 1
    """Number of the first page."""
    max_page_size: Annotated[int, Field(ge=1, le=1000)] = MAX_PAGE_SIZE
    oversize_page: Literal["refuse", "clamp"] = "refuse"
    """What a ``pageSize`` above the maximum gets: 400, or silently the maximum."""
    default_page_size: Annotated[int, Field(ge=1, le=1000)] = DEFAULT_PAGE_SIZE
    search_quote_escape: Literal["doubled", "backslash"] = "doubled"
    field_names: dict[str, dict[str, str]] = Field(default_factory=dict)
    """Per resource, documented field name -> the name this firm serves and binds instead."""
    members_readable: bool = True
    """Whether ``GET groups/{id}/user-assignments`` exists (else 405)."""
    role_reference: Literal["Id", "CWGuid"] = "Id"
    """What users' ``FirmWideRoleIds`` lists."""
    advertise_token_lifetime: bool = False
    """Whether the token response carries ``ExpiresIn`` (seconds)."""
    header_names: dict[str, str] = Field(default_factory=dict)
    """Documented rate-limit header name -> the name this firm's gateway sends instead."""
    not_found_status: Annotated[int, Field(ge=400, le=499)] = 404
    """The status of the answer for an unknown CWGuid (its body says what it is)."""
    stable_order: bool = True
    """Whether lists keep one order across pages; else each read sees its own order."""

    def rate_headers(self, headers: Mapping[str, str]) -> dict[str, str]:
        """The rate-limit headers under the names this firm's gateway sends."""
        return {self.header_names.get(name, name): value for name, value in headers.items()}

    def error_status(self, status: int) -> int:
        """The status this firm answers for an error the documented API answers ``status``."""
        return self.not_found_status if status == 404 else status

    def page_window(self, page: int | None, size: int | None) -> tuple[int, int]:
        """``(1-based page, size)`` for the store from the request's ``page`` and ``pageSize``."""
        chosen = self.default_page_size if size is None else size
        if chosen < 1 or (chosen > self.max_page_size and self.oversize_page == "refuse"):
            raise invalid(
                [Violation("pageSize", f"pageSize must be between 1 and {self.max_page_size}")]
            )
        first = self.first_page if page is None else page
        if first < self.first_page:
            raise invalid([Violation("page", f"page must be at least {self.first_page}")])
        return first - self.first_page + 1, min(chosen, self.max_page_size)

    def unescape(self, quoted_inner: str) -> str:
        return quoted_inner.replace("''" if self.search_quote_escape == "doubled" else "\\'", "'")

    def string_pattern(self) -> str:
        """The regex of a quoted string literal in ``search=`` under this escape."""
        return r"'(?:[^']|'')*'" if self.search_quote_escape == "doubled" else r"'(?:[^'\\]|\\')*'"

    def served_name(self, spec: ResourceSpec, documented: str) -> str:
        return self.field_names.get(spec.name, {}).get(documented, documented)

    def bound_name(self, spec: ResourceSpec, served: str) -> str | None:
        """The documented name a request's field binds to; ``None`` for a documented name this
        firm does not know (it was renamed), which the binder then ignores as unknown."""
        renamed = self.field_names.get(spec.name, {})
        for documented, name in renamed.items():
            if name.casefold() == served.casefold():
                return documented
        return None if served.casefold() in {d.casefold() for d in renamed} else served

    def request_body(self, spec: ResourceSpec, body: object) -> object:
        if not isinstance(body, dict) or spec.name not in self.field_names:
            return body
        bound = ((self.bound_name(spec, str(k)), v) for k, v in body.items())
        return {name: value for name, value in bound if name is not None}

    def present(
        self, spec: ResourceSpec, obj: Mapping[str, Any], role_guid: Callable[[int], str]
    ) -> dict[str, Any]:
        """A stored object as this firm serves it."""
        shown = {self.served_name(spec, k): v for k, v in obj.items()}
        if spec.name == "users" and self.role_reference == "CWGuid":
            name = self.served_name(spec, "FirmWideRoleIds")
            shown[name] = [role_guid(i) for i in shown.get(name) or ()]
        return shown
