"""Webhook endpoints and delivery logs on the member API."""
