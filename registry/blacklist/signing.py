"""Building the signed statements of the blacklist procedure, for the CLI, the demo and
tests (the registry itself only verifies them)."""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from datetime import datetime

from attestations.envelope import Envelope, sign_envelope
from attestations.keys import SigningKey
from attestations.statement import Subject, make_statement
from registry.blacklist.notice import ANSWER_PREDICATE
from registry.kernel.clock import isoformat


def case_subject(reference: str) -> Subject:
    """The in-toto subject naming a case."""
    return Subject(
        name=f"blacklist-case:{reference}",
        digest={"sha256": hashlib.sha256(reference.encode()).hexdigest()},
    )


def answer_envelope(
    key: SigningKey,
    *,
    case: str,
    vendor: str,
    statement: str,
    issued_at: datetime,
    remedies: Sequence[str] = (),
    evidence_digests: Sequence[str] = (),
) -> Envelope:
    """A vendor's answer to a case (陈述申辩), signed by one of its keys."""
    predicate = {
        "case": case,
        "vendor": vendor,
        "statement": statement,
        "remedies": list(remedies),
        "evidence_digests": list(evidence_digests),
        "issued_at": isoformat(issued_at),
    }
    document = make_statement([case_subject(case)], ANSWER_PREDICATE, predicate)
    return sign_envelope(document.to_bytes(), [key])
