"""The federation's public key and service health."""
