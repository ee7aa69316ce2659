"""One error hierarchy for the library; every error carries a sentence a person can act on."""

from __future__ import annotations


class AttestationError(Exception):
    """Base of every error raised by `attestations`.

    `reason` is the human diagnostic; `code` is a stable machine-readable slug that the
    registry maps to a problem+json `type`.
    """

    code = "attestation-error"

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class CanonicalJSONError(AttestationError):
    """The bytes are not JSON, or the value cannot be put in RFC 8785 form."""

    code = "invalid-json"


class KeyFormatError(AttestationError):
    """A key or key file is malformed."""

    code = "invalid-key"


class SignatureError(AttestationError):
    """A signature does not verify under the key it names."""

    code = "bad-signature"


class EnvelopeError(AttestationError):
    """A DSSE envelope is malformed or its signatures do not verify."""

    code = "invalid-envelope"


class StatementError(AttestationError):
    """An in-toto statement is malformed."""

    code = "invalid-statement"


class ProofError(AttestationError):
    """A Merkle inclusion or consistency proof does not verify."""

    code = "bad-proof"


class CheckpointError(AttestationError):
    """A checkpoint or signed note is malformed or its signature does not verify."""

    code = "bad-checkpoint"


class TokenError(AttestationError):
    """A signed badge token is malformed, expired or not signed by the expected key."""

    code = "bad-token"
