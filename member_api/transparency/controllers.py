"""/api/v1/log: public, so that anyone can check the registry without an account."""

from __future__ import annotations

from typing import Annotated

from litestar import Controller, Response, get
from litestar.enums import MediaType
from litestar.params import PathParameter, QueryParameter
from litestar.status_codes import HTTP_404_NOT_FOUND, HTTP_422_UNPROCESSABLE_ENTITY

from attestations.keys import b64encode
from member_api.contract import problems
from member_api.deps import ServicesDep
from member_api.pagination import PageNumber, PageSize, offset_of
from member_api.schemas import page_out
from member_api.transparency.schemas import (
    ConsistencyProofOut,
    EntryWithProofOut,
    LogEntryPage,
    entry_with_proof_out,
    log_entry_out,
)
from registry.accounts.access import PUBLIC, opt
from registry.transparency.models import MAX_LOG_SIZE

EntryIndex = Annotated[int, PathParameter(title="leaf index", ge=0, le=MAX_LOG_SIZE)]
TreeSize = Annotated[
    int | None,
    QueryParameter(
        ge=1,
        le=MAX_LOG_SIZE,
        description="a size some signed checkpoint has; default: the latest checkpoint",
    ),
]
ConsistencySize = Annotated[int, QueryParameter(ge=0, le=MAX_LOG_SIZE)]
VendorSlug = Annotated[str, QueryParameter(min_length=1, max_length=64, description="vendor slug")]


class TransparencyLogController(Controller):
    """The append-only log of every signed record and decision (RFC 9162, C2SP checkpoints)."""

    path = "/api/v1/log"
    tags = ["transparency log"]

    @get(
        "/checkpoint",
        opt=opt(PUBLIC),
        media_type=MediaType.TEXT,
        responses=problems(HTTP_404_NOT_FOUND),
    )
    async def checkpoint(self, services: ServicesDep) -> Response[str]:
        """The latest C2SP checkpoint as a signed note, signed first if the log grew."""
        checkpoint = await services.log.current_checkpoint()
        return Response(checkpoint.note, media_type=MediaType.TEXT)

    @get("/entries/{index:int}", opt=opt(PUBLIC))
    async def entry(
        self,
        services: ServicesDep,
        index: EntryIndex,
        tree_size: TreeSize = None,
    ) -> EntryWithProofOut:
        """An entry's exact leaf bytes, decoded, with its inclusion proof and checkpoint."""
        entry, proof, checkpoint = await services.log.entry_with_proof(index, tree_size)
        return entry_with_proof_out(entry, proof, checkpoint)

    @get("/consistency", opt=opt(PUBLIC), responses=problems(HTTP_422_UNPROCESSABLE_ENTITY))
    async def consistency(
        self, services: ServicesDep, first: ConsistencySize, second: ConsistencySize
    ) -> ConsistencyProofOut:
        """Proof that the log of `first` entries is a prefix of the log of `second`."""
        hashes = await services.log.consistency_proof(first, second)
        return ConsistencyProofOut(
            first=first, second=second, hashes=[b64encode(value) for value in hashes]
        )

    @get("/entries", opt=opt(PUBLIC), responses=problems(HTTP_404_NOT_FOUND))
    async def vendor_history(
        self,
        services: ServicesDep,
        vendor: VendorSlug,
        page: PageNumber = 1,
        page_size: PageSize = 20,
    ) -> LogEntryPage:
        """A vendor's history in the log, oldest first."""
        result = await services.log.vendor_history(
            vendor, offset=offset_of(page, page_size), limit=page_size
        )
        return LogEntryPage(
            items=[log_entry_out(entry) for entry in result.items],
            page=page_out(page, page_size, result.total),
        )
