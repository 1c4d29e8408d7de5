"""The output meter: how many completion tokens a local answer has produced while it streams, so
the call pipeline can hold it to the local output cap (LocalGuards.max_output_tokens) and count
an answer cut short. A run that keeps a transcript with bodies meters with ``RecordingMeter``,
which also keeps the events it saw: the transcript assembles the answer from them later, when it
writes, not while the call streams.
"""
from __future__ import annotations

from pytest_arena.router.contracts import Event, TextDelta, ToolCallDelta, Usage

__all__ = ["OutputMeter", "RecordingMeter"]

# Characters a token may hold at most, for the estimate: English runs ~4-5 characters a token and
# code fewer, so the estimate stays low and never cuts a server that honours the cap early.
_MAX_CHARS_PER_TOKEN = 6


class OutputMeter:
    """Counts a local answer's completion tokens as it streams, for the output cap: the upstream's
    own count when it sends one (a usage chunk), else an estimate from the deltas that errs low.
    Local servers (Ollama, llama.cpp, vLLM) stream one token per piece, so pieces do not
    overcount; characters catch a server that sends many tokens per piece."""

    __slots__ = ("reported", "pieces", "chars")

    def __init__(self) -> None:
        self.reported: int | None = None
        self.pieces = 0
        self.chars = 0

    def add(self, ev: Event) -> None:
        if isinstance(ev, TextDelta):
            if ev.text:
                self.pieces += 1
                self.chars += len(ev.text)
        elif isinstance(ev, ToolCallDelta):
            self.pieces += 1
            self.chars += len(ev.arguments) + len(ev.name or "")
        elif isinstance(ev, Usage) and ev.completion:
            self.reported = ev.completion

    def tokens(self) -> int:
        if self.reported is not None:
            return self.reported
        return max(self.pieces, self.chars // _MAX_CHARS_PER_TOKEN)

    def at_least(self, tokens: int) -> bool:
        return self.tokens() >= tokens

    def usage(self, seen: Usage | None, prompt_estimate: int) -> Usage:
        """Usage of an answer cut short: the tokens actually received; the prompt's tokens as the
        upstream counted them, else ``prompt_estimate`` (canonical.estimate_prompt_tokens)."""
        if seen is None:
            return Usage(prompt=prompt_estimate, completion=self.tokens())
        return Usage(prompt=seen.prompt or prompt_estimate, completion=self.tokens(),
                     cached=seen.cached, reasoning=seen.reasoning)


class RecordingMeter(OutputMeter):
    """An OutputMeter that also keeps every event it sees, for the transcript's response."""

    __slots__ = ("events",)

    def __init__(self) -> None:
        super().__init__()
        self.events: list[Event] = []

    def add(self, ev: Event) -> None:
        self.events.append(ev)
        OutputMeter.add(self, ev)
