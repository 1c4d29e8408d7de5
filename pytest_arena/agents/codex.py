"""codex (placeholder run; filled in below)."""
from __future__ import annotations

from .installers import InstalledAgent, PinnedPackage


class CodexAgent(InstalledAgent):
    name = "codex"
    pinned = PinnedPackage("npm", "@openai/codex", "0.171.0", "codex")

    def run(self, ctx):
        raise NotImplementedError
