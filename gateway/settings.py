"""Typed, frozen settings: defaults, then a TOML file, then AEO_GATEWAY_* environment variables.

Loaded and validated once, by the CLI; nothing else reads os.environ. Relative paths are
resolved against the folder of the settings file (or the working directory without one).
"""

from __future__ import annotations

import dataclasses
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

ENV_PREFIX = "AEO_GATEWAY_"


class SettingsError(ValueError):
    """A setting is unknown, of the wrong type or out of range."""


@dataclass(frozen=True)
class Settings:
    #: host:port to listen on (port 0 picks a free port).
    listen: str = "127.0.0.1:50051"
    #: Serve plaintext gRPC without TLS or client authentication. Development only.
    insecure_plaintext: bool = False
    #: The gateway's TLS certificate and key, and the home CA (issues domestic and admin clients).
    tls_cert: Path = Path("certs/dev/server.pem")
    tls_key: Path = Path("certs/dev/server.key.pem")
    home_ca: Path = Path("certs/dev/ca.pem")
    #: Development PKI folder written by `aeo-gateway certs init`.
    pki_dir: Path = Path("certs/dev")
    partners_dir: Path = Path("partners")
    home_file: Path = Path("home/CN.toml")
    #: sqlite:///relative.db, sqlite:////absolute.db or postgresql://user@host/db
    database_url: str = "sqlite:///var/aeo-gateway.db"
    #: The gateway's own message-signing key (receipts, outbound messages). ECDSA P-256 by
    #: default: every wire format speaks it (XML-DSig has no Ed25519 in signxml).
    signing_key: Path = Path("certs/dev/gateway/signing-CN-GW-2.key.pem")
    signing_key_id: str = "CN-GW-2"
    signing_algorithm: str = "ecdsa-p256-sha256"
    #: Where `keys rotate-gateway` writes the keys it generates (created if missing); unset:
    #: the folder of signing_key. Point it at a writable folder kept across restarts when the
    #: keys are mounted read-only (the container: var/gateway-keys).
    gateway_keys_dir: Path | None = None
    #: The client certificate and key the gateway presents to partners' gateways when it
    #: sends them the home administration's AEO changes.
    outbound_tls_cert: Path = Path("certs/dev/clients/gateway.pem")
    outbound_tls_key: Path = Path("certs/dev/clients/gateway.key.pem")
    #: Deliver queued home AEO changes to partners with an [outbound] endpoint. Off, changes
    #: are still queued (another replica, or this one later, delivers them).
    outbound_enabled: bool = True
    #: Seconds between looks for work another replica queued (work queued here, and a settled
    #: message's successor, is taken at once).
    outbound_poll_seconds: float = 0.2
    #: Changes sealed into one outbound message at most: a backlog drains in large messages.
    outbound_max_records_per_message: int = 500
    #: Seconds one send to a partner may take before it counts as failed.
    outbound_call_timeout_seconds: float = 5.0
    #: Age (from when its oldest change was queued) past which an outbound message that no
    #: valid receipt has settled is dead-lettered: no longer attempted until an admin re-drives
    #: it.
    outbound_dead_letter_after_seconds: float = 86_400.0
    #: Partners this gateway delivers to at once (replicas share the partners between them).
    outbound_workers: int = 8
    #: How far a message's issued_at may be from the gateway's clock.
    clock_skew_seconds: int = 300
    max_payload_bytes: int = 4 * 1024 * 1024
    max_records_per_message: int = 10_000
    max_codes_per_query: int = 1_000
    #: Open sequence gaps kept per partner; beyond it the oldest are written off and the
    #: partner is marked as needing a snapshot.
    max_open_gaps: int = 1_000
    #: Handler threads; ingest handlers wait for the group commit. One client can hold at most
    #: twice max_calls_per_client (waiting for bodies, and in flight): keep it well above that.
    workers: int = 1024
    #: Calls one client (a partner, or one home certificate) may have in flight; more are
    #: refused with RESOURCE_EXHAUSTED client.too_many_calls. As many more may wait for their
    #: request body (a new one cancels the longest waiting); HTTP/2 streams per connection:
    #: twice as many.
    max_calls_per_client: int = 64
    #: Calls of one client doing work at the same time; the rest wait their turn, so a
    #: client's share of the server does not grow with the calls it opens.
    max_active_per_client: int = 4
    #: Seconds a call may wait for its request body before it is cancelled.
    request_body_timeout_seconds: float = 10.0
    #: Request bytes per second one client may send on average (bursts of twice
    #: max_payload_bytes, or two seconds' worth, pass at once); calls beyond it wait.
    max_bytes_per_second_per_client: int = 8 * 1024 * 1024
    #: Calls of one client the gateway may refuse as the caller's fault (a bad signature, a
    #: malformed message) per second on average, five seconds' worth at once; past that its
    #: calls are refused unread with client.too_many_refusals. A forged XML-DSig document costs
    #: milliseconds to refuse: a stream of them must not cost the other clients their share.
    max_refusals_per_second_per_client: float = 20.0
    read_pool_size: int = 8
    #: Seconds in-flight calls get to finish on shutdown.
    grace_seconds: float = 10.0
    #: host:port of the plain HTTP server for operations: GET /metrics (Prometheus), /healthz
    #: (liveness) and /readyz (readiness). Port 0 picks a free port; "" serves none.
    metrics_listen: str = "127.0.0.1:9464"
    #: host:port of the admin web console (HTTPS with an admin or viewer client certificate of
    #: the home CA; docs/console.md), served inside ``serve``. Port 0 picks a free port; ""
    #: serves none (`aeo-gateway console` serves it apart from the gateway).
    console_listen: str = "127.0.0.1:8443"
    #: The certificate (role console) and key the console presents to the gateway's API.
    console_client_cert: Path = Path("certs/dev/clients/console.pem")
    console_client_key: Path = Path("certs/dev/clients/console.key.pem")
    #: Log lines as "text" (one line for people) or "json" (one JSON object per line).
    log_format: str = "text"
    #: Seconds between reloads of partners' certificate revocation lists (trust.crl,
    #: trust.crl_url); a CRL that cannot be read keeps the last good one in force.
    crl_refresh_seconds: float = 300.0
    #: Seconds a CRL may be past its nextUpdate before each refresh logs a WARNING (it is
    #: still used: see docs/keys-and-certificates.md).
    crl_grace_seconds: float = 86_400.0
    #: Seconds between retention purges inside ``serve`` (raw message bytes older than each
    #: partner's [data_protection] retention are emptied); 0: no scheduled purge.
    retention_purge_interval_seconds: float = 3_600.0
    #: The audit log gets a checkpoint signed with the gateway's key after this many new
    #: entries (docs/audit.md)...
    audit_checkpoint_every_entries: int = 1000
    #: ...or this many seconds after the last one, when there are new entries.
    audit_checkpoint_every_seconds: float = 300.0

    def with_overrides(self, **changes: Any) -> Settings:
        return _validated(dataclasses.replace(self, **changes))


