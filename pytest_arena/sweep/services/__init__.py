"""Services the plugin starts or checks for a session: the embedded local model and Ollama."""
