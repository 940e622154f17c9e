"""The error-rate guard: stop a run that mostly fails instead of hammering the API.

A broken configuration (a wrong field mapping, a read-only API client) fails every row the same
way; sending thousands of doomed requests wastes the rate limit that other programs of the firm
share and buries the one useful error message. Past ``min_attempts``, when the share of failures
exceeds ``threshold`` the run stops with exit 4.
"""

from __future__ import annotations

from dataclasses import dataclass

from syncer.settings import ApplySettings


@dataclass
class ErrorRateGuard:
    threshold: float
    min_attempts: int
    attempts: int = 0
    failures: int = 0

    @classmethod
    def from_settings(cls, settings: ApplySettings) -> ErrorRateGuard:
        return cls(settings.error_rate_threshold, settings.error_rate_min_attempts)

    def record(self, *, failed: bool, count: int = 1) -> None:
        self.attempts += count
        if failed:
            self.failures += count

    @property
    def tripped(self) -> bool:
        return self.attempts >= self.min_attempts and self.failures > self.threshold * self.attempts

    def describe(self) -> str:
        return (
            f"stopped by the error-rate guard: {self.failures} of {self.attempts} attempts failed "
            f"(more than {self.threshold:.0%} of at least {self.min_attempts}); "
            "check the configuration and the rejected rows in `syncer runs`"
        )
