"""Stop signals: running work is asked to stop; with none running the command ends at once."""

from __future__ import annotations

import signal

import pytest

from syncer.apply.stopping import StopRequests
from syncer.errors import Interrupted, SyncerError, Terminated


def test_a_signal_stops_every_subscribed_run_and_is_remembered() -> None:
    stops = StopRequests()
    calls: list[str] = []
    with stops.subscribed(lambda: calls.append("a")), stops.subscribed(lambda: calls.append("b")):
        stops.deliver(signal.SIGTERM)
    assert calls == ["a", "b"]
    assert stops.received is signal.SIGTERM
    with stops.subscribed(lambda: calls.append("late")):
        pass
    assert calls[-1] == "late", "a run starting after the signal stops at once"


@pytest.mark.parametrize(
    ("signum", "raised"), [(signal.SIGINT, Interrupted), (signal.SIGTERM, Terminated)]
)
def test_a_signal_with_nothing_executing_ends_the_command(
    signum: signal.Signals, raised: type[SyncerError]
) -> None:
    with pytest.raises(raised) as caught:
        StopRequests().deliver(signum)
    assert caught.value.exit_code == 128 + signum
