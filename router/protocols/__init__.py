"""Front doors: the wire protocols the router serves, each turning its requests into a
CanonicalRequest and rendering canonical events back (the FrontDoor protocol, in base.py).

Each built-in module provides one ``Door`` (its ``FRONT_DOOR``); they are registered below, when
this package loads, through the same ``register_front_door`` a third party calls
(docs/howto/add-a-front-door.md), in the order the app lists their routes.
"""
from __future__ import annotations

from pytest_arena.router.protocols import anthropic_messages, ollama_api, openai_chat, openai_responses
from pytest_arena.router.protocols.base import Door, FrontDoor, StreamRenderer, front_doors, register_front_door

__all__ = ["BUILTIN_FRONT_DOORS", "Door", "FrontDoor", "StreamRenderer", "front_doors", "register_front_door"]

BUILTIN_FRONT_DOORS: tuple[Door, ...] = (
    openai_chat.FRONT_DOOR,
    anthropic_messages.FRONT_DOOR,
    openai_responses.FRONT_DOOR,
    ollama_api.FRONT_DOOR,
)
for _door in BUILTIN_FRONT_DOORS:
    register_front_door(_door)
