"""Fixtures of the fake GitHub tests (defined in support.fake_world)."""

from support.fake_world import served_world, world

__all__ = ["served_world", "world"]
