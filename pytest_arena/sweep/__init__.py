"""What a sweep is: the config, the cells it makes, the session's state and the services it starts
(router, embedded model, Ollama), measured settings, resume, plan and setup."""
