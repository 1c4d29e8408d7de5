"""Backends: where a routed call is answered (Ollama, OpenAI-compatible, Anthropic, embedded, scripted)."""
