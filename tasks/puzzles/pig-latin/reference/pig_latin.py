"""English to Pig Latin, one word at a time."""
from __future__ import annotations

VOWELS = set("aeiou")


def translate(text: str) -> str:
    return " ".join(_translate_word(word) for word in text.split(" "))


def _translate_word(word: str) -> str:
    if word[0] in VOWELS or word.startswith(("xr", "yt")):
        return word + "ay"
    split = 1  # the first letter is a consonant here, y included
    while split < len(word) and word[split] not in VOWELS and word[split] != "y":
        split += 1
    if word[split - 1] == "q" and word[split:split + 1] == "u":
        split += 1
    return word[split:] + word[:split] + "ay"
