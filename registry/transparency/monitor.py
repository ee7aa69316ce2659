"""`registry log monitor`: the check a witness or a government partner runs on a schedule.

Each run fetches the federation key and the latest signed checkpoint, and proves with an
RFC 9162 §2.1.4 consistency proof that the log only grew since the checkpoint kept in the
state file. The verifier key is pinned on the first run (trust on first use) and never
silently replaced: a new key could sign any history. Anything that shows the log
misbehaving (a fork, a rollback, a bad signature, a changed key) raises `MonitorAlarm`
and leaves the state file untouched, so the evidence stays.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from attestations.checkpoint import Checkpoint, open_checkpoint
from attestations.errors import AttestationError, CheckpointError
from attestations.verify import verify_consistency_between

KEY_PATH = "/api/v1/federation/key"
CHECKPOINT_PATH = "/api/v1/log/checkpoint"
CONSISTENCY_PATH = "/api/v1/log/consistency"
STATE_FORMAT = "trust-registry/log-monitor-state/v1"


class MonitorError(Exception):
    """The check could not be made (network, unreadable state, unexpected answer)."""


class MonitorAlarm(MonitorError):
    """The log broke its promise: fork, rollback, bad signature or a changed key."""


@dataclass(frozen=True)
class MonitorState:
    """What the monitor trusts: the pinned key and origin, and the last good checkpoint."""

    verifier_key: str
    origin: str
    checkpoint: str
    """The signed note last verified; kept whole so it can be shown as evidence."""

    def to_json(self) -> str:
        """The state file's text."""
        document = {
            "format": STATE_FORMAT,
            "verifier_key": self.verifier_key,
            "origin": self.origin,
            "checkpoint": self.checkpoint,
        }
        return json.dumps(document, indent=2, ensure_ascii=False) + "\n"

    @classmethod
    def load(cls, path: Path) -> MonitorState | None:
        """Read the state file; None when it does not exist yet (first run)."""
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise MonitorError(f"cannot read state file {path}: {exc.strerror}") from exc
        try:
            document = json.loads(text)
        except json.JSONDecodeError as exc:
            raise MonitorError(f"state file {path} is not JSON: {exc.msg}") from exc
        if not isinstance(document, dict) or document.get("format") != STATE_FORMAT:
            raise MonitorError(f"{path} is not a log monitor state file ({STATE_FORMAT})")
        fields = [document.get(name) for name in ("verifier_key", "origin", "checkpoint")]
        values = [value for value in fields if isinstance(value, str) and value]
        if len(values) != len(fields):
            raise MonitorError(f"state file {path} lacks verifier_key, origin or checkpoint")
        verifier_key, origin, checkpoint = values
        return cls(verifier_key, origin, checkpoint)

    def save(self, path: Path) -> None:
        """Write atomically (temporary file, then rename), so a crash never leaves half a state."""
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(path.name + ".tmp")
        temporary.write_text(self.to_json(), encoding="utf-8")
        os.replace(temporary, path)


@dataclass(frozen=True)
class MonitorReport:
    """The outcome of one successful run."""

    checkpoint: Checkpoint
    previous: Checkpoint | None
    pinned_now: bool
    """True on the first run, when the verifier key was pinned."""
    verifier_key: str

    def summary(self) -> str:
        """One line for the operator."""
        root = base64.b64encode(self.checkpoint.root_hash).decode()
        current = f"checkpoint of size {self.checkpoint.size} (root {root})"
        if self.previous is None:
            return (
                f"first run: verified and saved the {current}; pinned verifier key "
                f"{self.verifier_key} (trust on first use: compare it with a copy obtained "
                "another way)"
            )
        if self.previous.size == self.checkpoint.size:
            return f"no growth: the {current} is the one seen last time"
        return f"consistent: the {current} extends the size {self.previous.size} seen last time"


async def _get(client: httpx.AsyncClient, path: str, **params: int) -> httpx.Response:
    try:
        response = await client.get(path, params=params or None)
    except httpx.HTTPError as exc:
        raise MonitorError(f"GET {path} failed: {exc}") from exc
    return response


