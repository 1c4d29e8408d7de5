"""cline (placeholder run; filled in below)."""
from __future__ import annotations

from .installers import InstalledAgent, PinnedPackage


class ClineAgent(InstalledAgent):
    name = "cline"
    pinned = PinnedPackage("npm", "cline", "3.0.65", "cline")

    def run(self, ctx):
        raise NotImplementedError
