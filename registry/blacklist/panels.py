"""Drawing an appeal panel: committee members of *other* associations, reproducibly.

The procedure (the README's "Appeal panels" section states it for the public):

1. **Seed.** `seed = SHA-256(JCS({"appeal": <appeal id>, "case": <case reference>,
   "log_root": <hex root>, "log_size": <n>}))`, where `n` is the size of the transparency
   log right after the appeal's own leaf (`appeal log_index + 1`) and `log_root` its RFC
   9162 root hash. The root covers the signed appeal, which nobody could know when the
   case was decided, so no one can steer the draw by timing; anyone holding the log
   computes the same root.
2. **Candidates.** Every committee member of an association other than the one that
   governs the case, with an active vote key, minus anyone who voted or recused on the
   case and anyone affiliated with the subject. The candidate list is logged with the
   panel, so the draw can be checked without the committee's history.
3. **Order.** Candidates sorted by `HMAC-SHA256(key = seed, message = "principal:<id>")`
   (lowercase hex, ties by principal id); the first `size` (at least 3) form the panel.
   Fewer candidates than that: no panel can be drawn and the federation admins are told.

Everything here is pure: `draw_panel` takes the seed and the candidates and returns the
panel, and `check_draw` replays a logged draw.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Final

from attestations.canonical import canonicalize
from registry.errors import Conflict

MIN_PANEL_SIZE: Final = 3
"""The issue's floor: an appeal is never heard by fewer than three members."""


@dataclass(frozen=True)
class Candidate:
    """A committee member who could sit on a panel."""

    member_id: int
    principal_id: int
    association_id: int

    def to_json(self) -> dict[str, int]:
        """As logged in the panel's leaf."""
        return {
            "member_id": self.member_id,
            "principal_id": self.principal_id,
            "association_id": self.association_id,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Candidate:
        """The inverse of `to_json`."""
        return cls(int(data["member_id"]), int(data["principal_id"]), int(data["association_id"]))


class PanelUnavailable(Conflict):
    """Too few members of other associations are free to hear the appeal."""

    code = "panel-unavailable"


def panel_seed(*, appeal_id: int, case_reference: str, log_size: int, log_root: bytes) -> str:
    """The logged seed of an appeal's draw (step 1 of the module's procedure)."""
    document = {
        "appeal": appeal_id,
        "case": case_reference,
        "log_root": log_root.hex(),
        "log_size": log_size,
    }
    return hashlib.sha256(canonicalize(document)).hexdigest()


def draw_rank(seed: str, principal_id: int) -> str:
    """A candidate's place in the draw: HMAC-SHA256 under the seed, in hex."""
    return hmac.new(
        bytes.fromhex(seed), f"principal:{principal_id}".encode(), hashlib.sha256
    ).hexdigest()


def eligible_candidates(
    members: Iterable[Candidate],
    *,
    governing_association_id: int,
    excluded_member_ids: Iterable[int],
) -> list[Candidate]:
    """Members of other associations, minus those excluded (voters, recused, affiliated)."""
    excluded = set(excluded_member_ids)
    return [
        m
        for m in members
        if m.association_id != governing_association_id and m.member_id not in excluded
    ]


def draw_panel(seed: str, candidates: Sequence[Candidate], size: int) -> tuple[Candidate, ...]:
    """The first `size` candidates in draw order; PanelUnavailable when too few."""
    if size < MIN_PANEL_SIZE:
        raise ValueError(f"a panel has at least {MIN_PANEL_SIZE} members, not {size}")
    unique = {c.member_id: c for c in candidates}
    if len(unique) < size:
        raise PanelUnavailable(
            f"only {len(unique)} committee member(s) of other associations are free to hear "
            f"this appeal; a panel needs {size}"
        )
    ordered = sorted(
        unique.values(), key=lambda c: (draw_rank(seed, c.principal_id), c.principal_id)
    )
    return tuple(ordered[:size])


def check_draw(seed: str, candidates: Sequence[Candidate], size: int, panel: Sequence[int]) -> bool:
    """True when `panel` (member ids, in draw order) is what the logged seed and
    candidates produce: anyone can confirm a draw from the log alone."""
    return [c.member_id for c in draw_panel(seed, candidates, size)] == list(panel)
