"""Validate and normalise North American (NANP) phone numbers."""
from __future__ import annotations

ALLOWED_PUNCTUATION = set(" .-()")


class PhoneNumber:
    def __init__(self, raw: str):
        self.number = _clean(raw)
        self.area_code = self.number[:3]
        self.exchange_code = self.number[3:6]
        self.subscriber_number = self.number[6:]

    def pretty(self) -> str:
        return f"({self.area_code}) {self.exchange_code}-{self.subscriber_number}"


def _clean(raw: str) -> str:
    if any(char.isalpha() for char in raw):
        raise ValueError("letters are not allowed")
    body = raw.lstrip(" ")
    if body.startswith("+"):
        body = body[1:]
    if any(not char.isdigit() and char not in ALLOWED_PUNCTUATION for char in body):
        raise ValueError("punctuation is not allowed")
    digits = "".join(char for char in body if char.isdigit())
    if len(digits) < 10:
        raise ValueError("fewer than 10 digits")
    if len(digits) > 11:
        raise ValueError("more than 11 digits")
    if len(digits) == 11:
        if digits[0] != "1":
            raise ValueError("11-digit numbers must start with 1")
        digits = digits[1:]
    for name, first in (("area code", digits[0]), ("exchange code", digits[3])):
        if first in "01":
            raise ValueError(f"{name} cannot start with {first}")
    return digits
