"""Applications to join, their approval or rejection, and the public vendor directory."""

from __future__ import annotations

import secrets
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

import msgspec
from sqlalchemy import delete, func, or_, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import selectinload

from attestations.envelope import Envelope, verify_envelope
from attestations.errors import AttestationError
from attestations.keys import PublicKey
from registry.accounts.models import Principal
from registry.context import RegistryContext
from registry.errors import Conflict, InvalidInput, NotFound, PermissionDenied
from registry.events import publish
from registry.federation.models import Association
from registry.kernel.caller import Caller, Role
from registry.kernel.clock import isoformat
from registry.kernel.credit_code import CreditCodeError, normalise_credit_code
from registry.kernel.members import VendorStatus, is_member, member_condition
from registry.kernel.patterns import DOMAIN_PATTERN, EMAIL_PATTERN, SLUG_PATTERN
from registry.kernel.predicates import APPLICATION_PREDICATE
from registry.keys.models import KeyStatus, SigningKeyRecord
from registry.keys.registration import any_registered, register_key
from registry.membership.events import VendorAdmitted
from registry.membership.models import (
    ApplicationStatus,
    Vendor,
    VendorApplication,
    VendorDomain,
    VendorSize,
)
from registry.outbound import is_public_suffix
from registry.pagination import Page
from registry.rate_limits import Limit, fingerprint_key, spend
from registry.signed_statements import (
    check_issued_at,
    decode_predicate,
    open_statement,
    signature_error,
)
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf

MAX_DOMAINS = 20
NAME_MAX_CHARS = 200
WEBSITE_MAX_CHARS = 300
EMAIL_MAX_CHARS = 254


class ApplicationClaims(msgspec.Struct, forbid_unknown_fields=True):
    """The predicate of a signed application; every field is what the vendor swears to."""

    association: str
    credit_code: str
    slug: str
    name_zh: str
    name_en: str
    public_key: str
    issued_at: str
    domains: list[str] = []
    website: str | None = None
    contact_email: str | None = None
    size: str | None = None
    """micro, small, medium or large (`VendorSize`); absent when the vendor does not say."""


@dataclass(frozen=True)
class SubmittedApplication:
    """An application and whether this call created it (False for an idempotent retry)."""

    application: VendorApplication
    created: bool


@dataclass(frozen=True)
class ApplicationReview:
    """An application as its association reviews it: what it claims, and the other
    pending applications for the same credit code (from other keys), which an admin must
    tell apart before approving one."""

    application: VendorApplication
    claims: ApplicationClaims
    competing: tuple[int, ...]


def application_claims(application: VendorApplication) -> ApplicationClaims:
    """What the stored, verified envelope of an application claims."""
    statement = open_statement(Envelope.from_json(application.envelope), APPLICATION_PREDICATE)
    return decode_predicate(statement, ApplicationClaims)


def _validated_text(value: str, field: str, max_length: int) -> str:
    text = value.strip()
    if not text:
        raise InvalidInput(f"{field} must not be empty", fields={field: "required"})
    if len(text) > max_length:
        raise InvalidInput(
            f"{field} is {len(text)} characters, at most {max_length} allowed",
            fields={field: "too long"},
        )
    return text


def _registered_key(envelope: Envelope, claims: ApplicationClaims) -> PublicKey:
    """The key the application registers, which must have signed it (proof of possession)."""
    try:
        public_key = PublicKey.from_base64(claims.public_key)
    except AttestationError as exc:
        raise InvalidInput(
            f"predicate.public_key: {exc.reason}", fields={"public_key": exc.reason}
        ) from exc
    try:
        verify_envelope(envelope, {public_key.key_id: public_key}, require={public_key.key_id})
    except AttestationError as exc:
        raise signature_error(exc) from exc
    return public_key


def _credit_code_and_slug(claims: ApplicationClaims) -> tuple[str, str]:
    """The normalised credit code and slug the application asks for."""
    try:
        credit_code = normalise_credit_code(claims.credit_code)
    except CreditCodeError as exc:
        raise InvalidInput(f"credit_code: {exc}", fields={"credit_code": str(exc)}) from exc
    slug = claims.slug.strip().lower()
    if not SLUG_PATTERN.match(slug):
        raise InvalidInput(
            "slug must be 1-64 lower-case letters, digits and inner hyphens",
            fields={"slug": "invalid"},
        )
    return credit_code, slug


