"""The Cloud index: natural keys normalised per kind, one object per key whatever the order."""

from __future__ import annotations

from syncer.plan.index import CloudIndex
from syncer.state import RemoteObject

A = RemoteObject("G-A", 2, {"Name": " Audit "})
A_OLDER = RemoteObject("G-a2", 1, {"Name": "AUDIT"})
NO_KEY = RemoteObject("G-N", 3, {"Name": None})
TAX = RemoteObject("G-T", 4, {"Name": "Tax"})


def test_keys_are_trimmed_and_folded_only_where_case_does_not_matter() -> None:
    folded = CloudIndex.build([A, TAX], "Name", True)
    kept = CloudIndex.build([A, TAX], "Name", False)
    assert folded.by_key == {"audit": A, "tax": TAX}
    assert kept.by_key == {"Audit": A, "Tax": TAX}
    assert folded.by_guid == {"g-a": A, "g-t": TAX}


def test_a_shared_key_goes_to_the_lower_id_in_any_listing_order() -> None:
    for listing in ([A, NO_KEY, A_OLDER, TAX], [TAX, A_OLDER, A, NO_KEY]):
        index = CloudIndex.build(listing, "Name", True)
        assert index.by_key == {"audit": A_OLDER, "tax": TAX}
        assert len(index.by_guid) == 4


def test_an_object_without_a_text_key_is_found_by_guid_only() -> None:
    index = CloudIndex.build([NO_KEY, TAX], "Name", True)
    assert index.by_key == {"tax": TAX}
    assert index.by_guid["g-n"] is NO_KEY
    assert index.display(NO_KEY) == "G-N"


def test_a_cwguid_listed_twice_in_other_letter_case_is_not_unique() -> None:
    twice = RemoteObject("g-a", 5, {"Name": "Other"})
    assert CloudIndex.build([A, TAX], "Name", True).guids_unique
    assert not CloudIndex.build([A, TAX, twice], "Name", True).guids_unique


def test_lowered_cwguids_are_kept_in_listing_order_for_the_fingerprint() -> None:
    assert CloudIndex.build([TAX, A, NO_KEY], "Name", True).guids == ["g-t", "g-a", "g-n"]
