"""The REST API: app factory, shared dependencies, error handlers."""
