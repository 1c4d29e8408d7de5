"""Entry point: fetch one user and print it."""
from __future__ import annotations

import json
import sys
from collections.abc import Callable

from client import ApiClient, Transport
from errors import TransientError
from retry import retry
from transport import urllib_transport

BASE_URL = "https://users.example.com/api"
RETRY_ATTEMPTS = 4
RETRY_BASE_DELAY = 0.5


def build_client(
    transport: Transport = urllib_transport, sleep: Callable[[float], None] | None = None
) -> ApiClient:
    """The client the application uses; its fetch_json retries transient failures."""
    client = ApiClient(BASE_URL, transport=transport)
    with_retries = retry(retry_on=TransientError, max_attempts=RETRY_ATTEMPTS,
                         base_delay=RETRY_BASE_DELAY, sleep=sleep)
    client.fetch_json = with_retries(client.fetch_json)
    return client


def get_user(client: ApiClient, user_id: int) -> dict:
    return client.fetch_json(f"/users/{user_id}")


def main(argv: list[str] | None = None) -> int:
    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1 or not args[0].isdigit():
        print("usage: python main.py <user-id>", file=sys.stderr)
        return 2
    print(json.dumps(get_user(build_client(), int(args[0])), indent=2))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
