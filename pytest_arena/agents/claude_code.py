"""claude-code (placeholder run; filled in below)."""
from __future__ import annotations

from .installers import InstalledAgent, PinnedPackage


class ClaudeCodeAgent(InstalledAgent):
    name = "claude-code"
    pinned = PinnedPackage("npm", "@anthropic-ai/claude-code", "2.1.197", "claude")

    def run(self, ctx):
        raise NotImplementedError
