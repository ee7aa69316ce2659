"""Moved to `registry.kernel.clock`; this name stays only for branches written before the
move and goes once they are merged (nothing in this repository imports it)."""

from registry.kernel.clock import Clock, ManualClock, SystemClock, as_utc, isoformat, parse_iso

__all__ = ["Clock", "ManualClock", "SystemClock", "as_utc", "isoformat", "parse_iso"]
