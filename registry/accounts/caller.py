"""Moved to `registry.kernel.caller`; this name stays only for branches written before the
move and goes once they are merged (nothing in this repository imports it)."""

from registry.kernel.caller import Caller, Role

__all__ = ["Caller", "Role"]
