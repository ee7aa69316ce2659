"""The federation's signing key: generated on first start into var/keys/ (mode 0600).

`REGISTRY_FEDERATION_KEY` (base64 seed, read into `Settings.federation_key_seed`)
overrides the file so deployments can inject the key from a secret store; the seed is
never logged.
"""

from __future__ import annotations

from pathlib import Path

from attestations.keys import SigningKey, b64decode_strict, load_signing_key
from registry.datadir import private_dir
from registry.settings import Settings

FEDERATION_KEY_FILE = "federation.key"
FEDERATION_KEY_ENV = "REGISTRY_FEDERATION_KEY"
"""Where `Settings.from_env` reads `federation_key_seed`; named in errors about it."""


def federation_key_path(settings: Settings) -> Path:
    """Where the federation private key file lives."""
    return settings.keys_dir / FEDERATION_KEY_FILE


def load_or_create_federation_key(settings: Settings) -> SigningKey:
    """Return the federation key, creating it (0600) if this is the first start."""
    if settings.federation_key_seed:
        return SigningKey(b64decode_strict(settings.federation_key_seed, FEDERATION_KEY_ENV))
    path = federation_key_path(settings)
    if path.exists():
        return load_signing_key(path)
    private_dir(settings.data_dir)
    private_dir(settings.keys_dir)
    key = SigningKey.generate()
    try:
        key.save(path)
    except FileExistsError:
        # Another worker won the race to create it; use theirs.
        return load_signing_key(path)
    return key