def validated_website(value: str | None) -> str | None:
    """An absolute http(s) URL of at most `WEBSITE_MAX_CHARS`, or None."""
    if value is None or not value.strip():
        return None
    url = value.strip()
    if len(url) > WEBSITE_MAX_CHARS:
        raise InvalidInput(
            f"website is {len(url)} characters, at most {WEBSITE_MAX_CHARS} allowed",
            fields={"website": "too long"},
        )
    parts = urlsplit(url)
    if (
        parts.scheme not in {"http", "https"}
        or not parts.hostname
        or parts.username is not None
        or any(c.isspace() or not c.isprintable() for c in url)
    ):
        raise InvalidInput(
            "website must be an absolute http:// or https:// URL like https://shop.example.cn",
            fields={"website": "not an http(s) URL"},
        )
    return url


def validated_size(value: str | None) -> VendorSize | None:
    """A declared size band (`VendorSize`), or None when none was declared."""
    if value is None:
        return None
    try:
        return VendorSize(value)
    except ValueError:
        choices = ", ".join(size.value for size in VendorSize)
        raise InvalidInput(
            f"size must be one of {choices} (the SME bands for software and IT services), "
            f"not {value!r}; leave it out when unsure",
            fields={"size": "unknown size"},
        ) from None


def validated_email(value: str | None) -> str | None:
    """An e-mail address of at most `EMAIL_MAX_CHARS`, or None."""
    if value is None or not value.strip():
        return None
    email = value.strip()
    if len(email) > EMAIL_MAX_CHARS or not EMAIL_PATTERN.match(email):
        raise InvalidInput(
            f"contact_email must be an address like service@example.cn of at most "
            f"{EMAIL_MAX_CHARS} characters",
            fields={"contact_email": "not an e-mail address"},
        )
    return email


def new_proof_token() -> str:
    """A registry-issued token a vendor serves to prove control of one claimed domain."""
    return secrets.token_urlsafe(32)


def validate_domains(domains: list[str]) -> list[str]:
    """Lower-case, de-duplicate and check each host name; public suffixes are refused.

    A public suffix (`com.cn`, `github.io`) is where the public registers names: nobody
    controls it, and complaints about every shop under it must never reach one vendor.
    The Public Suffix List ships inside the `publicsuffixlist` package.
    """
    if len(domains) > MAX_DOMAINS:
        raise InvalidInput(f"at most {MAX_DOMAINS} domains", fields={"domains": "too many"})
    cleaned: list[str] = []
    for raw in domains:
        domain = raw.strip().lower().rstrip(".")
        if not DOMAIN_PATTERN.match(domain):
            raise InvalidInput(
                f"{raw!r} is not a host name like shop.example.cn", fields={"domains": raw}
            )
        if is_public_suffix(domain):
            raise InvalidInput(
                f"{domain} is a public suffix that anyone can register names under; "
                f"list the domain you own, such as your-shop.{domain}",
                fields={"domains": raw},
            )
        if domain not in cleaned:
            cleaned.append(domain)
    return cleaned


