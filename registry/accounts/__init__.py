"""Principals, roles, API tokens and challenge-response login."""
