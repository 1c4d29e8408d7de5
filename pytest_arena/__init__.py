"""pytest-arena: benchmark coding agents under hybrid local/cloud LLM routing, as a pytest plugin."""
__version__ = "0.1.0"
