"""Outbox and signed webhooks to vendors' endpoints."""
