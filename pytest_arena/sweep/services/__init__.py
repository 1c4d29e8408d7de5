"""Services the plugin starts or checks for a session: the embedded local model (``embedded``),
Ollama (``ollama``), and their lifecycle with the router's and the keys' (``lifecycle.Services``,
which the session owns)."""
