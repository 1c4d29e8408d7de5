"""The live display's terminal: pytest's own output passes through, and the running cells are drawn
below it, redrawn in place on a terminal (ANSI), never on a pipe."""
from __future__ import annotations

import os
import re
import threading

ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[78]")


class TerminalProxy:
    """Stands in for the file pytest's terminal writer writes to, so that pytest's output and the
    progress lines never interleave mid-write and pytest's idea of its current line stays true.
    On a terminal it keeps a block of live lines under pytest's current line (erased before pytest
    writes, redrawn on the next tick); on a pipe it prints plain lines and then pytest's
    unfinished line again, so pytest's letters go on where it expects them.

    The progress lines go to a duplicate of pytest's own output descriptor, taken while pytest's
    output capture is off: during a cell pytest captures descriptor 1 for the test, and lines
    written there would land in the cell's captured output instead of on the screen."""

    def __init__(self, writer, live: bool):
        self.writer = writer
        self.file = writer._file
        self.live = live
        try:
            self.out = open(os.dup(self.file.fileno()), "w", encoding=getattr(self.file, "encoding", None) or "utf-8",
                            errors="replace", closefd=True)
        except (AttributeError, OSError, ValueError):  # not a real descriptor (an in-process pytester run)
            self.out = self.file
        self.lock = threading.RLock()
        self.tail = ""  # what pytest wrote after its last newline (the cursor's column)
        self.drawn = 0  # lines of the block on screen
        writer._file = self

    def write(self, text: str) -> int:
        with self.lock:
            self._erase()
            written = self.file.write(text)
            self.tail = text.rsplit("\n", 1)[-1] if "\n" in text else self.tail + text
            return written

    def flush(self) -> None:
        self.file.flush()

    def __getattr__(self, name: str):
        return getattr(self.file, name)

    def _erase(self) -> None:
        if self.drawn:
            # save the cursor (end of pytest's line), clear everything below it, come back
            self.out.write("\x1b7\x1b[1B\r\x1b[J\x1b8")
            self.out.flush()
            self.drawn = 0

    def draw(self, lines: list[str]) -> None:
        """Draw ``lines`` under pytest's current line and put the cursor back where pytest left it."""
        with self.lock:
            self._erase()
            if not lines:
                return
            width = max(20, self._width() - 1)  # a wrapped line would break the block's height
            lines = [line[:width] for line in lines]
            column = len(ANSI.sub("", self.tail)) + 1
            # make room first (scrolls if needed), then draw inside it with the cursor saved
            out = ["\n" * len(lines), f"\x1b[{len(lines)}A\x1b[{column}G\x1b7"]
            out += [f"\x1b[1B\r{line}\x1b[K" for line in lines]
            out.append("\x1b8")
            self.file.flush()  # pytest's own text first
            self.out.write("".join(out))
            self.out.flush()
            self.drawn = len(lines)

    def _width(self) -> int:
        """The terminal's width, asked of our own descriptor: pytest's (1) is a capture file mid-cell."""
        try:
            columns = os.get_terminal_size(self.out.fileno()).columns
        except (AttributeError, OSError, ValueError):
            columns = 0
        return columns or self.writer.fullwidth  # 0: a terminal that never said its size

    def print_lines(self, lines: list[str]) -> None:
        with self.lock:
            self.file.flush()
            self.out.write(("\n" if self.tail else "") + "\n".join(lines) + "\n" + self.tail)
            self.out.flush()

    def restore(self) -> None:
        with self.lock:
            self._erase()
            self.writer._file = self.file
            if self.out is not self.file:
                self.out.close()
                self.out = self.file

