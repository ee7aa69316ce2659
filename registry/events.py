"""Domain events: how one aggregate reacts to another without importing its services.

An aggregate *publishes* a typed event on the session of its unit of work
(`publish(session, VendorAdmitted(...))`). Nothing runs at that moment: the event waits on
the session. When `Database.transaction()` reaches the end of its block, it *dispatches*
every waiting event, in the order they were published, to the subscribers the composition
root registered for that event's type, in the order they were registered; an event a
subscriber publishes is dispatched after those already waiting. All of it happens in the
same transaction, before the commit: a subscriber that raises rolls the whole unit of work
back, the publisher's own writes included, and the error reaches the caller as if the
publisher had raised it.

Why deferred rather than at `publish`: the publisher finishes its own writes first (the
record, its log leaf), so a subscriber sees the aggregate in the state the event
describes, and a publisher never depends on what its subscribers did. Code that must see
the reactions before the block ends calls `await dispatch_pending(session)`.

Subscribers are registered by the composition root only (`registry.services`), never by
an aggregate, so the only arrows between aggregates are to the event types themselves
(`docs/architecture.md`, "Events").
"""

from __future__ import annotations

from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, TypeVar

from sqlalchemy.ext.asyncio import AsyncSession

__all__ = [
    "DomainEvent",
    "EventBus",
    "EventOutsideUnitOfWork",
    "any_waiting",
    "attach",
    "dispatch_pending",
    "publish",
]

_BUS_KEY = "registry.events.bus"
_PENDING_KEY = "registry.events.pending"
MAX_DISPATCH_ROUNDS = 10_000
"""More events than this published *by subscribers* in one unit of work means they
publish to each other in a loop; the transaction is rolled back rather than spinning.
What the unit of work itself published does not count: a batch of attestations or an
SLA scan publishes one or two events per row, as many as its settings allow."""


@dataclass(frozen=True, slots=True)
class DomainEvent:
    """Base of every event: a frozen fact, named in the past tense, carrying ids and the
    few values a subscriber cannot read back from the database in the same transaction."""


EventT = TypeVar("EventT", bound=DomainEvent)
Subscriber = Callable[[AsyncSession, Any], Awaitable[None]]


class EventOutsideUnitOfWork(RuntimeError):
    """An event was published on a session that no `Database.transaction()` owns, so no
    subscriber would ever see it; publishing there is a programming error."""


class EventBus:
    """The subscribers of each event type, in registration order.

    Registering under a name already used replaces that subscriber in its place, so a
    composition root that wires the same database twice (tests, the CLI) does not run a
    reaction twice.
    """

    def __init__(self) -> None:
        self._subscribers: dict[type[DomainEvent], dict[str, Subscriber]] = {}

    def subscribe(
        self,
        event_type: type[EventT],
        handler: Callable[[AsyncSession, EventT], Awaitable[None]],
        *,
        name: str,
    ) -> None:
        """Run `handler(session, event)` for every `event_type` event, after those
        registered before it."""
        self._subscribers.setdefault(event_type, {})[name] = handler

    def subscribers(self, event_type: type[DomainEvent]) -> list[tuple[str, Subscriber]]:
        """The (name, handler) pairs an event of exactly this type reaches, in order."""
        return list(self._subscribers.get(event_type, {}).items())

    def subscriptions(self) -> list[tuple[str, str]]:
        """(event type, subscriber name) of every registration, for the architecture
        document's table and its test."""
        return [
            (event_type.__name__, name)
            for event_type, handlers in self._subscribers.items()
            for name in handlers
        ]

    async def dispatch(self, session: AsyncSession, event: DomainEvent) -> None:
        """Run the subscribers of `event` in order; the first failure propagates.

        An event nobody subscribes to costs one dictionary look-up (the attestation
        writer publishes one per accepted envelope)."""
        handlers = self._subscribers.get(type(event))
        if not handlers:
            return
        for handler in list(handlers.values()):
            await handler(session, event)


def attach(session: AsyncSession, bus: EventBus) -> None:
    """Make `session` a unit of work whose events `bus` dispatches (called by
    `Database.transaction()`)."""
    session.info[_BUS_KEY] = bus
    session.info[_PENDING_KEY] = deque()


def publish(session: AsyncSession, event: DomainEvent) -> None:
    """Record `event` on the session's unit of work, for dispatch before its commit."""
    pending = session.info.get(_PENDING_KEY)
    if pending is None:
        raise EventOutsideUnitOfWork(
            f"{type(event).__name__} was published outside Database.transaction()"
        )
    pending.append(event)


def any_waiting(session: AsyncSession, kind: type[DomainEvent]) -> bool:
    """Whether an event of `kind` was published on the session and is not dispatched yet.

    A subscriber whose work a later event of the same unit of work repeats (it recomputes
    from the rows, not from the event) may leave it to that later event. The search
    stops at the first such event, usually the next one.
    """
    pending: deque[DomainEvent] | None = session.info.get(_PENDING_KEY)
    return pending is not None and any(isinstance(event, kind) for event in pending)


async def dispatch_pending(session: AsyncSession) -> None:
    """Dispatch every event waiting on the session, those published meanwhile included."""
    bus: EventBus | None = session.info.get(_BUS_KEY)
    pending: deque[DomainEvent] | None = session.info.get(_PENDING_KEY)
    if bus is None or pending is None:
        return
    rounds = 0
    limit = len(pending) + MAX_DISPATCH_ROUNDS
    while pending:
        rounds += 1
        if rounds > limit:
            raise RuntimeError("domain events keep publishing each other; rolled back")
        await bus.dispatch(session, pending.popleft())
