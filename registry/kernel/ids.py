"""Stored forms of secret identifiers.

Kernel: accounts stores bearer tokens and complaints store a consumer's secret the same
way, so a leaked database gives neither.
"""

from __future__ import annotations

import hashlib


def hash_token(token: str) -> str:
    """The stored form of a bearer token or secret: its SHA-256, hex."""
    return hashlib.sha256(token.encode("utf-8")).hexdigest()
