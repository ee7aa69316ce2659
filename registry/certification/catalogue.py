"""Each association's catalogue of scheme versions: publishing and looking them up.

A version is appended, logged and never edited. Every association gets the default
consumer-protection scheme as version 1 the first time anyone needs it, so a fresh
registry certifies out of the box.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.certification.models import Scheme
from registry.certification.schemes import (
    DEFAULT_SCHEME_DOCUMENT,
    DEFAULT_SCHEME_SLUG,
    DEFAULT_SCHEME_TITLE,
    parse_rules,
)
from registry.context import RegistryContext
from registry.errors import InvalidInput, PermissionDenied
from registry.federation.lookups import association_by_slug
from registry.federation.models import Association
from registry.kernel.caller import Caller
from registry.transparency.entries import EntryType
from registry.transparency.services import LogAppender, PendingLeaf


def parse_scheme_label(label: str) -> tuple[str, int]:
    """Split `slug@version`."""
    slug, _, version = label.partition("@")
    if not slug or not version.isdigit():
        raise InvalidInput(
            f"scheme must read slug@version, e.g. {DEFAULT_SCHEME_SLUG}@1, not {label!r}",
            fields={"scheme": "not slug@version"},
        )
    return slug, int(version)


async def publish_version(
    session: AsyncSession,
    association: Association,
    *,
    slug: str,
    title: tuple[str, str],
    document: dict[str, Any],
    now: datetime,
    appender: LogAppender | None = None,
) -> Scheme:
    """Append the next version of `slug` for the association and log it."""
    parse_rules(document)
    await _hold_catalogue(session, association.id)
    current = await session.scalar(
        select(func.max(Scheme.version)).where(
            Scheme.association_id == association.id, Scheme.slug == slug
        )
    )
    scheme = Scheme(
        association_id=association.id,
        slug=slug,
        version=(current or 0) + 1,
        title_zh=title[0],
        title_en=title[1],
        document=document,
        published_at=now,
        created_at=now,
    )
    session.add(scheme)
    await session.flush()
    scheme.log_index = await (appender or LogAppender(session, now)).append(
        PendingLeaf(
            EntryType.SCHEME_PUBLISHED,
            {
                "association": association.slug,
                "scheme": scheme.label,
                "title_zh": scheme.title_zh,
                "title_en": scheme.title_en,
                "document": document,
            },
        )
    )
    return scheme


async def scheme_version(
    session: AsyncSession,
    association_id: int,
    label: str,
    *,
    latest_only: bool,
    now: datetime,
) -> Scheme:
    """The association's scheme `slug@version`; with `latest_only`, it must be the newest."""
    slug, version = parse_scheme_label(label)
    found = list(
        (
            await session.execute(
                select(Scheme)
                .where(Scheme.association_id == association_id, Scheme.slug == slug)
                .order_by(Scheme.version.desc())
            )
        ).scalars()
    )
    if not found and slug == DEFAULT_SCHEME_SLUG and version == 1:
        association = await session.get(Association, association_id)
        assert association is not None  # noqa: S101 - foreign key
        found = [await ensure_default_scheme(session, association, now)]
    match = next((s for s in found if s.version == version), None)
    if match is None:
        raise InvalidInput(
            f"the association publishes no scheme {label!r}"
            + (f"; the current version is {found[0].label}" if found else ""),
            fields={"scheme": "unknown scheme version"},
        )
    if latest_only and match is not found[0]:
        raise InvalidInput(
            f"scheme {label!r} has been superseded by {found[0].label}; attest against it",
            fields={"scheme": "superseded version"},
        )
    return match


async def ensure_default_scheme(
    session: AsyncSession, association: Association, now: datetime
) -> Scheme:
    """Version 1 of the default scheme for the association, published on first use.

    The first submissions of a new association's vendors may arrive together; on
    PostgreSQL their transactions run side by side, so the one that publishes holds the
    catalogue and the others find its version once it commits, instead of failing on
    the unique version.
    """
    first_version = (
        select(Scheme)
        .where(Scheme.association_id == association.id, Scheme.slug == DEFAULT_SCHEME_SLUG)
        .order_by(Scheme.version)
        .limit(1)
    )
    existing = (await session.execute(first_version)).scalar_one_or_none()
    if existing is not None:
        return existing
    await _hold_catalogue(session, association.id)
    existing = (await session.execute(first_version)).scalar_one_or_none()
    if existing is not None:
        return existing
    return await publish_version(
        session,
        association,
        slug=DEFAULT_SCHEME_SLUG,
        title=DEFAULT_SCHEME_TITLE,
        document=DEFAULT_SCHEME_DOCUMENT,
        now=now,
    )


class SchemeService:
    """Lists and publishes an association's scheme versions."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx

    async def list_versions(self, association_slug: str) -> list[Scheme]:
        """Every published version, newest first (public: vendors attest against them)."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            association = await association_by_slug(session, association_slug)
            await ensure_default_scheme(session, association, now)
            rows = await session.execute(
                select(Scheme)
                .where(Scheme.association_id == association.id)
                .order_by(Scheme.slug, Scheme.version.desc())
            )
            return list(rows.scalars())

    async def publish(
        self,
        caller: Caller,
        association_slug: str,
        *,
        slug: str,
        title: tuple[str, str],
        document: dict[str, Any],
    ) -> Scheme:
        """Publish the next version of a scheme (association admins)."""
        now = self.ctx.clock.now()
        async with self.ctx.db.transaction() as session:
            association = await association_by_slug(session, association_slug)
            if not caller.administers_association(association.id):
                raise PermissionDenied("only the association's admins may publish its schemes")
            if slug == DEFAULT_SCHEME_SLUG:
                await ensure_default_scheme(session, association, now)
            return await publish_version(
                session, association, slug=slug, title=title, document=document, now=now
            )


async def _hold_catalogue(session: AsyncSession, association_id: int) -> None:
    """Serialise publishing in the association until this transaction ends.

    A row lock on the association (PostgreSQL; SQLite's writer lock already serialises
    writers), NO KEY UPDATE so that rows referring to the association can still be
    written meanwhile.
    """
    await session.execute(
        select(Association.id)
        .where(Association.id == association_id)
        .with_for_update(key_share=True)
    )
