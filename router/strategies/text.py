"""Text helpers shared by the strategies: token estimate, code blocks, whole-word keyword lists.

The keyword lists are the original router's; what changed is how they match. The original tested
raw substrings, so "plan" fired on "explanation" and "long" on "belong". Here a keyword matches
only as a whole word or phrase (any case, any whitespace between the words of a phrase).
"""
from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

from pytest_arena.router.contracts import Message

CLOUD_KEYWORDS: tuple[str, ...] = (
    "design", "architect", "architecture", "explain why", "compare", "long", "comprehensive",
    "plan", "strategy", "trade-off", "tradeoff", "production", "security", "threat model",
    "performance critical", "optimize", "refactor entire", "refactor all", "migration plan",
    "step by step", "prove", "derive", "analyze the", "review the", "best way to",
    "what would be the best",
)
LOCAL_KEYWORDS: tuple[str, ...] = (
    "rename", "typo", "add a comment", "format", "prettier", "what is", "fix the typo",
    "change the variable", "convert", "one-liner", "quick", "trivial",
)


def phrase_pattern(phrase: str) -> re.Pattern[str]:
    """The phrase's words (lower-case, any whitespace between them), not followed by a word
    character. The left boundary is checked by ``KeywordList``: a pattern that starts with a
    look-behind loses the regex engine's fast literal scan (measured 50x slower on 1 MB)."""
    body = r"\s+".join(re.escape(word) for word in phrase.lower().split())
    return re.compile(body + r"(?!\w)")


def _word_char_before(text: str, index: int) -> bool:
    return index > 0 and (text[index - 1].isalnum() or text[index - 1] == "_")


class KeywordList:
    """Fixed phrases matched as whole words or phrases in lower-cased text.

    Boundaries are "no word character on either side" rather than ``\\b``, so phrases that start
    or end with punctuation (``<pr_description>``, ``*file listing*``) still match.
    """

    def __init__(self, phrases: Iterable[str]):
        self.phrases = tuple(phrases)
        self._patterns = tuple((p, phrase_pattern(p)) for p in self.phrases)

    @staticmethod
    def _occurs(pattern: re.Pattern[str], text: str) -> bool:
        return any(not _word_char_before(text, m.start()) for m in pattern.finditer(text))

    def found(self, lowered_text: str) -> list[str]:
        """Phrases present in ``lowered_text`` (already lower-cased), each listed once."""
        return [p for p, pattern in self._patterns if self._occurs(pattern, lowered_text)]

    def first(self, lowered_text: str) -> str | None:
        """The first phrase (in list order) present in ``lowered_text``, or None."""
        for phrase, pattern in self._patterns:
            if self._occurs(pattern, lowered_text):
                return phrase
        return None


CLOUD = KeywordList(CLOUD_KEYWORDS)
LOCAL = KeywordList(LOCAL_KEYWORDS)


def approx_tokens(text: str) -> int:
    """The original's estimate: ceil(chars / 4)."""
    return -(-len(text) // 4)


def count_code_blocks(text: str) -> int:
    """Complete ``` fenced blocks: floor(fences / 2)."""
    return text.count("```") // 2


def last_user_text(messages: Sequence[Message]) -> str:
    for message in reversed(messages):
        if message.role == "user":
            return message.content
    return ""


def prompt_tokens(messages: Sequence[Message]) -> int:
    """Estimated prompt size: ceil(chars/4) per message, tool-call arguments included (an agent's
    earlier file writes are prompt text too)."""
    total = 0
    for message in messages:
        total += approx_tokens(message.content)
        for call in message.tool_calls:
            total += approx_tokens(call.arguments)
    return total


def system_text(messages: Sequence[Message]) -> str:
    """All system-message text, lower-cased, one message per line."""
    return "\n".join(m.content for m in messages if m.role == "system").lower()
