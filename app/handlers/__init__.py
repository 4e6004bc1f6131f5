"""Handlers: one module per concern, registered in app.routes."""
