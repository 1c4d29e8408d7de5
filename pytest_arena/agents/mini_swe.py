"""mini-swe-agent (placeholder run; filled in below)."""
from __future__ import annotations

from .installers import InstalledAgent, PinnedPackage


class MiniSweAgent(InstalledAgent):
    name = "mini-swe-agent"
    pinned = PinnedPackage("pip", "mini-swe-agent", "2.4.6", "mini")

    def run(self, ctx):
        raise NotImplementedError
