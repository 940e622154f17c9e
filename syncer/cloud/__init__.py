"""The Cloud API client: sessions, one shared adaptive rate limiter, transport, typed operations."""
