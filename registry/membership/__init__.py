"""Vendors and their applications to join an association."""
