"""Handlers: one module per concern; the table that routes deliveries to them is table.py.

Nothing is imported here: the worker imports the router's interface (routing.py), and
importing it must load no handler (docs/ARCHITECTURE.md).
"""
