"""The base of the simulator's knob models (limits, faults, dialect).

They are pydantic models because the control plane receives them as JSON and the OpenAPI
description publishes their schema; a partial update is validated as a whole, so a bad value never
half-applies. They are frozen: changing a knob swaps the whole object, which is what lets it change
while requests are in flight without any locking.
"""

from __future__ import annotations

from typing import Any, Self

from pydantic import BaseModel, ConfigDict


class Knobs(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    def updated(self, changes: dict[str, Any]) -> Self:
        """A copy with ``changes`` applied and the whole result validated again."""
        return self.model_validate({**self.model_dump(), **changes})
