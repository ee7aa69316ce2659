"""Vendor signing keys: listing, rotation, revocation."""
