"""Test doubles that speak real wire protocols (and data captured from real agents)."""
