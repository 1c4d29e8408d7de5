"""The FrontDoor seam: what a wire protocol the router serves provides, and the one registry of them.

A front door turns its protocol's request body into a CanonicalRequest and renders canonical
answers back (whole, streamed a group of events at a time, or as an error body). The app builds
its routed endpoints and its hot-path table from ``front_doors()``: one POST route per path a door
serves under ``/run/<run_id>/``. The four built-in doors are the modules beside this one, each of
which provides one ``Door``; a new one is registered with ``register_front_door`` before the router
starts (docs/howto/add-a-front-door.md).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

from pytest_arena.router.contracts import CanonicalRequest, CanonicalResponse, Event
from pytest_arena.router.errors import RouterError

__all__ = ["Door", "FrontDoor", "StreamRenderer", "front_doors", "register_front_door"]


class StreamRenderer(Protocol):
    """Renders one streamed call's events into its protocol's frames."""

    @property
    def finished(self) -> bool:
        """The Finish was rendered: the stream is whole (only the end of the body follows)."""

    def feed(self, events: list[Event]) -> bytes:
        """One group of events (one upstream read), rendered; written to the client at once."""

    def error(self, err: RouterError) -> bytes:
        """The frame that ends a stream whose call failed after it started."""


class FrontDoor(Protocol):
    """A wire protocol the router serves: one object per protocol."""

    @property
    def name(self) -> str:
        """The protocol's name: the ledger's and the transcript's ``protocol`` field (``parse`` puts
        it in CanonicalRequest.protocol) and the word error messages use ("invalid <name> request")."""

    @property
    def paths(self) -> tuple[str, ...]:
        """The routed POST paths it serves under ``/run/<run_id>/``, without a leading slash
        (``"v1/chat/completions"``); each path belongs to one door."""

    @property
    def stream_media_type(self) -> str:
        """The Content-Type of a streamed answer (``text/event-stream``, ``application/x-ndjson``)."""

    def parse(self, body: dict[str, Any]) -> CanonicalRequest:
        """The request body (a JSON object) as a CanonicalRequest; raises ClientRequestError or
        ValueError on a body its protocol does not allow (answered 400, recorded ``client_error``)."""

    def render(self, resp: CanonicalResponse, req: CanonicalRequest) -> bytes:
        """A whole non-streaming answer's body (JSON)."""

    def stream_renderer(self, req: CanonicalRequest) -> StreamRenderer:
        """A renderer for one streamed answer."""

    def error_body(self, error_type: str, message: str) -> bytes:
        """An error answer's JSON body, in the shape the protocol's clients parse."""


@dataclass(frozen=True, slots=True)
class Door:
    """A FrontDoor made of a protocol module's functions: what each built-in module provides."""

    name: str
    paths: tuple[str, ...]
    stream_media_type: str
    parse: Callable[[dict[str, Any]], CanonicalRequest]
    render: Callable[[CanonicalResponse, CanonicalRequest], bytes]
    stream_renderer: Callable[[CanonicalRequest], StreamRenderer]
    error_body: Callable[[str, str], bytes]


_DOORS: dict[str, FrontDoor] = {}


def register_front_door(door: FrontDoor) -> FrontDoor:
    """Serve ``door`` on every router started from now on; returns it. A name or a path another
    door already has raises ValueError (registering the same door twice changes nothing)."""
    if _DOORS.get(door.name) is door:
        return door
    if door.name in _DOORS:
        raise ValueError(f"a front door named {door.name!r} is already registered; give the new one another name")
    if not door.paths:
        raise ValueError(f"front door {door.name!r} serves no path; list at least one in its paths")
    for path in door.paths:
        if not path or path.startswith("/"):
            raise ValueError(f"front door {door.name!r}: path {path!r} must be relative to /run/<run_id>/ "
                             "and not empty, e.g. 'v1/chat/completions'")
        owner = next((other.name for other in _DOORS.values() if path in other.paths), None)
        if owner is not None:
            raise ValueError(f"front door {door.name!r}: path {path!r} is already served by {owner!r}")
    _DOORS[door.name] = door
    return door


def front_doors() -> tuple[FrontDoor, ...]:
    """Every registered front door, in registration order (the built-in ones first)."""
    return tuple(_DOORS.values())
