"""Service configuration."""

HOST = "127.0.0.1"
PORT = 8000

# Per-client request budget: at most RATE_LIMIT_MAX_REQUESTS requests in any
# RATE_LIMIT_WINDOW_SECONDS-long sliding window.
RATE_LIMIT_MAX_REQUESTS = 100
RATE_LIMIT_WINDOW_SECONDS = 60.0
# Paths that are never rate limited (the load balancer's health probe).
RATE_LIMIT_EXEMPT_PATHS = ("/health",)
