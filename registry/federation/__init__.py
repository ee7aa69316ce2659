"""The federation that runs the registry, and its member associations."""
