"""The predicate type URIs of the signed statements the registry accepts.

Kernel: the services that verify each kind and `registry.client`, which signs them, name
the same URI; keeping them here lets the client sign without importing any service.
"""

from __future__ import annotations

APPLICATION_PREDICATE = "https://trust-registry.dev/attestations/vendor-application/v1"
"""A vendor's signed application to join an association."""
ATTESTATION_PREDICATE = "https://trust-registry.dev/attestations/self-regulation/v1"
"""A member vendor's periodic self-attestation against a scheme's criteria."""
AUDIT_PREDICATE = "https://trust-registry.dev/attestations/audit-result/v1"
"""An accredited auditor's signed audit result."""
ROTATION_PREDICATE = "https://trust-registry.dev/attestations/key-rotation/v1"
"""A vendor's registration of a new key, signed by a current one."""
