"""Settings from `REGISTRY_*` environment variables; every limit and window lives here."""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from datetime import timedelta
from pathlib import Path

from registry.client_address import parse_networks

DEFAULT_DATA_DIR = "./var"
CLOCK_OFFSET_VARIABLE = "REGISTRY_CLOCK_OFFSET_SECONDS"


def hand_clock_offset_to_workers(seconds: int) -> None:
    """`registry serve --now`: every worker it starts reads this offset through
    `Settings.from_env`, so they all tell the same time."""
    os.environ[CLOCK_OFFSET_VARIABLE] = str(seconds)


def _env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SystemExit(f"{name} must be a whole number, got {raw!r}") from exc


def _env_proxies(name: str) -> tuple[str, ...]:
    raw = os.environ.get(name, "")
    values = tuple(v.strip() for v in raw.split(",") if v.strip())
    try:
        parse_networks(values)
    except ValueError as exc:
        raise SystemExit(f"{name}: {exc}") from exc
    return values


def _env_bool(name: str, *, default: bool) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    return raw.strip().lower() in {"1", "true", "yes", "on"}


@dataclass(frozen=True)
class Settings:
    """Runtime configuration; build with `Settings.from_env()` or `replace()` in tests."""

    data_dir: Path = field(default_factory=lambda: Path(DEFAULT_DATA_DIR))
    database_url: str = ""
    """Empty means the embedded SQLite file `<data_dir>/registry.db`."""
    federation_name: str = "Software Industry Trust Federation"
    """The federation's name in English (English pages, the API)."""
    federation_name_zh: str = "软件行业信任联合会"
    """The federation's name in Chinese, as the Chinese pages show it."""
    log_origin: str = "trust-registry.example/log"
    """C2SP checkpoint origin line; also the signed-note key name of the federation key."""
    federation_key_seed: str = field(default="", repr=False)
    """Base64 Ed25519 seed of the federation key, e.g. from a secret store; empty means the
    key file under `keys_dir`. Kept out of `repr` so the secret never reaches a log."""
    pii_key: str = field(default="", repr=False)
    """Base64 32-byte SecretBox key sealing complainants' contacts; empty means the key file
    under `keys_dir`. Kept out of `repr` like the federation key."""
    public_base_url: str = "http://127.0.0.1:8000"
    trusted_proxies: tuple[str, ...] = ()
    """Addresses or CIDR blocks of the reverse proxies in front of the registry; only
    their `X-Forwarded-For` / `Forwarded` headers name the client. None by default: every
    per-client limit then keys on the connecting address."""
    max_body_bytes: int = 1_048_576
    max_batch_body_bytes: int = 16_777_216
    challenge_ttl: timedelta = timedelta(minutes=5)
    login_token_ttl: timedelta = timedelta(hours=1)
    browser_session_ttl: timedelta = timedelta(hours=8)
    """Longest life of a signed-in web session (never past the credential it came from)."""
    admin_token_ttl: timedelta = timedelta(days=90)
    signature_clock_skew: timedelta = timedelta(minutes=10)
    """How far in the future a signed statement's issued_at may lie."""
    statement_max_age: timedelta = timedelta(days=7)
    """How old a signed statement's issued_at may be when it arrives."""
    page_size_default: int = 20
    page_size_max: int = 100
    checkpoint_interval_seconds: int = 60
    scheduler_enabled: bool = True
    sqlite_busy_timeout_ms: int = 30_000
    log_level: str = "WARNING"
    job_interval_seconds: int = 60
    """How often each scheduled job scans for due work (the checkpoint job has its own)."""
    scheduler_lease_seconds: int = 90
    """SQLite: a scheduler that stops renewing loses the lease after this long."""
    scheduler_renew_seconds: int = 30
    deadline_scan_batch: int = 500
    """Certificates a deadline job handles per transaction; it loops until none is due."""
    renewal_reminder_horizon_days: int = 90
    """Certificates expiring within this many days are checked for reminders and renewal_due;
    keep it at least every scheme's largest reminder and renewal window."""
    attestation_batch_max: int = 500
    """Envelopes per batch-submission request."""
    attestation_group_max: int = 64
    """Single-envelope submissions written together in one transaction, at most."""
    webhook_max_attempts: int = 8
    webhook_backoff_base: timedelta = timedelta(seconds=30)
    """Retry n waits base * 2**(n-1): 30 s, 1 min, 2 min ... (exponential back-off)."""
    webhook_timeout_seconds: int = 10
    """One delivery attempt, name lookup included, gives up after this long."""
    webhook_batch: int = 100
    application_max_bytes: int = 16_384
    """An application envelope larger than this is refused: all of it goes into the
    public log for good."""
    application_client_limit: int = 5
    application_client_window: timedelta = timedelta(hours=1)
    """Applications accepted from one client address per window."""
    application_credit_code_limit: int = 3
    application_credit_code_window: timedelta = timedelta(days=1)
    """Applications accepted for one credit code per window."""
    challenge_client_limit: int = 30
    challenge_client_window: timedelta = timedelta(minutes=10)
    """Login challenges issued to one client address per window. Not limited per key:
    anyone may ask for a challenge for any key, and so could lock its holder out."""
    cleanup_interval_seconds: int = 3600
    """How often the cleanup job deletes expired challenges and old rate-limit rows."""
    webhook_endpoint_batch: int = 10
    """Deliveries one endpoint gets per job run, so a backlog at one endpoint starves none."""
    webhook_concurrency: int = 20
    """Endpoints posted to at once; each endpoint's deliveries go one after another."""
    webhook_endpoints_per_vendor: int = 5
    outbound_allow_loopback: bool = False
    """Tests only: let webhooks and domain proofs reach 127.0.0.1, ::1 and `localhost`
    (webhooks over http:// too). Every other non-public address stays refused."""
    outbound_host_overrides: tuple[tuple[str, str], ...] = ()
    """Tests only: (name, address) answers used instead of DNS; the address may carry a port
    (`127.0.0.1:8443`), like curl's --connect-to, so a test server can stand in for :443."""
    outbound_ca_file: str = ""
    """A PEM bundle trusted for outbound TLS besides the public CAs (a private CA)."""
    domain_proof_timeout_seconds: int = 10
    domain_proof_max_bytes: int = 4096
    """The proof file is read up to this size; the token is one short line."""
    complaint_first_response: timedelta = timedelta(hours=24)
    """Default first-response clock; an association's SLA policy overrides it."""
    complaint_resolution: timedelta = timedelta(days=7)
    """Default resolution clock; an association's SLA policy overrides it."""
    complaint_duplicate_window: timedelta = timedelta(hours=24)
    """The same contact filing the same complaint again within this window is merged."""
    complaint_ip_limit: int = 20
    complaint_ip_window: timedelta = timedelta(hours=1)
    complaint_contact_limit: int = 5
    complaint_contact_window: timedelta = timedelta(hours=24)
    complaint_form_token_ttl: timedelta = timedelta(hours=2)
    complaint_text_max_chars: int = 4000
    """Description, desired remedy, thread messages."""
    complaint_short_text_max_chars: int = 200
    """Product, contact name, subject, rating comment headline fields."""
    complaint_sla_scan_batch: int = 1000
    complaint_figures_window: timedelta = timedelta(days=365)
    complaint_figures_min_count: int = 5
    """Public figures over fewer complaints than this read "fewer than 5"."""
    blacklist_notice_period_days: int = 30
    """A new rulebook version takes effect at least this many days after publication."""
    blacklist_answer_window_days: int = 10
    """Working days (or calendar days, per association) a subject has to answer a case."""
    blacklist_day_counting: str = "working"
    """`working` (State Council holiday calendar) or `calendar`; associations may differ."""
    blacklist_decision_window_days: int = 15
    blacklist_decision_extension_days: int = 15
    blacklist_quorum_numerator: int = 2
    blacklist_quorum_denominator: int = 3
    blacklist_majority: str = "simple"
    """`simple` (more than half of the votes cast) or `two_thirds`."""
    blacklist_appeal_window_days: int = 60
    blacklist_appeal_decision_days: int = 30
    blacklist_repair_decision_days: int = 10
    blacklist_watch_period_days: int = 183
    blacklist_watch_answer_window_days: int = 5
    """The shortened answer window for a new breach in a repaired listing's watch period."""
    blacklist_panel_size: int = 3
    """Committee members of other associations drawn to hear an appeal (never fewer than 3)."""
    blacklist_evaluation_interval_seconds: int = 3600
    """How often the scheduler evaluates the rulebooks (`registry blacklist evaluate`)."""
    blacklist_check_max: int = 10_000
    """Identifiers one bulk check (`POST /api/v1/blacklist/check`) may name."""
    blacklist_snapshot_interval_hours: int = 24
    """A blacklist snapshot's `next_update`: hours after its `issued_at` (a new one is
    signed at every change and at least this often)."""
    public_cache_poll_interval: timedelta = timedelta(milliseconds=500)
    """How often each worker reads the log size to drop cached badges and pages."""
    public_cache_max_age: timedelta = timedelta(seconds=60)
    """Upper bound on how long a cached public answer lives even if the log did not move."""
    public_cache_max_entries: int = 10_000
    badge_http_max_age: timedelta = timedelta(seconds=10)
    """Cache-Control max-age of badge images and JSON (revalidated by strong ETag after)."""
    badge_token_ttl: timedelta = timedelta(hours=24)
    """How long a signed badge token proves anything (never past the certificate's end)."""
    language_cookie_max_age: timedelta = timedelta(days=365)
    hsts_max_age: timedelta = timedelta(days=365)
    """Strict-Transport-Security max-age, sent only when `public_base_url` is https."""
    report_public_threshold: int = 10
    """k of the public reports: a count above zero and below it is suppressed."""
    report_partner_threshold: int = 3
    """k of the government partners' (and the federation's) reports."""
    report_snapshot_day: int = 1
    """Day of the month the scheduled job freezes and signs the previous month's reports."""
    clock_offset_seconds: int = 0
    """How far a server's clock runs ahead of the wall clock (`registry serve --now`)."""

    @classmethod
    def from_env(cls) -> Settings:
        """Read every `REGISTRY_*` variable, falling back to the defaults above."""
        base = cls()
        return replace(
            base,
            data_dir=Path(os.environ.get("REGISTRY_DATA_DIR", DEFAULT_DATA_DIR)),
            database_url=os.environ.get("REGISTRY_DATABASE_URL", ""),
            federation_name=os.environ.get("REGISTRY_FEDERATION_NAME", base.federation_name),
            federation_name_zh=os.environ.get(
                "REGISTRY_FEDERATION_NAME_ZH", base.federation_name_zh
            ),
            log_origin=os.environ.get("REGISTRY_LOG_ORIGIN", base.log_origin),
            federation_key_seed=os.environ.get("REGISTRY_FEDERATION_KEY", ""),
            pii_key=os.environ.get("REGISTRY_PII_KEY", ""),
            public_base_url=os.environ.get("REGISTRY_PUBLIC_BASE_URL", base.public_base_url),
            trusted_proxies=_env_proxies("REGISTRY_TRUSTED_PROXIES"),
            clock_offset_seconds=_env_int(CLOCK_OFFSET_VARIABLE, base.clock_offset_seconds),
            max_body_bytes=_env_int("REGISTRY_MAX_BODY_BYTES", base.max_body_bytes),
            checkpoint_interval_seconds=_env_int(
                "REGISTRY_CHECKPOINT_INTERVAL_SECONDS", base.checkpoint_interval_seconds
            ),
            scheduler_enabled=_env_bool("REGISTRY_SCHEDULER", default=base.scheduler_enabled),
            log_level=os.environ.get("REGISTRY_LOG_LEVEL", base.log_level).upper(),
            webhook_endpoints_per_vendor=_env_int(
                "REGISTRY_WEBHOOK_ENDPOINTS_PER_VENDOR", base.webhook_endpoints_per_vendor
            ),
            outbound_allow_loopback=_env_bool(
                "REGISTRY_OUTBOUND_ALLOW_LOOPBACK", default=base.outbound_allow_loopback
            ),
            outbound_ca_file=os.environ.get("REGISTRY_OUTBOUND_CA_FILE", base.outbound_ca_file),
            complaint_ip_limit=_env_int("REGISTRY_COMPLAINT_IP_LIMIT", base.complaint_ip_limit),
            application_client_limit=_env_int(
                "REGISTRY_APPLICATION_CLIENT_LIMIT", base.application_client_limit
            ),
            application_credit_code_limit=_env_int(
                "REGISTRY_APPLICATION_CREDIT_CODE_LIMIT", base.application_credit_code_limit
            ),
            challenge_client_limit=_env_int(
                "REGISTRY_CHALLENGE_CLIENT_LIMIT", base.challenge_client_limit
            ),
            complaint_contact_limit=_env_int(
                "REGISTRY_COMPLAINT_CONTACT_LIMIT", base.complaint_contact_limit
            ),
            blacklist_evaluation_interval_seconds=_env_int(
                "REGISTRY_BLACKLIST_EVALUATION_INTERVAL_SECONDS",
                base.blacklist_evaluation_interval_seconds,
            ),
            blacklist_check_max=_env_int("REGISTRY_BLACKLIST_CHECK_MAX", base.blacklist_check_max),
            blacklist_snapshot_interval_hours=_env_int(
                "REGISTRY_BLACKLIST_SNAPSHOT_INTERVAL_HOURS",
                base.blacklist_snapshot_interval_hours,
            ),
            report_public_threshold=_env_int(
                "REGISTRY_REPORT_PUBLIC_THRESHOLD", base.report_public_threshold
            ),
            report_partner_threshold=_env_int(
                "REGISTRY_REPORT_PARTNER_THRESHOLD", base.report_partner_threshold
            ),
        )

    @property
    def keys_dir(self) -> Path:
        """Where the federation signing key and the PII key live (mode 0600)."""
        return self.data_dir / "keys"

    @property
    def demo_keys_dir(self) -> Path:
        """Where `registry demo` keeps the demo vendors' private keys."""
        return self.data_dir / "demo-keys"

    @property
    def effective_database_url(self) -> str:
        """The configured URL, or the embedded SQLite file under the data directory."""
        if self.database_url:
            return self.database_url
        return f"sqlite+aiosqlite:///{(self.data_dir / 'registry.db').resolve()}"

    @property
    def serves_https(self) -> bool:
        """True when the public base URL is https: cookies are then `Secure` and every
        response carries Strict-Transport-Security."""
        return self.public_base_url.strip().lower().startswith("https://")

    @property
    def is_sqlite(self) -> bool:
        """True when running on the embedded SQLite default (or any SQLite URL)."""
        return self.effective_database_url.startswith("sqlite")