class MembershipService:
    """Vendors join by signed application; association admins decide; anyone can look up."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx
        self._fingerprints = fingerprint_key(ctx.federation_key.seed)

    async def submit_application(
        self, envelope: Envelope, *, client: str | None = None
    ) -> SubmittedApplication:
        """Accept a signed application whose envelope verifies under the key it carries.

        Anonymous and logged for good, so bounded: the envelope's size, each field, and
        how many are accepted per client address (`client`, None in-process) and per
        credit code in a window.
        """
        settings = self.ctx.settings
        size = len(envelope.to_json())
        if size > settings.application_max_bytes:
            raise InvalidInput(
                f"the application envelope is {size} bytes, at most "
                f"{settings.application_max_bytes} allowed",
                fields={"envelope": "too large"},
            )
        digest = envelope.digest()
        async with self.ctx.db.read() as session:
            existing = await _application_by_digest(session, digest)
        if existing is not None:
            return SubmittedApplication(existing, created=False)

        statement = open_statement(envelope, APPLICATION_PREDICATE)
        claims = decode_predicate(statement, ApplicationClaims)
        public_key = _registered_key(envelope, claims)
        now = self.ctx.clock.now()
        check_issued_at(claims.issued_at, now, self.ctx.settings)
        credit_code, slug = _credit_code_and_slug(claims)
        name_zh = _validated_text(claims.name_zh, "name_zh", NAME_MAX_CHARS)
        name_en = _validated_text(claims.name_en, "name_en", NAME_MAX_CHARS)
        website = validated_website(claims.website)
        contact_email = validated_email(claims.contact_email)
        declared_size = validated_size(claims.size)
        domains = validate_domains(claims.domains)
        limits = self._application_limits(credit_code, client)

        async with self.ctx.db.transaction() as session:
            existing = await _application_by_digest(session, digest)
            if existing is not None:
                return SubmittedApplication(existing, created=False)
            association = (
                await session.execute(
                    select(Association).where(Association.slug == claims.association)
                )
            ).scalar_one_or_none()
            if association is None:
                raise InvalidInput(
                    f"no association with slug {claims.association!r}",
                    fields={"association": "unknown"},
                )
            if await any_registered(session, [public_key.key_id]):
                raise Conflict(
                    "this public key is already registered; generate a new key to apply",
                    fields={"public_key": "already registered"},
                )
            await _refuse_member_domains(session, domains)
            vendor, contested = await self._vendor_for_application(
                session, credit_code, slug, association.id
            )
            if not contested:
                # While applications from several keys are pending, the vendor row keeps
                # the first one's details; approving one applies that one's.
                vendor.slug, vendor.name_zh, vendor.name_en = slug, name_zh, name_en
                vendor.website, vendor.contact_email = website, contact_email
                vendor.size = declared_size
                vendor.updated_at = now
            await spend(session, self._fingerprints, limits, now, "applications")
            register_key(session, public_key, now, vendor_id=vendor.id, pending=True)
            application = VendorApplication(
                vendor_id=vendor.id,
                envelope=envelope.to_json(),
                envelope_digest=digest,
                key_id=public_key.key_id,
                status=ApplicationStatus.PENDING,
                submitted_at=now,
            )
            session.add(application)
            await session.flush()
            application.log_index = await LogAppender(session, now).append(
                PendingLeaf(
                    EntryType.APPLICATION,
                    {"application_id": application.id, "envelope": envelope.to_dict()},
                    vendor_id=vendor.id,
                    vendor_slug=vendor.slug,
                )
            )
            application.vendor = vendor
            return SubmittedApplication(application, created=True)

    def _application_limits(self, credit_code: str, client: str | None) -> list[Limit]:
        settings = self.ctx.settings
        limits = [
            Limit(
                "application:credit-code",
                credit_code,
                settings.application_credit_code_limit,
                settings.application_credit_code_window,
                "this credit code",
            )
        ]
        if client is not None:
            limits.append(
                Limit(
                    "application:client",
                    client,
                    settings.application_client_limit,
                    settings.application_client_window,
                    "this address",
                )
            )
        return limits

    async def _vendor_for_application(
        self, session: AsyncSession, credit_code: str, slug: str, association_id: int
    ) -> tuple[Vendor, bool]:
        """The applicant row of the credit code, and whether another application for it
        is pending (then this one is accepted too and flagged, not refused: the first
        could be anyone's)."""
        now = self.ctx.clock.now()
        vendor = (
            await session.execute(select(Vendor).where(Vendor.credit_code == credit_code))
        ).scalar_one_or_none()
        slug_owner = (
            await session.execute(select(Vendor.id).where(Vendor.slug == slug))
        ).scalar_one_or_none()
        if slug_owner is not None and (vendor is None or slug_owner != vendor.id):
            raise Conflict(f"the slug {slug!r} is taken; choose another", fields={"slug": "taken"})
        if vendor is None:
            vendor = Vendor(
                association_id=association_id,
                slug=slug,
                credit_code=credit_code,
                name_zh="",
                name_en="",
                status=VendorStatus.APPLICANT,
                created_at=now,
                updated_at=now,
            )
            session.add(vendor)
            await session.flush()
            return vendor, False
        if is_member(vendor.status):
            raise Conflict(
                f"a vendor with credit code {credit_code} is already a member",
                fields={"credit_code": "already a member"},
            )
        pending = await session.scalar(
            select(VendorApplication.id).where(
                VendorApplication.vendor_id == vendor.id,
                VendorApplication.status == ApplicationStatus.PENDING,
            )
        )
        if pending is not None:
            if vendor.association_id != association_id:
                raise Conflict(
                    f"application {pending} for this credit code is pending with another "
                    "association",
                    fields={"association": "application pending elsewhere"},
                )
            return vendor, True
        vendor.association_id = association_id
        return vendor, False

    async def _replace_domains(
        self, session: AsyncSession, vendor: Vendor, domains: list[str]
    ) -> None:
        # Only a proven domain is another vendor's; a pending claim blocks nobody.
        taken = (
            (
                await session.execute(
                    select(VendorDomain.domain).where(
                        VendorDomain.domain.in_(domains),
                        VendorDomain.vendor_id != vendor.id,
                        VendorDomain.verified_at.is_not(None),
                    )
                )
            )
            .scalars()
            .all()
        )
        if taken:
            raise Conflict(
                f"domain {taken[0]} belongs to another vendor, which proved control of it",
                fields={"domains": taken[0]},
            )
        await session.refresh(vendor, ["domains"])
        kept = [d for d in vendor.domains if d.domain in domains]
        vendor.domains = kept
        # Delete dropped domains before inserting new ones, or the unique index trips.
        await session.flush()
        present = {d.domain for d in kept}
        vendor.domains.extend(
            VendorDomain(domain=d, proof_token=new_proof_token())
            for d in domains
            if d not in present
        )

    async def list_applications(
        self, caller: Caller, status: ApplicationStatus | None, offset: int, limit: int
    ) -> Page[ApplicationReview]:
        """Applications the caller may decide on, newest first, each with what it claims
        and the other pending applications for its credit code."""
        query = select(VendorApplication).join(Vendor)
        if caller.role is not Role.FEDERATION_ADMIN:
            if caller.role is not Role.ASSOCIATION_ADMIN:
                raise PermissionDenied("only association admins review applications")
            query = query.where(Vendor.association_id == caller.association_id)
        if status is not None:
            query = query.where(VendorApplication.status == status)
        async with self.ctx.db.read() as session:
            total = await session.scalar(select(func.count()).select_from(query.subquery()))
            rows = (
                await session.execute(
                    query.options(
                        selectinload(VendorApplication.vendor).selectinload(Vendor.domains)
                    )
                    .order_by(VendorApplication.id.desc())
                    .offset(offset)
                    .limit(limit)
                )
            ).scalars()
            return Page(await _reviews(session, list(rows)), total or 0, offset, limit)

    async def get_application(self, caller: Caller, application_id: int) -> ApplicationReview:
        """One application, if the caller administers its association."""
        async with self.ctx.db.read() as session:
            application = await _load_application(session, application_id)
            _require_association_admin(caller, application.vendor)
            return (await _reviews(session, [application]))[0]

    async def approve(self, caller: Caller, application_id: int, reason: str) -> VendorApplication:
        """Admit the vendor: vendor and key become active; the decision is logged."""
        return await self._decide(caller, application_id, ApplicationStatus.APPROVED, reason)

    async def reject(self, caller: Caller, application_id: int, reason: str) -> VendorApplication:
        """Refuse the application with a reason; the applicant's key can no longer be used."""
        if not reason.strip():
            raise InvalidInput("a rejection needs a reason", fields={"reason": "required"})
        return await self._decide(caller, application_id, ApplicationStatus.REJECTED, reason)

    async def _decide(
        self, caller: Caller, application_id: int, outcome: ApplicationStatus, reason: str
    ) -> VendorApplication:
        now = self.ctx.clock.now()
        reason = reason.strip()
        if len(reason) > 2000:
            raise InvalidInput(
                "reason is longer than 2000 characters", fields={"reason": "too long"}
            )
        async with self.ctx.db.transaction() as session:
            application = await _load_application(session, application_id)
            vendor = application.vendor
            _require_association_admin(caller, vendor)
            if application.status is not ApplicationStatus.PENDING:
                raise Conflict(
                    f"application {application_id} was already {application.status.value}"
                )
            if outcome is ApplicationStatus.APPROVED:
                # The vendor becomes what this application, of all that were pending for
                # the credit code, claims; the others are refused with it.
                await self._apply_claims(session, vendor, application_claims(application), now)
                # Complaints waiting for it attach when this transaction ends (a
                # subscriber, `registry.services`).
                publish(
                    session,
                    VendorAdmitted(
                        vendor_id=vendor.id,
                        association_id=vendor.association_id,
                        application_id=application.id,
                        at=now,
                    ),
                )
            appender = LogAppender(session, now)
            await self._record_decision(
                appender,
                caller=caller,
                application=application,
                outcome=outcome,
                reason=reason,
                now=now,
            )
            competing = await _pending_for_vendor(session, vendor.id, exclude=application.id)
            if outcome is ApplicationStatus.APPROVED:
                for other in competing:
                    await self._record_decision(
                        appender,
                        caller=caller,
                        application=other,
                        outcome=ApplicationStatus.REJECTED,
                        reason=f"application {application.id} for the same credit code was approved",
                        now=now,
                    )
            elif not competing and not is_member(vendor.status):
                # Refused and nothing else pending: its domains and slug are free for
                # whoever applies next (the credit code always is).
                await session.refresh(vendor, ["domains"])
                vendor.domains = []
                # A leading hyphen: a name no applicant can choose.
                vendor.slug = f"-refused-{vendor.id}"
                vendor.updated_at = now
            return application

    async def _apply_claims(
        self, session: AsyncSession, vendor: Vendor, claims: ApplicationClaims, now: datetime
    ) -> None:
        """Set the vendor's details and domains to those of the approved application."""
        slug = claims.slug.strip().lower()
        owner = await session.scalar(select(Vendor.id).where(Vendor.slug == slug))
        if owner is not None and owner != vendor.id:
            raise Conflict(
                f"the slug {slug!r} was taken meanwhile; the applicant must apply again",
                fields={"slug": "taken"},
            )
        vendor.slug = slug
        vendor.name_zh = claims.name_zh.strip()
        vendor.name_en = claims.name_en.strip()
        vendor.website = validated_website(claims.website)
        vendor.contact_email = validated_email(claims.contact_email)
        vendor.size = validated_size(claims.size)
        vendor.status = VendorStatus.ACTIVE
        vendor.updated_at = now
        domains = validate_domains(claims.domains)
        if domains:
            # Applicants hold no domains; rows an applicant kept from before that rule
            # give way to the member.
            await session.execute(
                delete(VendorDomain).where(
                    VendorDomain.domain.in_(domains),
                    VendorDomain.vendor_id.in_(
                        select(Vendor.id).where(
                            Vendor.status == VendorStatus.APPLICANT, Vendor.id != vendor.id
                        )
                    ),
                )
            )
        await self._replace_domains(session, vendor, domains)

    async def _record_decision(
        self,
        appender: LogAppender,
        *,
        caller: Caller,
        application: VendorApplication,
        outcome: ApplicationStatus,
        reason: str,
        now: datetime,
    ) -> None:
        """The application's decision, its key's fate and the log leaf."""
        session = appender.session
        vendor = application.vendor
        key = (
            await session.execute(
                select(SigningKeyRecord).where(SigningKeyRecord.key_id == application.key_id)
            )
        ).scalar_one()
        application.status = outcome
        application.decided_at = now
        application.decided_by = caller.principal_id
        application.reason = reason or None
        if outcome is ApplicationStatus.APPROVED:
            key.status = KeyStatus.ACTIVE
            key.activated_at = now
            key.authorised_by_principal_id = caller.principal_id
            await _ensure_vendor_principal(session, vendor, now)
            entry_type = EntryType.APPLICATION_APPROVED
        else:
            key.status = KeyStatus.REVOKED
            key.revoked_at = now
            key.revocation_reason = "application rejected"
            entry_type = EntryType.APPLICATION_REJECTED
        application.decision_log_index = await appender.append(
            PendingLeaf(
                entry_type,
                {
                    "application_id": application.id,
                    "application_log_index": application.log_index,
                    "envelope_digest": application.envelope_digest,
                    "decision": outcome.value,
                    "reason": reason,
                    "decided_at": isoformat(now),
                    "decided_by": {
                        "principal_id": caller.principal_id,
                        "role": caller.role.value,
                    },
                    "key_id": key.key_id,
                },
                vendor_id=vendor.id,
                vendor_slug=vendor.slug,
            )
        )
        if outcome is ApplicationStatus.APPROVED:
            key.log_index = application.decision_log_index
        else:
            key.revocation_log_index = application.decision_log_index

    async def directory(self, query: str | None, offset: int, limit: int) -> Page[Vendor]:
        """Member vendors matching `query` in either name, the credit code or a domain."""
        statement = select(Vendor).where(member_condition(Vendor.status))
        if query and query.strip():
            needle = query.strip()
            pattern = f"%{_escape_like(needle.lower())}%"
            statement = statement.where(
                or_(
                    Vendor.name_zh.contains(needle, autoescape=True),
                    func.lower(Vendor.name_en).like(pattern, escape="\\"),
                    Vendor.credit_code == needle.upper(),
                    Vendor.slug == needle.lower(),
                    Vendor.id.in_(
                        select(VendorDomain.vendor_id).where(
                            VendorDomain.domain.like(pattern, escape="\\"),
                            VendorDomain.verified_at.is_not(None),
                        )
                    ),
                )
            )
        async with self.ctx.db.read() as session:
            total = await session.scalar(select(func.count()).select_from(statement.subquery()))
            rows = (
                await session.execute(
                    statement.options(selectinload(Vendor.domains))
                    .order_by(Vendor.name_en, Vendor.id)
                    .offset(offset)
                    .limit(limit)
                )
            ).scalars()
            return Page(list(rows), total or 0, offset, limit)

    async def vendor(self, slug: str) -> Vendor:
        """A member vendor by slug; applicants are not public."""
        async with self.ctx.db.read() as session:
            vendor = (
                await session.execute(
                    select(Vendor)
                    .where(Vendor.slug == slug, member_condition(Vendor.status))
                    .options(selectinload(Vendor.domains))
                )
            ).scalar_one_or_none()
        if vendor is None:
            raise NotFound(f"no member vendor with slug {slug!r}")
        return vendor


async def _reviews(
    session: AsyncSession, applications: list[VendorApplication]
) -> list[ApplicationReview]:
    """Each application with its claims and the other pending ones of its credit code."""
    pending = (
        await session.execute(
            select(VendorApplication.vendor_id, VendorApplication.id).where(
                VendorApplication.vendor_id.in_({a.vendor_id for a in applications}),
                VendorApplication.status == ApplicationStatus.PENDING,
            )
        )
    ).all()
    return [
        ApplicationReview(
            application,
            application_claims(application),
            tuple(
                sorted(
                    other
                    for vendor_id, other in pending
                    if vendor_id == application.vendor_id and other != application.id
                )
            ),
        )
        for application in applications
    ]


async def _refuse_member_domains(session: AsyncSession, domains: list[str]) -> None:
    """Conflict if a member vendor proved control of one of `domains`. Claims do not
    count, an applicant's or a member's: a domain is a vendor's once it proves control."""
    if not domains:
        return
    taken = await session.scalar(
        select(VendorDomain.domain)
        .join(Vendor, Vendor.id == VendorDomain.vendor_id)
        .where(
            VendorDomain.domain.in_(domains),
            VendorDomain.verified_at.is_not(None),
            member_condition(Vendor.status),
        )
        .limit(1)
    )
    if taken is not None:
        raise Conflict(
            f"domain {taken} belongs to a member vendor, which proved control of it",
            fields={"domains": taken},
        )


async def _pending_for_vendor(
    session: AsyncSession, vendor_id: int, *, exclude: int
) -> Sequence[VendorApplication]:
    """The vendor's other pending applications (other keys, the same credit code)."""
    return (
        (
            await session.execute(
                select(VendorApplication)
                .where(
                    VendorApplication.vendor_id == vendor_id,
                    VendorApplication.status == ApplicationStatus.PENDING,
                    VendorApplication.id != exclude,
                )
                .options(selectinload(VendorApplication.vendor))
            )
        )
        .scalars()
        .all()
    )


def _escape_like(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _require_association_admin(caller: Caller, vendor: Vendor) -> None:
    if not caller.administers_association(vendor.association_id):
        raise PermissionDenied("only admins of the vendor's association may do this")


async def _application_by_digest(session: AsyncSession, digest: str) -> VendorApplication | None:
    return (
        await session.execute(
            select(VendorApplication)
            .where(VendorApplication.envelope_digest == digest)
            .options(selectinload(VendorApplication.vendor).selectinload(Vendor.domains))
        )
    ).scalar_one_or_none()


async def _load_application(session: AsyncSession, application_id: int) -> VendorApplication:
    application = (
        await session.execute(
            select(VendorApplication)
            .where(VendorApplication.id == application_id)
            .options(selectinload(VendorApplication.vendor).selectinload(Vendor.domains))
        )
    ).scalar_one_or_none()
    if application is None:
        raise NotFound(f"no application {application_id}")
    return application


async def _ensure_vendor_principal(session: AsyncSession, vendor: Vendor, now: datetime) -> None:
    exists = await session.scalar(
        select(Principal.id).where(
            Principal.vendor_id == vendor.id, Principal.role == Role.VENDOR_ADMIN
        )
    )
    if exists is None:
        session.add(
            Principal(
                role=Role.VENDOR_ADMIN,
                display_name=vendor.name_en,
                association_id=vendor.association_id,
                vendor_id=vendor.id,
                created_at=now,
            )
        )
