"""aider (placeholder run; filled in below)."""
from __future__ import annotations

from .installers import InstalledAgent, PinnedPackage


class AiderAgent(InstalledAgent):
    name = "aider"
    pinned = PinnedPackage("pip", "aider-chat", "0.86.2", "aider")

    def run(self, ctx):
        raise NotImplementedError
