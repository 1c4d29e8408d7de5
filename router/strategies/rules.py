"""``rules``: cloud when the prompt is big, code-heavy or asks for design-level work.

Agents send large system prompts, so with the default token limit this is close to always-cloud
for agent traffic (as in the original); sweep ``rules.token_limit`` to see the trade-off.
"""
from __future__ import annotations

from pytest_arena.router.contracts import CanonicalRequest
from pytest_arena.router.strategies.base import Decision, Strategy, StrategyContext
from pytest_arena.router.strategies.params import RULES, param
from pytest_arena.router.strategies.text import CLOUD, LOCAL, count_code_blocks, last_user_text, prompt_tokens

__all__ = ["STRATEGY", "decide"]


def decide(req: CanonicalRequest, ctx: StrategyContext) -> Decision:
    token_limit = param(ctx.params, "rules.token_limit")
    block_limit = param(ctx.params, "rules.code_blocks")
    text = last_user_text(req.messages).lower()
    tokens = prompt_tokens(req.messages)
    blocks = count_code_blocks(text)
    cloud_words = CLOUD.found(text)

    triggers = []
    if tokens > token_limit:
        triggers.append(f"prompt ~{tokens} tokens > {token_limit}")
    if blocks >= block_limit:
        triggers.append(f"{blocks} code blocks >= {block_limit}")
    if cloud_words:
        triggers.append("cloud keywords: " + ", ".join(cloud_words))
    meta = {"prompt_tokens": tokens, "code_blocks": blocks, "cloud_keywords": cloud_words,
            "token_limit": token_limit, "code_block_limit": block_limit}

    if triggers:
        confidence = min(1.0, 0.5 + 0.15 * len(triggers))
        return Decision("cloud", "rules: " + "; ".join(triggers) + " -> cloud", confidence, meta)
    local_words = LOCAL.found(text)
    meta["local_keywords"] = local_words
    if local_words:
        return Decision("local", "rules: local keywords: " + ", ".join(local_words) + " -> local",
                        0.85, meta)
    return Decision("local", "rules: no trigger -> local", 0.6, meta)


STRATEGY = Strategy("rules", decide, params=RULES)
