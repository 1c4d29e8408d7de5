"""opencode (placeholder run; filled in below)."""
from __future__ import annotations

from .installers import InstalledAgent, PinnedPackage


class OpencodeAgent(InstalledAgent):
    name = "opencode"
    pinned = PinnedPackage("npm", "opencode-ai", "1.18.33", "opencode")

    def run(self, ctx):
        raise NotImplementedError
