"""Accredited auditors and the signed audit results they submit."""
