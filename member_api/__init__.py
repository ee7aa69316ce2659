"""The member API under /api/v1: controllers and msgspec schemas, no business rules."""
