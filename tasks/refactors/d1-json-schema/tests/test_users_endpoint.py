"""Acceptance tests: POST /users answers 400 with field errors and stores nothing."""
from app import create_app
from store import UserStore
from wsgi_client import call


def test_invalid_user_gets_400_with_all_field_errors_and_is_not_stored():
    store = UserStore()
    app = create_app(store)
    result = call(app, "POST", "/users", {"name": "   ", "age": "forty", "role": "admin"})
    assert result.status == 400
    assert result.headers["Content-Type"] == "application/json"
    assert result.json == {"errors": [
        {"field": "name", "error": "must not be empty"},
        {"field": "age", "error": "must be an integer"},
        {"field": "role", "error": "is not allowed"},
    ]}
    assert store.all() == []


def test_missing_fields_no_longer_crash_into_a_500():
    result = call(create_app(), "POST", "/users", {"name": "Ada"})
    assert (result.status, result.json) == (400, {"errors": [{"field": "age", "error": "is required"}]})


def test_boolean_age_is_rejected_over_http():
    result = call(create_app(), "POST", "/users", {"name": "Ada", "age": True})
    assert result.json == {"errors": [{"field": "age", "error": "must be an integer"}]}


def test_non_object_json_body_is_rejected():
    result = call(create_app(), "POST", "/users", [1, 2, 3])
    assert (result.status, result.json) == (400, {"errors": [{"field": "body", "error": "must be a JSON object"}]})


def test_valid_user_is_still_created_after_a_rejected_one():
    store = UserStore()
    app = create_app(store)
    assert call(app, "POST", "/users", {"name": "", "age": 1}).status == 400
    result = call(app, "POST", "/users", {"name": "Grace", "age": 0})
    assert (result.status, result.json) == (201, {"id": 1, "name": "Grace", "age": 0})
    assert call(app, "GET", "/users").json == {"users": [{"id": 1, "name": "Grace", "age": 0}]}
