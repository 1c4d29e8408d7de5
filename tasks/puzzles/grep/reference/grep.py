"""A fixed-string grep with the flags -n -l -i -v -x."""
from __future__ import annotations

KNOWN_FLAGS = {"-n", "-l", "-i", "-v", "-x"}


def grep(pattern: str, flags: str, files: list[str]) -> str:
    chosen = set(flags.split())
    unknown = sorted(chosen - KNOWN_FLAGS)
    if unknown:
        raise ValueError(f"unknown flag: {unknown[0]}")
    fold = (lambda text: text.lower()) if "-i" in chosen else (lambda text: text)
    wanted = fold(pattern)
    several = len(files) > 1
    out: list[str] = []
    for name in files:
        with open(name, encoding="utf-8") as handle:
            lines = handle.read().splitlines()
        for number, line in enumerate(lines, start=1):
            text = fold(line)
            hit = text == wanted if "-x" in chosen else wanted in text
            if hit == ("-v" in chosen):
                continue
            if "-l" in chosen:
                out.append(name)
                break
            prefix = f"{name}:" if several else ""
            if "-n" in chosen:
                prefix += f"{number}:"
            out.append(prefix + line)
    return "".join(line + "\n" for line in out)
