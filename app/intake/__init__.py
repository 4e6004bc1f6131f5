"""The HTTP side: the Starlette app, its endpoints and the webhook's own checks."""
