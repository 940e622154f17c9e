"""What the checks share: the wire, the configured assumptions and what was read so far.

Checks run one after another and reuse each other's reads (the first page of each kind serves the
paging, field, search and member checks), which keeps a probe near forty requests.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from syncer.assumptions import ApiSettings
from syncer.cloud.shapes import field_of
from syncer.model import OBJECT_KINDS, ROLES_PATH
from syncer.probe.wire import Answer, Wire
from syncer.settings import CloudSettings

KIND_PATHS: dict[str, str] = {
    **{name: kind.api_path for name, kind in OBJECT_KINDS.items()},
    "roles": ROLES_PATH,
}
"""Kinds whose first page the probe reads, and their paths."""


@dataclass(slots=True)
class Sample:
    """The first page of a kind, read with the page size the probe asked for."""

    objects: list[dict[str, Any]]
    size: int

    @property
    def full(self) -> bool:
        """More may follow: the page is as long as was asked."""
        return len(self.objects) >= self.size


@dataclass(slots=True)
class ProbeContext:
    wire: Wire
    cloud: CloudSettings
    token: str
    first_page: int
    """The first page number as observed (the configured one until ``paging.first_page`` ran)."""
    refused_size: int | None = None
    """A page size the firm refused (400), when the configured largest one was."""
    page_size: int = 0
    """The largest page size known to work; the samples were read with it."""
    samples: dict[str, Sample] = field(default_factory=dict)

    @property
    def api(self) -> ApiSettings:
        return self.cloud.api

    async def page(self, kind: str, page_offset: int, size: int | None, **params: str) -> Answer:
        """Page ``first_page + page_offset`` of ``kind`` (``size`` None: the firm's default)."""
        query: dict[str, object] = {"page": self.first_page + page_offset, **params}
        if size is not None:
            query["pageSize"] = size
        return await self.wire.get(KIND_PATHS[kind], self.token, **query)

    def largest_sample(self) -> tuple[str, Sample] | None:
        """The kind with the most objects read (the best evidence for paging checks)."""
        found = [(kind, s) for kind, s in self.samples.items() if s.objects]
        return max(found, key=lambda item: len(item[1].objects)) if found else None


def objects_of(answer: Answer) -> list[dict[str, Any]] | None:
    """The objects of a list answer; ``None`` unless it is a 200 with a JSON array of objects."""
    body = answer.json()
    if answer.status != 200 or not isinstance(body, list):
        return None
    return [item for item in body if isinstance(item, dict)]


def guids_of(answer: Answer) -> list[str] | None:
    objects = objects_of(answer)
    if objects is None:
        return None
    return [str(field_of(o, "CWGuid")) for o in objects]
