"""Entry point: fetch one user and print it."""
from __future__ import annotations

import json
import sys

from client import ApiClient, Transport
from transport import urllib_transport

BASE_URL = "https://users.example.com/api"


def build_client(transport: Transport = urllib_transport) -> ApiClient:
    """The client the application uses."""
    return ApiClient(BASE_URL, transport=transport)


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
