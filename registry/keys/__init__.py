"""Signing keys of vendors, auditors and principals: registration, rotation, revocation."""
