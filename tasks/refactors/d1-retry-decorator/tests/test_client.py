"""Existing behaviour of the client and main; it must keep working."""
import pytest

import main
from client import ApiClient
from errors import ApiError, PermanentError, TransientError
from fake_transport import ScriptedTransport
from transport import urllib_transport


def test_fetch_json_decodes_the_body_and_builds_the_url():
    transport = ScriptedTransport((200, b'{"id": 7, "name": "Ada"}'))
    client = ApiClient("https://api.test/v1/", transport=transport)
    assert client.fetch_json("/users/7") == {"id": 7, "name": "Ada"}
    assert transport.calls == [("GET", "https://api.test/v1/users/7")]


@pytest.mark.parametrize("status", [500, 502, 503, 429])
def test_server_errors_and_throttling_are_transient(status):
    client = ApiClient("https://api.test", transport=ScriptedTransport((status, b"")))
    with pytest.raises(TransientError) as info:
        client.fetch_json("/x")
    assert info.value.status == status


def test_connection_failures_are_transient():
    client = ApiClient("https://api.test", transport=ScriptedTransport(ConnectionResetError("reset")))
    with pytest.raises(TransientError) as info:
        client.fetch_json("/x")
    assert info.value.status is None


@pytest.mark.parametrize("status", [400, 401, 404])
def test_client_errors_are_permanent(status):
    client = ApiClient("https://api.test", transport=ScriptedTransport((status, b"{}")))
    with pytest.raises(PermanentError) as info:
        client.fetch_json("/x")
    assert info.value.status == status
    assert isinstance(info.value, ApiError)


def test_invalid_json_is_permanent():
    client = ApiClient("https://api.test", transport=ScriptedTransport((200, b"<html>")))
    with pytest.raises(PermanentError):
        client.fetch_json("/x")


def test_get_user_fetches_the_user_path():
    transport = ScriptedTransport((200, b'{"id": 3}'))
    assert main.get_user(main.build_client(transport=transport), 3) == {"id": 3}
    assert transport.calls == [("GET", main.BASE_URL + "/users/3")]


def test_build_client_defaults_to_the_real_transport():
    assert main.build_client().transport is urllib_transport


def test_main_rejects_bad_arguments(capsys):
    assert main.main(["not-a-number"]) == 2
    assert "usage" in capsys.readouterr().err
