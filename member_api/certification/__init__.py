"""Certificates, schemes and attestations on the member API."""
