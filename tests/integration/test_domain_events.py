"""The in-transaction event mechanism (`registry.events`) on both databases: order,
same-transaction reactions, and a failing subscriber rolling the publisher back."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from registry.context import RegistryContext
from registry.events import (
    MAX_DISPATCH_ROUNDS,
    DomainEvent,
    EventOutsideUnitOfWork,
    dispatch_pending,
    publish,
)
from registry.federation.models import Association
from tests.conftest import TEST_EPOCH


@dataclass(frozen=True, slots=True)
class AssociationNamed(DomainEvent):
    slug: str


@dataclass(frozen=True, slots=True)
class Echoed(DomainEvent):
    slug: str


def _association(slug: str) -> Association:
    return Association(
        slug=slug, name_zh=f"{slug} 协会", name_en=f"{slug} association", created_at=TEST_EPOCH
    )


async def _slugs(ctx: RegistryContext) -> set[str]:
    async with ctx.db.read() as session:
        return set((await session.scalars(select(Association.slug))).all())


async def test_subscribers_run_in_order_before_commit_in_the_same_transaction(
    ctx: RegistryContext,
) -> None:
    seen: list[str] = []

    async def first(session: AsyncSession, event: AssociationNamed) -> None:
        seen.append(f"first:{event.slug}")
        session.add(_association(f"{event.slug}-a"))
        publish(session, Echoed(event.slug))

    async def second(session: AsyncSession, event: AssociationNamed) -> None:
        seen.append(f"second:{event.slug}")

    async def echo(session: AsyncSession, event: Echoed) -> None:
        seen.append(f"echo:{event.slug}")

    ctx.db.events.subscribe(AssociationNamed, first, name="first")
    ctx.db.events.subscribe(AssociationNamed, second, name="second")
    ctx.db.events.subscribe(Echoed, echo, name="echo")
    ctx.db.events.subscribe(AssociationNamed, first, name="first")  # re-wiring: no twice

    async with ctx.db.transaction() as session:
        session.add(_association("one"))
        publish(session, AssociationNamed("one"))
        publish(session, AssociationNamed("two"))
        assert seen == []  # nothing runs at publish time

    assert seen == ["first:one", "second:one", "first:two", "second:two", "echo:one", "echo:two"]
    assert {"one", "one-a", "two-a"} <= await _slugs(ctx)


async def test_a_failing_subscriber_rolls_the_publisher_back(ctx: RegistryContext) -> None:
    async def refuse(session: AsyncSession, event: AssociationNamed) -> None:
        session.add(_association(f"{event.slug}-reaction"))
        raise ValueError("the reaction refused")

    ctx.db.events.subscribe(AssociationNamed, refuse, name="refuse")

    async def publish_rolled() -> None:
        async with ctx.db.transaction() as session:
            session.add(_association("rolled"))
            publish(session, AssociationNamed("rolled"))

    with pytest.raises(ValueError, match="the reaction refused"):
        await publish_rolled()
    assert not {"rolled", "rolled-reaction"} & await _slugs(ctx)


async def test_dispatch_pending_lets_the_publisher_see_reactions_now(
    ctx: RegistryContext,
) -> None:
    async def react(session: AsyncSession, event: AssociationNamed) -> None:
        session.add(_association(f"{event.slug}-now"))

    ctx.db.events.subscribe(AssociationNamed, react, name="react")
    async with ctx.db.transaction() as session:
        publish(session, AssociationNamed("eager"))
        await dispatch_pending(session)
        await session.flush()
        found = await session.scalar(select(Association).where(Association.slug == "eager-now"))
        assert found is not None


async def test_publishing_outside_a_unit_of_work_is_refused(ctx: RegistryContext) -> None:
    async with ctx.db.read() as session:
        with pytest.raises(EventOutsideUnitOfWork):
            publish(session, AssociationNamed("nowhere"))


async def test_many_published_events_commit_but_a_subscriber_loop_rolls_back(
    ctx: RegistryContext,
) -> None:
    """A unit of work may publish more events than the loop guard (a large batch); only
    events that subscribers keep publishing to each other are cut off."""
    counted: list[str] = []

    async def count(session: AsyncSession, event: AssociationNamed) -> None:
        counted.append(event.slug)

    ctx.db.events.subscribe(AssociationNamed, count, name="count")
    async with ctx.db.transaction() as session:
        session.add(_association("many"))
        for index in range(MAX_DISPATCH_ROUNDS + 1):
            publish(session, AssociationNamed(f"many-{index}"))
    assert len(counted) == MAX_DISPATCH_ROUNDS + 1
    assert "many" in await _slugs(ctx)

    async def echo_forever(session: AsyncSession, event: Echoed) -> None:
        publish(session, Echoed(event.slug))

    ctx.db.events.subscribe(Echoed, echo_forever, name="echo_forever")

    async def loop() -> None:
        async with ctx.db.transaction() as session:
            session.add(_association("looped"))
            publish(session, Echoed("looped"))

    with pytest.raises(RuntimeError, match="keep publishing each other"):
        await loop()
    assert "looped" not in await _slugs(ctx)
