"""Configuration keys that moved, still read where they were, with a warning naming the new key.

A documented key is a contract (docs/architecture.md §5): moving one must not break a working
configuration file. So the old key keeps working, its value folded into the new place, and a
warning says where it now belongs; both set to different values is a configuration error
(exit 78), since syncer cannot know which one the user means.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Final

from syncer.assumptions import ApiSettings

MOVED_TO_API: Final[Mapping[str, str]] = {"token_lifetime_seconds": "token_lifetime_seconds"}
"""Key under ``[cloud]`` -> its new name under ``[cloud.api]``."""


def fold_moved(old: Mapping[str, Any], api: ApiSettings) -> ApiSettings:
    """``api`` with the values of moved ``[cloud]`` keys (``old``: key -> value or ``None`` when
    unset) folded in; a ``ValueError`` naming both keys when they disagree."""
    moved: dict[str, Any] = {}
    for key, value in old.items():
        if value is None:
            continue
        new = MOVED_TO_API[key]
        if new in api.model_fields_set and getattr(api, new) != value:
            raise ValueError(
                f"cloud.{key} (deprecated) and cloud.api.{new} are both set, to different "
                f"values; keep only cloud.api.{new}"
            )
        moved[new] = value
    return api.model_copy(update=moved) if moved else api


def moved_in_use(old: Mapping[str, Any]) -> list[tuple[str, str]]:
    """``(old key, new key)``, dotted, for each moved key set in its old place."""
    return [
        (f"cloud.{key}", f"cloud.api.{MOVED_TO_API[key]}")
        for key, value in old.items()
        if value is not None
    ]
