"""The rate-limit headers read in any letter case, from aiohttp's mapping as from a plain one."""

from __future__ import annotations

from multidict import CIMultiDict, CIMultiDictProxy

from syncer.assumptions import RateLimitHeaders
from syncer.cloud.headers import RateHeaders, parse_rate_headers

SENT = [
    ("Content-Type", "application/json"),
    ("X-RATELIMIT-REPLENISH-RATE", "5"),
    ("x-ratelimit-burst-capacity", "10"),
    ("X-RateLimit-Remaining", "7"),
    ("x-ratelimit-remaining", "3"),  # repeated under another case: the first one counts
    ("X-RateLimit-Requested-Tokens", "garbled"),
    ("Retry-After", "2"),
]
EXPECTED = RateHeaders(
    replenish_rate=5, burst_capacity=10, requested=None, remaining=7, retry_after=2
)


def test_a_response_mapping_is_read_as_it_is_in_any_case_first_value_first() -> None:
    assert parse_rate_headers(CIMultiDictProxy(CIMultiDict(SENT))) == EXPECTED


def test_a_plain_mapping_reads_the_same_as_the_response_it_was_copied_from() -> None:
    response = CIMultiDictProxy(CIMultiDict(SENT))
    assert parse_rate_headers(dict(response)) == parse_rate_headers(response) == EXPECTED


def test_a_firm_s_own_names_are_matched_in_any_case_in_either_mapping() -> None:
    names = RateLimitHeaders(
        replenish_rate="Rate-Limit-Rate",
        burst_capacity="Rate-Limit-Burst",
        requested_tokens="Rate-Limit-Cost",
        remaining="Rate-Limit-Left",
    )
    sent = [("rate-limit-rate", "2"), ("RATE-LIMIT-BURST", "4"), ("Rate-Limit-Left", "1")]
    expected = RateHeaders(replenish_rate=2, burst_capacity=4, remaining=1)
    assert parse_rate_headers(CIMultiDictProxy(CIMultiDict(sent)), names) == expected
    assert parse_rate_headers(dict(sent), names) == expected
