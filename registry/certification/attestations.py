"""Self-regulation attestations: a vendor's signed claims against a scheme version.

The service reads what a submission needs in one statement (`attestation_reads`), checks
each envelope without the write lock (`attestation_claims`: shape, whose statement it
is, freshness, signature by a usable key of that vendor, period), answers repeats from
the stored records, and hands the rest to the writer (`attestation_writer`), which
decides what needs the write lock and stores. A batch is one transaction with each
envelope accepted or rejected on its own.
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from attestations.envelope import Envelope
from registry.certification.attestation_claims import (
    CheckedAttestation,
    KeyAnswers,
    check_attestation,
    parse_envelope,
)
from registry.certification.attestation_reads import (
    BatchItem,
    StoredAttestation,
    attestations_page,
    stored_by_digest,
    submission_context,
)
from registry.certification.attestation_writer import AttestationWriter
from registry.certification.models import AttestationRecord
from registry.context import RegistryContext
from registry.errors import InvalidInput, NotFound, PermissionDenied, RegistryError
from registry.kernel.caller import Caller
from registry.kernel.members import member_vendor

Submitted = Envelope | Mapping[str, Any]
"""An envelope as submitted: the JSON object from the API, or built in process."""


@dataclass(frozen=True)
class SubmittedAttestation:
    """An attestation and whether this call stored it (False: the same envelope again)."""

    record: StoredAttestation
    created: bool
    scheme: str


class AttestationService:
    """Accepts vendors' signed attestations and lists them."""

    def __init__(self, ctx: RegistryContext) -> None:
        self.ctx = ctx
        self._writer = AttestationWriter(ctx)

    async def submit(self, caller: Caller, slug: str, envelope: Submitted) -> SubmittedAttestation:
        """Accept one attestation; the same envelope again returns the stored record.

        A malformed envelope is refused as one of a batch would be, after the caller's
        right to submit for `slug` is checked.
        """
        item = (await self._submit_many(caller, slug, [parse_envelope(envelope)]))[0]
        if item.error is not None:
            raise item.error
        assert item.record is not None  # noqa: S101 - no error means a record
        assert item.scheme is not None  # noqa: S101 - every record names its scheme
        return SubmittedAttestation(item.record, item.created, item.scheme)

    async def submit_batch(
        self, caller: Caller, slug: str, envelopes: Sequence[Submitted]
    ) -> list[BatchItem]:
        """Accept up to `attestation_batch_max` envelopes, each on its own, in one commit."""
        limit = self.ctx.settings.attestation_batch_max
        if not envelopes:
            raise InvalidInput("a batch needs at least one envelope", fields={"envelopes": "empty"})
        if len(envelopes) > limit:
            raise InvalidInput(
                f"a batch holds at most {limit} envelopes, not {len(envelopes)}",
                fields={"envelopes": "too many"},
            )
        return await self._submit_many(caller, slug, [parse_envelope(e) for e in envelopes])

    async def _submit_many(
        self, caller: Caller, slug: str, envelopes: Sequence[Envelope | RegistryError]
    ) -> list[BatchItem]:
        """The read phase and the checks of every envelope, then the writer stores those
        that passed; one answer per envelope, in order."""
        now = self.ctx.clock.now()
        canonical = {i: e.to_json() for i, e in enumerate(envelopes) if isinstance(e, Envelope)}
        digests = {i: hashlib.sha256(data).hexdigest() for i, data in canonical.items()}
        keyids = sorted({k for e in envelopes if isinstance(e, Envelope) for k in e.keyids})
        async with self.ctx.db.read_rows() as connection:
            vendor, known, key_rows = await submission_context(
                connection, slug, list(digests.values()), keyids
            )
        if not caller.speaks_for_vendor(vendor.id):
            raise PermissionDenied("only the vendor's own admin may submit its attestations")
        results: dict[int, BatchItem] = {}
        checked: dict[int, CheckedAttestation] = {}
        keys: KeyAnswers = {}
        for index, envelope in enumerate(envelopes):
            if isinstance(envelope, RegistryError):
                results[index] = BatchItem(index, None, False, envelope)
                continue
            if digests[index] in known:
                continue
            try:
                checked[index] = check_attestation(
                    vendor,
                    envelope,
                    canonical[index],
                    digests[index],
                    settings=self.ctx.settings,
                    now=now,
                    keys=keys,
                    key_rows=key_rows,
                )
            except RegistryError as exc:
                results[index] = BatchItem(index, None, False, exc)
        if known:
            # Stored before: the original records, whatever their keys' state is now.
            async with self.ctx.db.read() as session:
                stored = await stored_by_digest(session, list(known))
            for index, digest in digests.items():
                if digest in stored:
                    record, label = stored[digest]
                    results[index] = BatchItem(index, record, False, None, label)
        if checked:
            results.update(await self._writer.store(vendor, checked, now))
        return [results[i] for i in range(len(envelopes))]

    async def list_for_vendor(
        self, caller: Caller, slug: str, *, offset: int, limit: int
    ) -> tuple[list[tuple[AttestationRecord, str]], int]:
        """A vendor's attestations with scheme labels, newest period first.

        The vendor itself and its association's admins may read them.
        """
        async with self.ctx.db.read() as session:
            vendor = await member_vendor(session, slug)
            if not (
                caller.speaks_for_vendor(vendor.id)
                or caller.administers_association(vendor.association_id)
            ):
                raise NotFound(f"no member vendor with slug {slug!r}")
            return await attestations_page(session, vendor.id, offset=offset, limit=limit)
