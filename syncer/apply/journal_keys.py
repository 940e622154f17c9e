"""A change's key and identity as the journal and the back-off index store them (text columns).

The text is the key's display text, ``"<parent>|<member>"`` for an assignment: what every older
version wrote, so the rows it left (an interrupted run, a rejected key waiting out its delay)
still match the same change. Only when an end of an assignment holds ``|`` would that text be
shared by two assignments (``A|B`` + ``c`` and ``A`` + ``B|c``); then each end's ``\\`` and ``|``
are escaped with ``\\``. Such a text has two ``|`` or more where a plain one has exactly one, so
no two keys are ever stored alike. Nothing reads a stored key back into ends: a change is looked
up by its key stored the same way.
"""

from __future__ import annotations

from syncer.plan import Change, ChangeKey


def stored_key(key: ChangeKey) -> str:
    """The text that stands for ``key`` in ``syncer_changes.key`` and ``syncer_failed_keys.key``."""
    if isinstance(key, str):
        return key
    if not key.text_is_ambiguous:
        return f"{key.parent}|{key.member}"
    return f"{_escaped(key.parent)}|{_escaped(key.member)}"


def _escaped(end: str) -> str:
    return end.replace("\\", "\\\\").replace("|", "\\|")


def journal_id(change: Change) -> str:
    """The change's identity as the journal's ``change_id``: ``kind:action:stored key``."""
    return f"{change.kind}:{change.action}:{stored_key(change.key)}"
