"""Auditors and audit results on the member API."""
