"""Agent adapters (see base.AgentAdapter)."""
