"""Acceptance tests for validate.validate_user."""
import copy
import importlib
import json

import pytest


@pytest.fixture
def validate_user():
    """validate.validate_user, imported per test so that a missing module fails each test alone."""
    return importlib.import_module("validate").validate_user


def err(field, error):
    return {"field": field, "error": error}


@pytest.mark.parametrize("body", [
    {"name": "Ada", "age": 36},
    {"name": "  Ada  ", "age": 0},
    {"name": "Zoë", "age": 10**6},
])
def test_valid_bodies_have_no_errors(validate_user, body):
    assert validate_user(body) == []


@pytest.mark.parametrize("body", [[{"name": "Ada", "age": 1}], "Ada", 36, None, True])
def test_body_must_be_an_object(validate_user, body):
    assert validate_user(body) == [err("body", "must be a JSON object")]


def test_missing_fields_are_required_name_first(validate_user):
    assert validate_user({}) == [err("name", "is required"), err("age", "is required")]


@pytest.mark.parametrize("name", [123, None, ["Ada"], {"first": "Ada"}, True])
def test_name_must_be_a_string(validate_user, name):
    assert validate_user({"name": name, "age": 3}) == [err("name", "must be a string")]


@pytest.mark.parametrize("name", ["", "   ", "\t\n"])
def test_name_must_not_be_empty_or_blank(validate_user, name):
    assert validate_user({"name": name, "age": 3}) == [err("name", "must not be empty")]


@pytest.mark.parametrize("age", [True, False, 30.0, 1.5, "30", None, [1]])
def test_age_must_be_a_real_integer(validate_user, age):
    assert validate_user({"name": "Ada", "age": age}) == [err("age", "must be an integer")]


@pytest.mark.parametrize("age", [-1, -100])
def test_age_must_not_be_negative(validate_user, age):
    assert validate_user({"name": "Ada", "age": age}) == [err("age", "must be >= 0")]


def test_unknown_fields_are_rejected_sorted_after_known_ones(validate_user):
    body = {"zip": "x", "age": -3, "admin": True, "name": ""}
    assert validate_user(body) == [
        err("name", "must not be empty"),
        err("age", "must be >= 0"),
        err("admin", "is not allowed"),
        err("zip", "is not allowed"),
    ]


def test_errors_are_plain_json_serialisable_dicts(validate_user):
    errors = validate_user({"name": 5})
    assert json.loads(json.dumps(errors)) == errors
    assert all(type(e) is dict and set(e) == {"field", "error"} for e in errors)


def test_body_is_not_modified(validate_user):
    body = {"name": "  Ada ", "age": True, "extra": [1, 2]}
    before = copy.deepcopy(body)
    validate_user(body)
    assert body == before
