"""The redaction processor: no token or secret survives into a rendered log line."""

from __future__ import annotations

import pytest

from syncer import logs, masking
from syncer.cloud.errors import Rejected


def test_values_under_sensitive_keys_are_masked() -> None:
    event = {"event": "auth", "client_secret": "s3cr3t", "token": "abc", "Authorization": "x"}
    out = logs.redact(None, "info", dict(event))
    assert out["client_secret"] == out["token"] == out["Authorization"] == logs.REDACTED
    assert out["event"] == "auth"


def test_bearer_tokens_inside_text_are_masked() -> None:
    out = logs.redact(None, "info", {"event": "sent", "detail": "header Bearer eyJhbGci.x-y_z ok"})
    assert "eyJhbGci" not in out["detail"]
    assert out["detail"] == f"header Bearer {logs.REDACTED} ok"


def test_counters_named_like_tokens_are_kept() -> None:
    out = logs.redact(None, "info", {"event": "bucket", "requested_tokens": 10})
    assert out["requested_tokens"] == 10


def test_json_log_lines_are_redacted_end_to_end(capsys: pytest.CaptureFixture[str]) -> None:
    logs.configure("info", "json")
    logs.get_logger().info("renewed", token="tok-123", note="Bearer tok-456")
    err = capsys.readouterr().err
    assert "tok-123" not in err
    assert "tok-456" not in err
    assert '"event":"renewed"' in err


def test_sensitive_keys_are_masked_at_any_depth() -> None:
    event = {"event": "sent", "request": {"headers": {"Authorization": "x"}, "body": [{"pw": 1}]}}
    out = logs.redact(None, "info", event)
    assert out["request"]["headers"]["Authorization"] == logs.REDACTED
    assert out["request"]["body"] == [{"pw": 1}]


def test_a_remembered_secret_is_masked_wherever_it_appears() -> None:
    masking.remember("remembered-s3cret-value")
    event = {"event": "echo", "detail": {"message": "you sent remembered-s3cret-value!"}}
    out = logs.redact(None, "info", event)
    assert out["detail"]["message"] == f"you sent {logs.REDACTED}!"
    error = Rejected(422, "body echoed remembered-s3cret-value", "POST", "entities")
    assert "remembered-s3cret-value" not in str(error)
    assert "remembered-s3cret-value" not in error.message
