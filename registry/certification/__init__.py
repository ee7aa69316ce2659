"""Certification: schemes, self-regulation attestations and the certificate's state machine."""
