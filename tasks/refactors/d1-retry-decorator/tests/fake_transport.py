"""A scripted stand-in for urllib_transport: no network, every call recorded."""
from __future__ import annotations


class ScriptedTransport:
    """Plays back ``script`` one entry per call: a (status, body) pair or an exception to raise.

    The last entry repeats once the script runs out.
    """

    def __init__(self, *script):
        self.script = list(script)
        self.calls: list[tuple[str, str]] = []

    def __call__(self, method: str, url: str):
        self.calls.append((method, url))
        step = self.script[min(len(self.calls), len(self.script)) - 1]
        if isinstance(step, BaseException):
            raise step
        return step
