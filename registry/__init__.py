"""The Trust Registry domain: settings, models, services, jobs, CLI and the app factory."""