_MINIMUMS = {
    "retention_purge_interval_seconds": 0,
    "clock_skew_seconds": 0,
    "max_payload_bytes": 1024,
    "max_records_per_message": 1,
    "max_codes_per_query": 1,
    "max_open_gaps": 1,
    "workers": 2,
    "max_calls_per_client": 1,
    "max_active_per_client": 1,
    "request_body_timeout_seconds": 0.1,
    "max_bytes_per_second_per_client": 1024,
    "max_refusals_per_second_per_client": 0.1,
    "read_pool_size": 1,
    "outbound_poll_seconds": 0.01,
    "outbound_max_records_per_message": 1,
    "outbound_call_timeout_seconds": 0.1,
    "outbound_dead_letter_after_seconds": 1,
    "outbound_workers": 1,
    "grace_seconds": 0,
    "crl_refresh_seconds": 0.05,
    "crl_grace_seconds": 0,
    "audit_checkpoint_every_entries": 1,
    "audit_checkpoint_every_seconds": 1,
}


def _coerce(name: str, kind: Any, value: Any, base: Path) -> Any:
    if kind in (Path | None, "Path | None"):
        return None if value is None or value == "" else _coerce(name, Path, value, base)
    if kind in (Path, "Path"):
        if not isinstance(value, str | Path):
            raise SettingsError(f"{name} must be a path")
        path = Path(value)
        return path if path.is_absolute() else base / path
    if kind in (bool, "bool"):
        if isinstance(value, bool):
            return value
        if isinstance(value, str) and value.lower() in ("1", "true", "yes", "0", "false", "no"):
            return value.lower() in ("1", "true", "yes")
        raise SettingsError(f"{name} must be true or false")
    if kind in (int, "int"):
        try:
            return int(value)
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"{name} must be an integer") from exc
    if kind in (float, "float"):
        try:
            return float(value)
        except (TypeError, ValueError) as exc:
            raise SettingsError(f"{name} must be a number") from exc
    if not isinstance(value, str):
        raise SettingsError(f"{name} must be a string")
    return value