def _problem_detail(response: httpx.Response) -> str:
    try:
        detail = response.json().get("detail")
    except (ValueError, AttributeError):
        detail = None
    return str(detail or response.reason_phrase)


async def _fetch_key(client: httpx.AsyncClient) -> tuple[str, str]:
    response = await _get(client, KEY_PATH)
    if response.status_code != httpx.codes.OK:
        raise MonitorError(
            f"GET {KEY_PATH} answered {response.status_code}: {_problem_detail(response)}"
        )
    try:
        document: Any = response.json()
        verifier_key, origin = document["verifier_key"], document["log_origin"]
    except (ValueError, KeyError, TypeError) as exc:
        raise MonitorError(f"GET {KEY_PATH} did not return verifier_key and log_origin") from exc
    return str(verifier_key), str(origin)


async def _fetch_checkpoint(client: httpx.AsyncClient) -> str:
    response = await _get(client, CHECKPOINT_PATH)
    if response.status_code != httpx.codes.OK:
        raise MonitorError(
            f"GET {CHECKPOINT_PATH} answered {response.status_code}: {_problem_detail(response)}"
        )
    return response.text


async def _fetch_consistency(client: httpx.AsyncClient, first: int, second: int) -> list[bytes]:
    response = await _get(client, CONSISTENCY_PATH, first=first, second=second)
    if response.is_server_error:
        raise MonitorError(
            f"GET {CONSISTENCY_PATH} answered {response.status_code}: {_problem_detail(response)}"
        )
    if response.status_code != httpx.codes.OK:
        # Both sizes were signed by the log itself: it must be able to link them.
        raise MonitorAlarm(
            f"the log refuses to prove that its checkpoint of size {second} extends the one "
            f"of size {first} ({response.status_code}: {_problem_detail(response)})"
        )
    try:
        return [base64.b64decode(value, validate=True) for value in response.json()["hashes"]]
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise MonitorAlarm(
            f"the consistency proof from {first} to {second} is not a list of base64 hashes"
        ) from exc


async def check_log(client: httpx.AsyncClient, state_path: Path) -> MonitorReport:
    """One monitor run against the registry `client` points at; saves the new state.

    Raises MonitorAlarm on evidence of misbehaviour and MonitorError when it could not
    check; in both cases the state file is left as it was.
    """
    state = MonitorState.load(state_path)
    published_key, published_origin = await _fetch_key(client)
    if state is not None and published_key != state.verifier_key:
        raise MonitorAlarm(
            f"the registry now publishes verifier key {published_key}, but {state.verifier_key} "
            f"was pinned in {state_path}; a new key could sign any history, so confirm the "
            "change out of band before trusting it (then start a new state file)"
        )
    verifier_key = state.verifier_key if state is not None else published_key
    origin = state.origin if state is not None else published_origin
    note = await _fetch_checkpoint(client)
    try:
        checkpoint = open_checkpoint(note, verifier_key, origin=origin)
    except CheckpointError as exc:
        raise MonitorAlarm(f"the latest checkpoint does not verify: {exc.reason}") from exc

    previous: Checkpoint | None = None
    if state is not None:
        try:
            previous = open_checkpoint(state.checkpoint, verifier_key, origin=origin)
        except CheckpointError as exc:
            raise MonitorError(
                f"the checkpoint saved in {state_path} does not verify: {exc.reason}"
            ) from exc
        proof: list[bytes] = []
        if checkpoint.size > previous.size:
            proof = await _fetch_consistency(client, previous.size, checkpoint.size)
        try:
            verify_consistency_between(verifier_key, state.checkpoint, note, proof, origin=origin)
        except AttestationError as exc:
            what = "ROLLBACK" if checkpoint.size < previous.size else "FORK"
            raise MonitorAlarm(
                f"{what}: the log's checkpoint of size {checkpoint.size} is not an extension of "
                f"the checkpoint of size {previous.size} seen before: {exc.reason}. Both are "
                f"signed by {verifier_key.split('+')[0]}; keep {state_path} and this "
                f"checkpoint as evidence:\n{note}"
            ) from exc
    MonitorState(verifier_key, origin, note).save(state_path)
    return MonitorReport(checkpoint, previous, pinned_now=state is None, verifier_key=verifier_key)
