"""An address create answers a bare integer ``Id`` [observed]; anything else that is not an
address keeping the promises ends the run as a broken promise (exit 76), never flows on."""

from __future__ import annotations

import pytest

from syncer.cloud.answers import child_answer, child_object
from syncer.errors import CloudContractBroken, ExitCode
from syncer.model import ENTITY_ADDRESSES
from syncer.state import RemoteObject

GUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
WHERE = "POST entities/x/addresses"


def test_a_bare_integer_is_the_new_id() -> None:
    assert child_answer(ENTITY_ADDRESSES, WHERE, 7) == 7


def test_an_address_keeping_the_promises_is_taken_as_it_is() -> None:
    answer = {"CWGuid": GUID, "Id": 7, "AddressCategory": "Business"}
    assert child_answer(ENTITY_ADDRESSES, WHERE, answer) == RemoteObject(GUID, 7, answer)


@pytest.mark.parametrize(
    "answer",
    [None, True, "7", [7], {"Id": 7}, {"CWGuid": "../users", "Id": 7}],
    ids=["null", "boolean", "text", "list", "no CWGuid", "CWGuid not a GUID"],
)
def test_anything_else_is_a_broken_promise(answer: object) -> None:
    with pytest.raises(CloudContractBroken) as caught:
        child_answer(ENTITY_ADDRESSES, WHERE, answer)
    assert caught.value.exit_code == ExitCode.CLOUD_CONTRACT
    assert WHERE in str(caught.value)


def test_an_address_whose_category_is_not_text_is_a_broken_promise() -> None:
    with pytest.raises(CloudContractBroken, match="AddressCategory is int"):
        child_object(ENTITY_ADDRESSES, WHERE, {"CWGuid": GUID, "AddressCategory": 5})
