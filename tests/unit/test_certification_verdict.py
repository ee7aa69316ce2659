"""The one "certified" rule: each state has its kind, and it fails closed on anything
incomplete or past its validity (`registry.certification.verdict`)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from registry.certification.status import CertificationState as S
from registry.certification.status import PublicCertification
from registry.certification.verdict import NOT_CERTIFIED, VerdictKind, verdict

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=UTC)


def cert(
    state: S | None, level: int | None = 2, valid_until: datetime | None = NOW + timedelta(days=90)
) -> PublicCertification:
    """A public certificate of a demo vendor."""
    return PublicCertification(
        vendor_slug="yunzhan-cloud",
        name_zh="云栈科技有限公司",
        name_en="Yunzhan Cloud",
        state=state,
        level=level,
        valid_until=valid_until,
        scheme="consumer-protection@1",
        log_index=3,
        changed_at=NOW - timedelta(days=1),
    )


@pytest.mark.parametrize(
    ("certification", "kind", "level"),
    [
        (cert(S.ACTIVE, 1), VerdictKind.CERTIFIED, 1),
        (cert(S.ACTIVE, 3), VerdictKind.CERTIFIED, 3),
        (cert(S.RENEWAL_DUE, 2), VerdictKind.RENEWAL_DUE, 2),
        (cert(S.SUSPENDED, None), VerdictKind.SUSPENDED, None),
        (cert(S.REVOKED, None), VerdictKind.REVOKED, None),
        (cert(S.EXPIRED, None), VerdictKind.EXPIRED, None),
        (cert(S.APPLIED, None), VerdictKind.NOT_CERTIFIED, None),
        (cert(None, None, None), VerdictKind.NOT_CERTIFIED, None),
        (None, VerdictKind.NOT_CERTIFIED, None),
    ],
    ids=[
        "l1",
        "l3",
        "renewal-due",
        "suspended",
        "revoked",
        "expired",
        "applied",
        "none",
        "unknown",
    ],
)
def test_verdict_follows_state(
    certification: PublicCertification | None, kind: VerdictKind, level: int | None
) -> None:
    """Each state has its face; only active and renewal-due carry a level."""
    decided = verdict(certification, NOW)
    assert (decided.kind, decided.level) == (kind, level)
    assert decided.certified == (kind in {VerdictKind.CERTIFIED, VerdictKind.RENEWAL_DUE})


@pytest.mark.parametrize(
    "certification",
    [
        cert(S.ACTIVE, None),
        cert(S.ACTIVE, 4),
        cert(S.ACTIVE, 0),
        cert(S.ACTIVE, 2, valid_until=None),
        cert(S.RENEWAL_DUE, None),
    ],
    ids=["no-level", "level-4", "level-0", "no-validity", "renewal-without-level"],
)
def test_incomplete_certificates_fail_closed(certification: PublicCertification) -> None:
    """A certified state with missing or impossible facts reads "not certified"."""
    assert verdict(certification, NOW) == NOT_CERTIFIED


def test_ended_validity_reads_expired_before_the_job_runs() -> None:
    """Past valid_until the badge says expired even if the state still says active."""
    active = cert(S.ACTIVE, 2, valid_until=NOW)
    assert verdict(active, NOW).kind is VerdictKind.EXPIRED
    assert verdict(active, NOW - timedelta(seconds=1)).kind is VerdictKind.CERTIFIED
