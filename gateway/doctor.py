"""`aeo-gateway doctor`: checks an installation without serving and says what to fix.

Configuration (settings, partner files), the gateway's own keys and certificates (readable, key
matching certificate, valid now, not ending within 30 days), each partner's trust anchor, server
CA and signing keys (ending within 30 days), the store (reachable, migrations applied: read
only, nothing is applied) and each partner's outbound endpoint (TCP and a TLS handshake with
the outbound client certificate, all partners at once, a short timeout each).

The partners and keys checked are those serve would load: the partner files plus the partners
created through Admin (stored definitions), every snapshot with the stored signing keys and
their windows, and the gateway signing key in force (the last rotated one, else the
settings'). A code defined both by a file and through Admin fails, as serve would refuse to
start. When the store cannot be read or has migrations pending, only the files are checked.

Each check is OK, WARN (works now, needs attention) or FAIL (does not work), with what to do
for every one that is not OK.
"""

from __future__ import annotations

import socket
import ssl
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import datetime
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization

from adapters.crypto.gateway_keys import FileGatewayKeys
from adapters.crypto.signatures import KeyMismatch, Signer, load_public_key
from adapters.directory.files import FileDirectory, read_definitions
from adapters.directory.stored_keys import KeyedDirectory
from adapters.ops import expiry
from adapters.store.lifecycle import SqlLifecycles
from adapters.store.operations import SqlOperations, known_migrations
from adapters.store.signing_keys import GatewayKeyRow, SqlSigningKeys
from adapters.store.sql import SqlStore
from adapters.wire.registry import codecs
from gateway.clock import SystemClock
from gateway.domain.directory import Directory
from gateway.domain.errors import GatewayError
from gateway.domain.partners import OutboundEndpoint
from gateway.settings import Settings

OK = "OK"
WARN = "WARN"
FAIL = "FAIL"
#: Seconds one partner endpoint may take to connect and finish its TLS handshake.
ENDPOINT_TIMEOUT = 3.0


@dataclass(frozen=True)
class Check:
    name: str
    status: str
    detail: str
    #: What to do; empty for OK.
    fix: str = ""

    def line(self) -> str:
        fix = f" -> {self.fix}" if self.fix else ""
        return f"{self.status:<4} {self.name}: {self.detail}{fix}"

    def as_dict(self) -> dict[str, str]:
        return asdict(self)


