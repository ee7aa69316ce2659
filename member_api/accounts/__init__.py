"""Challenge-response login and the caller's own identity."""
