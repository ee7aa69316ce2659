"""Applications and the vendor directory."""
