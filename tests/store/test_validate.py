"""Row validation: one set of rules for CSV text and SQL values, taken from syncer.model."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from syncer.model import ENTITIES, GROUP_MEMBERS, GROUPS, USER_ROLES, USERS
from syncer.store.validate import FieldError, columns_of, identity, validate_row
from syncer.value_rules import FALSE_WORDS, TRUE_WORDS, parse_bool


def _errors(result: object) -> dict[str, str]:
    assert isinstance(result, list), f"expected errors, got {result!r}"
    return {error.column: error.reason for error in result if isinstance(error, FieldError)}


def test_a_good_user_row_is_typed_trimmed_and_canonical() -> None:
    row = validate_row(
        USERS,
        {"email": "  Ann@Example.com ", "first_name": " Ann ", "owner_type": "staff", "admin": "Y"},
    )
    assert row == {
        "email": "Ann@Example.com",
        "first_name": "Ann",
        "owner_type": "Staff",
        "admin": True,
    }


def test_empty_values_mean_do_not_manage() -> None:
    row = validate_row(ENTITIES, {"entity_no": "C-1", "name": "  ", "active": ""})
    assert row == {"entity_no": "C-1", "name": None, "active": None}


def test_every_bad_field_is_named() -> None:
    errors = _errors(
        validate_row(
            USERS,
            {
                "email": "not-an-email",
                "first_name": "x" * 31,
                "owner_type": "Robot",
                "sso": "maybe",
            },
        )
    )
    assert set(errors) == {"email", "first_name", "owner_type", "sso"}
    assert "e-mail" in errors["email"]
    assert "30" in errors["first_name"]
    assert "Staff, Contact" in errors["owner_type"]
    assert "true/false" in errors["sso"]


@pytest.mark.parametrize("key", [None, "", "   "])
def test_a_key_is_required(key: str | None) -> None:
    assert _errors(validate_row(GROUPS, {"name": key})) == {"name": "required"}


def test_key_length_comes_from_the_model() -> None:
    assert "50" in _errors(validate_row(ENTITIES, {"entity_no": "x" * 51}))["entity_no"]


def test_relation_rows_check_both_keys_with_the_rules_of_the_kinds_they_name() -> None:
    assert validate_row(GROUP_MEMBERS, {"group_name": " Tax ", "user_email": "a@b.co"}) == {
        "group_name": "Tax",
        "user_email": "a@b.co",
    }
    errors = _errors(validate_row(USER_ROLES, {"user_email": "nobody", "role_name": ""}))
    assert set(errors) == {"user_email", "role_name"}


def test_sql_values_are_accepted_as_they_come() -> None:
    row = validate_row(ENTITIES, {"entity_no": 1001, "active": 0, "name": "Acme"})
    assert row == {"entity_no": "1001", "active": False, "name": "Acme"}


def test_identity_folds_case_only_where_cloud_ignores_it() -> None:
    assert identity(USERS, {"email": "A@X.com"}) == ("a@x.com",)
    assert identity(ENTITIES, {"entity_no": "Ab"}) == ("Ab",)
    assert identity(USER_ROLES, {"user_email": "A@X.com", "role_name": "Viewer"}) == (
        "a@x.com",
        "Viewer",
    )


def test_columns_list_the_key_first() -> None:
    assert columns_of(USERS)[0] == "email"
    assert columns_of(GROUP_MEMBERS) == ("group_name", "user_email")


_case_variants = st.sampled_from(sorted(TRUE_WORDS | FALSE_WORDS)).flatmap(
    lambda word: st.tuples(
        st.just(word),
        st.lists(st.booleans(), min_size=len(word), max_size=len(word)).map(
            lambda upper: "".join(c.upper() if u else c for c, u in zip(word, upper, strict=True))
        ),
        st.text(alphabet=" \t", max_size=2),
    )
)


@given(_case_variants)
def test_boolean_words_parse_in_any_case_and_padding(variant: tuple[str, str, str]) -> None:
    word, spelled, padding = variant
    assert parse_bool(padding + spelled + padding) is (word in TRUE_WORDS)


@given(st.text().filter(lambda t: t.strip().lower() not in TRUE_WORDS | FALSE_WORDS))
def test_anything_else_is_not_a_boolean(text: str) -> None:
    if not text.strip():
        assert parse_bool(text) is None
    else:
        with pytest.raises(ValueError, match="true/false"):
            parse_bool(text)


@given(st.text(max_size=100))
def test_text_fields_are_trimmed_and_blank_is_none(text: str) -> None:
    result = validate_row(GROUPS, {"name": "g", "description": text})
    assert isinstance(result, dict)
    assert result["description"] == (text.strip() or None)


@given(st.integers(min_value=1, max_value=600), st.text(alphabet=" \t\n", max_size=3))
def test_text_length_is_bounded_after_trimming(length: int, padding: str) -> None:
    result = validate_row(GROUPS, {"name": "g", "description": padding + "x" * length + padding})
    if length > 500:
        assert "longer than 500" in _errors(result)["description"]
    else:
        assert isinstance(result, dict)