def _validated(settings: Settings) -> Settings:
    for name, minimum in _MINIMUMS.items():
        if getattr(settings, name) < minimum:
            raise SettingsError(f"{name} must be at least {minimum}")
    host, _, port = settings.listen.rpartition(":")
    if not host or not port.isdigit():
        raise SettingsError("listen must be host:port")
    if settings.metrics_listen:
        host, _, port = settings.metrics_listen.rpartition(":")
        if not host or not port.isdigit():
            raise SettingsError('metrics_listen must be host:port, or "" to serve no metrics')
    if settings.console_listen:
        host, _, port = settings.console_listen.rpartition(":")
        if not host or not port.isdigit():
            raise SettingsError('console_listen must be host:port, or "" to serve no console')
    if settings.log_format not in ("text", "json"):
        raise SettingsError("log_format must be text or json")
    if not settings.database_url.startswith(("sqlite:///", "postgresql://", "postgres://")):
        raise SettingsError("database_url must start with sqlite:/// or postgresql://")
    return settings


def load(
    path: Path | None = None,
    environ: Mapping[str, str] | None = None,
    base: Path | None = None,
) -> Settings:
    """Defaults < file < environment. ``environ`` is passed in by the CLI (os.environ)."""
    values: dict[str, Any] = {}
    if path is not None:
        try:
            values.update(tomllib.loads(path.read_text()))
        except (OSError, tomllib.TOMLDecodeError) as exc:
            raise SettingsError(f"{path}: {exc}") from exc
        base = base or path.parent
    base = base or Path.cwd()
    known = {f.name: f for f in fields(Settings)}
    unknown = set(values) - set(known)
    if unknown:
        raise SettingsError(f"unknown settings: {', '.join(sorted(unknown))}")
    for key, value in (environ or {}).items():
        if key.startswith(ENV_PREFIX):
            name = key.removeprefix(ENV_PREFIX).lower()
            if name not in known:
                raise SettingsError(f"unknown setting in environment: {key}")
            values[name] = value
    coerced: dict[str, Any] = {}
    for name, field in known.items():
        value = values.get(name, field.default)
        coerced[name] = _coerce(name, field.type, value, base)
    url = coerced["database_url"]
    if url.startswith("sqlite:///") and not url.startswith("sqlite:////"):
        coerced["database_url"] = f"sqlite:///{base / url.removeprefix('sqlite:///')}"
    return _validated(Settings(**coerced))


def describe() -> str:
    """One line per setting, for --help."""
    return "\n".join(
        f"  {ENV_PREFIX}{f.name.upper()} (default {f.default})" for f in fields(Settings)
    )
