"""Existing behaviour of the users service; it must keep working."""
from app import create_app
from store import UserStore
from wsgi_client import call


def test_create_user_returns_201_and_stores_it():
    store = UserStore()
    app = create_app(store)
    result = call(app, "POST", "/users", {"name": "Ada", "age": 36})
    assert result.status == 201
    assert result.json == {"id": 1, "name": "Ada", "age": 36}
    assert result.headers["Content-Type"] == "application/json"
    assert store.all() == [{"id": 1, "name": "Ada", "age": 36}]


def test_ids_increase_and_users_can_be_listed_and_fetched():
    app = create_app()
    call(app, "POST", "/users", {"name": "Ada", "age": 36})
    call(app, "POST", "/users", {"name": "Alan", "age": 41})
    assert call(app, "GET", "/users").json == {"users": [
        {"id": 1, "name": "Ada", "age": 36}, {"id": 2, "name": "Alan", "age": 41}]}
    result = call(app, "GET", "/users/2")
    assert (result.status, result.json["name"]) == (200, "Alan")


def test_unknown_user_is_404():
    result = call(create_app(), "GET", "/users/99")
    assert (result.status, result.json) == (404, {"error": "not found"})


def test_invalid_json_is_rejected():
    result = call(create_app(), "POST", "/users", b"{not json")
    assert (result.status, result.json) == (400, {"error": "invalid JSON"})


def test_unknown_route_and_wrong_method():
    app = create_app()
    assert call(app, "GET", "/nope").status == 404
    assert call(app, "DELETE", "/users").status == 405
    assert call(app, "POST", "/users/1").status == 405
