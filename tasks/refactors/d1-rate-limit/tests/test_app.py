"""Existing behaviour of the echo service; it must keep working."""
from app import create_app
from wsgi_client import call


def test_health_answers_ok():
    result = call(create_app(), "/health")
    assert result.status == 200
    assert result.text == "ok\n"
    assert result.headers["Content-Type"] == "text/plain; charset=utf-8"


def test_echo_get_returns_msg():
    result = call(create_app(), "/echo", query="msg=hello%20there")
    assert (result.status, result.text) == (200, "hello there")
    assert result.headers["Content-Length"] == str(len("hello there"))


def test_echo_get_without_msg_is_a_bad_request():
    result = call(create_app(), "/echo")
    assert (result.status, result.text) == (400, "missing msg\n")


def test_echo_post_returns_the_body():
    result = call(create_app(), "/echo", method="POST", body=b"\x00raw bytes\xff")
    assert (result.status, result.body) == (200, b"\x00raw bytes\xff")


def test_echo_rejects_other_methods():
    result = call(create_app(), "/echo", method="DELETE")
    assert result.status == 405
    assert result.headers["Allow"] == "GET, POST"


def test_unknown_path_is_not_found():
    result = call(create_app(), "/nope")
    assert (result.status, result.text) == (404, "not found\n")