def _days(left_seconds: float) -> str:
    days = int(left_seconds // 86_400)
    return f"{days} day{'s' if days != 1 else ''}"


def _validity(name: str, cert: x509.Certificate, now: datetime, renew: str) -> tuple[str, str, str]:
    """(status, detail, fix) of one certificate's validity at ``now``."""
    not_after = cert.not_valid_after_utc
    subject = cert.subject.rfc4514_string()
    if now < cert.not_valid_before_utc:
        return FAIL, f"{subject} is not valid before {cert.not_valid_before_utc:%Y-%m-%d}", renew
    if now > not_after:
        return FAIL, f"{subject} EXPIRED on {not_after:%Y-%m-%d}", renew
    left = (not_after - now).total_seconds()
    if not_after - now <= expiry.WARNING_WINDOW:
        return WARN, f"{subject} expires on {not_after:%Y-%m-%d}, in {_days(left)}", renew
    return OK, f"{subject} valid until {not_after:%Y-%m-%d}", ""


def _pem_certificate(path: Path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def check_pair(name: str, cert_path: Path, key_path: Path, now: datetime, setting: str) -> Check:
    """A certificate and its private key: readable, matching, valid now and for 30 days."""
    renew = f"issue a new certificate and point {setting} at it"
    try:
        cert = _pem_certificate(cert_path)
    except OSError as exc:
        return Check(name, FAIL, f"{cert_path}: {exc.strerror}", f"check {setting}")
    except ValueError:
        return Check(name, FAIL, f"{cert_path} is not a PEM certificate", f"check {setting}")
    try:
        key = serialization.load_pem_private_key(key_path.read_bytes(), password=None)
    except OSError as exc:
        return Check(name, FAIL, f"{key_path}: {exc.strerror}", "check the key setting")
    except (ValueError, TypeError):
        return Check(
            name, FAIL, f"{key_path} is not an unencrypted PEM private key", "check the key file"
        )
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    if key.public_key().public_bytes(der, spki) != cert.public_key().public_bytes(der, spki):
        return Check(
            name,
            FAIL,
            f"the key {key_path} does not match the certificate {cert_path}",
            "give the key the certificate was issued for",
        )
    status, detail, fix = _validity(name, cert, now, renew)
    return Check(name, status, detail, fix)


def check_certificate(name: str, path: Path, now: datetime, setting: str) -> Check:
    try:
        cert = _pem_certificate(path)
    except OSError as exc:
        return Check(name, FAIL, f"{path}: {exc.strerror}", f"check {setting}")
    except ValueError:
        return Check(name, FAIL, f"{path} is not a PEM certificate", f"check {setting}")
    status, detail, fix = _validity(name, cert, now, f"renew it and point {setting} at it")
    return Check(name, status, detail, fix)


def check_signing_key(
    settings: Settings, now: datetime, in_force: GatewayKeyRow | None = None
) -> list[Check]:
    """The gateway signing key serve signs with: ``in_force`` (the last rotated one, as the
    store records it) when there is one, else the settings'."""
    if in_force is not None:
        return check_rotated_key(in_force, now)
    name = "gateway signing key"
    try:
        Signer.from_file(settings.signing_key, settings.signing_key_id, settings.signing_algorithm)
    except OSError as exc:
        return [Check(name, FAIL, f"{settings.signing_key}: {exc.strerror}", "check signing_key")]
    except (KeyMismatch, ValueError, TypeError) as exc:
        return [
            Check(
                name,
                FAIL,
                f"{settings.signing_key} is not a {settings.signing_algorithm} key: {exc}",
                "give a key of signing_algorithm, or set signing_algorithm to the key's",
            )
        ]
    found = [Check(name, OK, f"{settings.signing_key_id} ({settings.signing_algorithm}) loads")]
    cert = expiry.signing_certificate(settings.signing_key)
    if cert.exists():
        found.append(check_certificate("gateway signing certificate", cert, now, "signing_key"))
    return found


def check_rotated_key(row: GatewayKeyRow, now: datetime) -> list[Check]:
    """The rotated gateway key in force: its file readable, of its algorithm, and the private
    half of the public key the store records (the one partners were told of)."""
    name = "gateway signing key"
    path = Path(row.key_file)
    what = f"rotated key {row.key_id} ({row.algorithm}) in force"
    restore = f"restore {path} from a backup: serve signs with it and refuses to start without it"
    try:
        signer = Signer.from_file(path, row.key_id, row.algorithm)
    except OSError as exc:
        return [Check(name, FAIL, f"{what}: {path}: {exc.strerror}", restore)]
    except (KeyMismatch, ValueError, TypeError) as exc:
        return [Check(name, FAIL, f"{what}: {path} is not a {row.algorithm} key: {exc}", restore)]
    der = serialization.Encoding.DER
    spki = serialization.PublicFormat.SubjectPublicKeyInfo
    try:
        recorded = load_public_key(row.public_key.encode(), row.algorithm).public_bytes(der, spki)
    except (KeyMismatch, ValueError, TypeError):
        recorded = b""
    if signer.public_key().public_bytes(der, spki) != recorded:
        return [
            Check(
                name,
                FAIL,
                f"{what}: {path} is not the key whose public half the store records (the one "
                "partners were told of)",
                restore,
            )
        ]
    found = [Check(name, OK, f"{what}: {path} loads and matches")]
    cert = expiry.signing_certificate(path)
    if cert.exists():
        found.append(check_certificate("gateway signing certificate", cert, now, "the rotated key"))
    return found


def check_partner_credentials(directory: Directory, now: datetime) -> list[Check]:
    """One line per partner: its trust anchor, server CA and signing keys with an end."""
    checks: list[Check] = []
    mine = expiry.partners(directory)
    for code in sorted(directory.partners):
        creds = [c for c in mine if c.partner == code]
        ended = [c for c in creds if c.seconds_left(now) <= 0]
        soon = [c for c in expiry.expiring(creds, now) if c not in ended]
        name = f"partner {code} credentials"
        if ended:
            what = "; ".join(f"{_label(c)} EXPIRED on {c.not_after:%Y-%m-%d}" for c in ended)
            checks.append(
                Check(name, FAIL, what, f"ask {code} for the new one and update its definition")
            )
        elif soon:
            what = "; ".join(
                f"{_label(c)} expires on {c.not_after:%Y-%m-%d}, in {_days(c.seconds_left(now))}"
                for c in soon
            )
            checks.append(
                Check(
                    name,
                    WARN,
                    what,
                    f"ask {code} for the renewed one and add it to its definition before then",
                )
            )
        else:
            first = min((c.not_after for c in creds), default=None)
            until = f"; the first ends on {first:%Y-%m-%d}" if first else ""
            checks.append(Check(name, OK, f"{len(creds)} valid beyond 30 days{until}"))
    return checks


def _label(c: expiry.Credential) -> str:
    kind = c.kind.removeprefix("partner_").replace("_", " ")
    return f"{kind} {c.name}"


def check_store(settings: Settings) -> Check:
    """Reachable, and every migration of this build applied; nothing is written."""
    check, store = open_store(settings)
    if store is not None:
        store.database.close()
    return check


def open_store(settings: Settings) -> tuple[Check, SqlStore | None]:
    """The store's check, and the store left open (read only: nothing is migrated) when every
    migration is applied, so that what serve would load from it can be checked; else None."""
    name = "store"
    url = settings.database_url
    if url.startswith("sqlite:///"):
        path = Path(url.removeprefix("sqlite:///"))
        if not path.exists():
            return (
                Check(
                    name,
                    WARN,
                    f"the SQLite database {path} does not exist yet",
                    "`aeo-gateway migrate` creates it (serve does at start)",
                ),
                None,
            )
    try:
        store = SqlStore.open(url, read_pool_size=1)
    except (GatewayError, ValueError) as exc:
        return Check(name, FAIL, f"cannot open {url}: {exc}", "check database_url"), None
    try:
        pending = SqlOperations(store.database).pending_migrations()
    except GatewayError as exc:
        store.database.close()
        cause = " ".join(str(exc.__cause__ or exc.message).split())[:300]
        return (
            Check(
                name,
                FAIL,
                f"cannot reach the database at {url}: {cause}",
                "check that the database is running and that database_url is right",
            ),
            None,
        )
    dialect = store.database.dialect.name
    if pending:
        store.database.close()
        return (
            Check(
                name,
                WARN,
                f"{dialect} reachable; migrations not applied: {', '.join(map(str, pending))}; "
                "only the partner files were checked, not the partners and keys stored in it",
                "run `aeo-gateway migrate` (serve applies them at start), then doctor again",
            ),
            None,
        )
    return (
        Check(name, OK, f"{dialect} reachable; all {len(known_migrations())} migrations applied"),
        store,
    )


def load_directory(
    settings: Settings, home_ca: bytes | None, store: SqlStore | None
) -> tuple[Directory | None, Check]:
    """The directory serve would load (open_core): the partner files, with the store's
    signing keys applied and the partners created through Admin added when ``store`` is
    given; the files alone otherwise. Its check: OK, or FAIL with what to do."""
    name = "partner definitions"
    clock = SystemClock()
    formats = codecs()
    fix_file = "correct the file named; `aeo-gateway partners list` reads them the same way"
    try:
        if store is None:
            files = FileDirectory(
                settings.home_file, settings.partners_dir, formats, clock, home_ca
            )
            directory = files.current()
            return directory, Check(
                name, OK, f"{len(directory.partners)} partners in {settings.partners_dir}"
            )
        keyed = KeyedDirectory(
            settings.home_file,
            settings.partners_dir,
            formats,
            clock,
            home_ca,
            SqlSigningKeys(store.database).stored,
        )
    except GatewayError as exc:
        return None, Check(name, FAIL, exc.message, fix_file)
    in_files = len(keyed.current().partners)
    stored = SqlLifecycles(store.database).definitions()
    clash = sorted(set(stored) & set(keyed.current().partners))
    if clash:
        sources = read_definitions(settings.home_file, settings.partners_dir).partners
        both = ", ".join(f"{code} ({sources[code].source})" for code in clash)
        return keyed.current(), Check(
            name,
            FAIL,
            f"defined both by a partner file and through Admin (stored in the database): "
            f"{both}; serve refuses to start",
            "remove (or move out of partners_dir) the file named: the partner created through "
            "Admin is the one in use, and a partner is defined one way only",
        )
    try:
        keyed.use_stored(lambda: stored)
    except GatewayError as exc:
        return keyed.current(), Check(
            name,
            FAIL,
            f"a partner definition stored through Admin does not load: {exc.message}; serve "
            "refuses to start",
            "correct what is named: a partner file may conflict with it (remove that file)",
        )
    directory = keyed.current()
    admin = len(directory.partners) - in_files
    return directory, Check(
        name,
        OK,
        f"{len(directory.partners)} partners: {in_files} in {settings.partners_dir}, "
        f"{admin} created through Admin",
    )


def _handshake(
    endpoint: OutboundEndpoint, server_ca: bytes, cert: Path, key: Path, timeout: float
) -> str:
    """Connects and completes a TLS handshake as the gateway would; returns the TLS version."""
    host, _, port = endpoint.address.rpartition(":")
    context = ssl.create_default_context(cadata=server_ca.decode())
    context.load_cert_chain(cert, key)
    context.set_alpn_protocols(["h2"])
    name = endpoint.server_name or host.strip("[]")
    with (
        socket.create_connection((host.strip("[]"), int(port)), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=name) as tls,
    ):
        return tls.version() or "TLS"


def check_endpoints(
    settings: Settings, directory: Directory, timeout: float = ENDPOINT_TIMEOUT
) -> list[Check]:
    """Every partner with an outbound endpoint, all at once."""
    targets = [
        (code, p.outbound)
        for code, p in sorted(directory.partners.items())
        if p.outbound is not None and code in directory.server_cas
    ]

    def one(code: str, endpoint: OutboundEndpoint) -> Check:
        name = f"partner {code} endpoint"
        try:
            version = _handshake(
                endpoint,
                directory.server_cas[code],
                settings.outbound_tls_cert,
                settings.outbound_tls_key,
                timeout,
            )
        except ssl.SSLError as exc:
            return Check(
                name,
                FAIL,
                f"{endpoint.address}: TLS handshake failed: {exc.reason or exc}",
                f"check {code}'s server CA and server name in its definition, and that it "
                "trusts the outbound client certificate",
            )
        except (OSError, ValueError) as exc:
            why = exc.strerror or str(exc) if isinstance(exc, OSError) else str(exc)
            return Check(
                name,
                FAIL,
                f"{endpoint.address}: cannot connect: {why or type(exc).__name__}",
                f"check that {code}'s gateway is up and the [outbound] address in its definition",
            )
        return Check(name, OK, f"{endpoint.address} answers ({version})")

    if not targets:
        return []
    with ThreadPoolExecutor(max_workers=min(16, len(targets))) as pool:
        futures = [pool.submit(one, code, endpoint) for code, endpoint in targets]
        return [f.result() for f in futures]


def run(
    settings: Settings,
    now: datetime | None = None,
    timeout: float = ENDPOINT_TIMEOUT,
    report: Callable[[Check], None] | None = None,
) -> list[Check]:
    """Every check, in order; ``report`` is told each one as it is known."""
    now = now or SystemClock().now()
    checks: list[Check] = []

    def add(*found: Check) -> None:
        for check in found:
            checks.append(check)
            if report is not None:
                report(check)

    add(Check("settings", OK, "loaded"))
    try:
        home_ca = settings.home_ca.read_bytes()
    except OSError:
        home_ca = None
    store_check, store = open_store(settings)  # reported in its place below
    try:
        directory, definitions = load_directory(settings, home_ca, store)
        in_force = (
            FileGatewayKeys(
                settings.signing_key, settings.signing_key_id, SqlSigningKeys(store.database)
            ).in_force()
            if store is not None
            else None
        )
    finally:
        if store is not None:
            store.database.close()
    add(definitions)
    add(check_pair("gateway TLS certificate", settings.tls_cert, settings.tls_key, now, "tls_cert"))
    add(
        check_pair(
            "outbound client certificate",
            settings.outbound_tls_cert,
            settings.outbound_tls_key,
            now,
            "outbound_tls_cert",
        )
    )
    add(check_certificate("home CA", settings.home_ca, now, "home_ca"))
    add(*check_signing_key(settings, now, in_force))
    if directory is not None:
        add(*check_partner_credentials(directory, now))
    add(store_check)
    if directory is not None:
        add(*check_endpoints(settings, directory, timeout))
    return checks


def failed(checks: list[Check]) -> bool:
    return any(c.status == FAIL for c in checks)
