"""/api/v1/blacklist/snapshot and /changes: the signed list of listings in force and what
changed since a serial. Public (anyone may call them), memoised per worker until the
transparency log moves (every snapshot is a log leaf), served with a strong ETag."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any, Final, cast

import msgspec
from litestar import Controller, Request, Response, get
from litestar.openapi.datastructures import ResponseSpec
from litestar.openapi.spec import OpenAPIType, Operation, Parameter, Schema
from litestar.params import QueryParameter
from litestar.status_codes import (
    HTTP_200_OK,
    HTTP_304_NOT_MODIFIED,
    HTTP_404_NOT_FOUND,
    HTTP_422_UNPROCESSABLE_ENTITY,
)

from member_api.contract import problems
from member_api.deps import ServicesDep
from registry.accounts.access import PUBLIC, opt
from registry.blacklist.snapshots import ChangesView, ServedSnapshot
from registry.errors import InvalidInput
from registry.public_cache import matches_validator
from registry.services import Services

JSON_MEDIA_TYPE: Final = "application/json"
IMMUTABLE: Final = "public, max-age=31536000, immutable"
"""An earlier snapshot never changes."""
REVALIDATE: Final = "public, no-cache"
"""The latest snapshot changes at the next listing change: revalidate each time (a 304
costs no body)."""

Since = Annotated[
    str,
    QueryParameter(description="a serial the client already holds (0: from the first one)"),
]
SERIAL_TEXT: Final = re.compile(r"[0-9]{1,18}")


class SnapshotSignatureOut(msgspec.Struct):
    """One DSSE signature: the federation key's id and the base64 Ed25519 signature."""

    keyid: str
    sig: str


class SnapshotEnvelopeOut(msgspec.Struct):
    """A blacklist snapshot: a DSSE envelope whose base64 payload is the in-toto
    statement (README, "Blacklist snapshots")."""

    payload: str
    payloadType: str  # noqa: N815 - the DSSE field name
    signatures: list[SnapshotSignatureOut]


SNAPSHOT_RESPONSES: Final = {
    HTTP_200_OK: ResponseSpec(
        data_container=SnapshotEnvelopeOut,
        media_type=JSON_MEDIA_TYPE,
        description="The snapshot's DSSE envelope, byte for byte as signed and logged",
        generate_examples=False,
    ),
    **problems(HTTP_304_NOT_MODIFIED, HTTP_404_NOT_FOUND, HTTP_422_UNPROCESSABLE_ENTITY),
}


@dataclass
class SnapshotOperation(Operation):
    """The snapshot handler reads `serial` and `If-None-Match` itself (its hot path skips
    the signature model); they are documented here."""

    def __post_init__(self) -> None:
        self.parameters = [
            *(self.parameters or []),
            Parameter(
                name="serial",
                param_in="query",
                required=False,
                description="an earlier snapshot's serial (1, 2, …); absent: the latest",
                schema=Schema(type=OpenAPIType.INTEGER, minimum=1),
            ),
            Parameter(
                name="If-None-Match",
                param_in="header",
                required=False,
                description="the ETag of a snapshot held: 304 without a body if it is this one",
                schema=Schema(type=OpenAPIType.STRING),
            ),
        ]


class ChangeOut(msgspec.Struct):
    """A listing that entered (`added`) or left (`removed`: expired or repaired;
    `retracted`: overturned on appeal) the blacklist in snapshot `serial`."""

    serial: int
    change: str
    listing: int
    case: str
    subject_kind: str
    subject_value: str
    tier: str
    rule: str
    association: str
    at: datetime
    ended: str | None


class ChangesOut(msgspec.Struct):
    """The changes after serial `since`, up to the latest snapshot `latest`."""

    since: int
    latest: int
    changes: list[ChangeOut]


def _changes_out(view: ChangesView) -> ChangesOut:
    return ChangesOut(
        since=view.since,
        latest=view.latest,
        changes=[
            ChangeOut(
                serial=c.serial,
                change=c.change,
                listing=c.listing,
                case=c.case,
                subject_kind=c.subject_kind,
                subject_value=c.subject_value,
                tier=c.tier,
                rule=c.rule,
                association=c.association,
                at=c.at,
                ended=c.ended,
            )
            for c in view.changes
        ],
    )


def _serial(text: str | None) -> int | None:
    """`serial` as a positive number, None when absent; else a 422 naming the field."""
    if text is None:
        return None
    if not SERIAL_TEXT.fullmatch(text) or int(text) < 1:
        raise InvalidInput(
            f"serial must be a snapshot serial (a whole number from 1), not {text[:40]!r}",
            fields={"serial": "not a serial"},
        )
    return int(text)


def _since(text: str) -> int:
    """`since` as a serial; anything but a whole number is a 422 naming the field."""
    if not SERIAL_TEXT.fullmatch(text):
        raise InvalidInput(
            f"since must be a snapshot serial (a whole number, 0 for everything), "
            f"not {text[:40]!r}",
            fields={"since": "not a serial"},
        )
    return int(text)


class BlacklistSnapshotController(Controller):
    """The signed blacklist snapshots and the changes feed, for anyone."""

    path = "/api/v1/blacklist"
    tags = ["blacklist"]

    @get(
        "/snapshot",
        opt=opt(PUBLIC),
        responses=SNAPSHOT_RESPONSES,
        operation_class=SnapshotOperation,
    )
    async def snapshot(self, request: Request[Any, Any, Any]) -> Response[bytes]:
        """The latest signed blacklist snapshot, or an earlier one by serial.

        Verify it offline with `registry blacklist verify SNAPSHOT.json --public-key KEY`;
        the README says how to do it with nothing but an Ed25519 library. The hot path:
        the query and header are read here rather than through the signature model,
        which would cost a quarter of the answer (bench/blacklist_snapshot.py)."""
        services: Services = request.app.state.services
        serial = _serial(request.query_params.get("serial"))
        served = cast(
            ServedSnapshot,
            await services.public_cache.get_or_load(
                ("blacklist-snapshot", serial),
                lambda: services.blacklist_snapshots.served(serial),
            ),
        )
        headers = {
            "ETag": served.etag,
            "Cache-Control": REVALIDATE if served.latest else IMMUTABLE,
            "Access-Control-Allow-Origin": "*",
        }
        if matches_validator(request.headers.get("if-none-match"), served.etag):
            return Response(b"", status_code=HTTP_304_NOT_MODIFIED, headers=headers)
        return Response(served.body, media_type=JSON_MEDIA_TYPE, headers=headers)

    @get("/changes", opt=opt(PUBLIC), responses=problems(HTTP_422_UNPROCESSABLE_ENTITY))
    async def changes(self, services: ServicesDep, since: Since) -> ChangesOut:
        """Listings added, removed and retracted in the snapshots after serial `since`."""
        after = _since(since)
        view = cast(
            ChangesView,
            await services.public_cache.get_or_load(
                ("blacklist-changes", after),
                lambda: services.blacklist_snapshots.changes(after),
            ),
        )
        return _changes_out(view)
