"""What every service needs, built once by the composition root (app, CLI or job runner)."""

from __future__ import annotations

from dataclasses import dataclass

from attestations.keys import SigningKey
from registry.db.session import Database
from registry.kernel.clock import Clock
from registry.settings import Settings


@dataclass(frozen=True)
class RegistryContext:
    """Settings, database, clock and the federation's signing key."""

    settings: Settings
    db: Database
    clock: Clock
    federation_key: SigningKey
