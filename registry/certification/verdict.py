"""The one rule for whether a vendor may be called certified at a given moment.

Every face of a certificate reads this verdict: the API's `certified`, `state` and
`level`, the profile and verify pages, the badge image and its shields.io document, and
the signed badge token. Keeping the rule here, beside the certificate, means a face
cannot drift from the others: before, the API ignored `valid_until` while the badge did
not, so the two could disagree for as long as the expiry job had not yet run.

Fail closed: only an active or renewal-due certificate with a level of 1-3 and a validity
that has not ended is "certified". A certificate whose validity ended reads "expired"
even before the expiry job records the transition, so a stopped scheduler can never keep
a vendor green; a certifying state with missing facts reads "not certified".
"""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime
from typing import Final

from registry.certification.status import CertificationState, PublicCertification

CERTIFIED_LEVELS: Final = frozenset({1, 2, 3})


class VerdictKind(enum.StrEnum):
    """The six things that may be said of a vendor's certificate; each has its own badge."""

    CERTIFIED = "certified"
    RENEWAL_DUE = "renewal_due"
    SUSPENDED = "suspended"
    REVOKED = "revoked"
    EXPIRED = "expired"
    NOT_CERTIFIED = "not_certified"


_KIND_OF_HELD_STATE: Final = {
    CertificationState.SUSPENDED: VerdictKind.SUSPENDED,
    CertificationState.REVOKED: VerdictKind.REVOKED,
    CertificationState.EXPIRED: VerdictKind.EXPIRED,
}


@dataclass(frozen=True)
class Verdict:
    """What may be said about a vendor now: the kind, the effective state and its level.

    `state` is the state in effect, which is `expired` once the validity has ended even if
    the stored certificate still reads active; `level` is set only while certified.
    """

    kind: VerdictKind
    state: CertificationState | None
    level: int | None

    @property
    def certified(self) -> bool:
        """True only for the two certified kinds."""
        return self.kind in {VerdictKind.CERTIFIED, VerdictKind.RENEWAL_DUE}


NOT_CERTIFIED: Final = Verdict(VerdictKind.NOT_CERTIFIED, None, None)


def verdict(certification: PublicCertification | None, now: datetime) -> Verdict:
    """Decide what may be claimed about a certificate at `now`, failing closed."""
    if certification is None or certification.state is None:
        return NOT_CERTIFIED
    state = certification.state
    if not state.certifies:
        return Verdict(_KIND_OF_HELD_STATE.get(state, VerdictKind.NOT_CERTIFIED), state, None)
    if certification.level not in CERTIFIED_LEVELS or certification.valid_until is None:
        return NOT_CERTIFIED
    if now >= certification.valid_until:
        return Verdict(VerdictKind.EXPIRED, CertificationState.EXPIRED, None)
    kind = VerdictKind.CERTIFIED if state is CertificationState.ACTIVE else VerdictKind.RENEWAL_DUE
    return Verdict(kind, state, certification.level)
