"""Reaching GitHub: the client, what it may reuse, reading files from a tree."""
