"""Peer workspaces: a partner administration's own gateway, run locally beside the home one.

The gateway software is the same on both sides of an MRA: partner P's gateway is this gateway
configured with home = P and one partner = the home administration. From the home gateway's
settings, definitions and development PKI (`aeo-gateway certs init`), ``write_federation``
writes, under one folder:

- ``peers/P/``: ``home/P.toml`` (P as a home administration), ``partners/CN.toml`` (the home
  administration as P's partner, with an ``[outbound]`` endpoint back to the home gateway, so
  federation runs both ways), ``settings.toml`` and ``certs/`` (P's CA and domestic, admin and
  registry client certificates it issued, for calling P's gateway as P's own systems do);
- ``home/partners/``: the home gateway's partner files with ``[outbound]`` endpoints of the
  peers, so the repository's ``partners/`` stays without endpoints.
"""

from __future__ import annotations

import json
import os
import random
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from adapters import pki
from adapters.crypto.signatures import Signer, load_public_key, verifier
from adapters.directory.files import Definitions, PartnerEntry, read_definitions
from adapters.wire.registry import codecs
from gateway import protomap
from gateway.bootstrap import Gateway, build
from gateway.client import TlsIdentity, connect, timestamp
from gateway.domain.messages import OutboundBatch
from gateway.domain.partners import HomeAdministration, Partner
from gateway.pb import admin_pb2, admin_pb2_grpc, home_pb2, home_pb2_grpc
from gateway.pb.exchange_pb2 import Receipt, SignedEnvelope, SignedReceipt
from gateway.settings import Settings, load

#: The grade a peer's home scheme gives everyone outside its AEO programme.
NON_AEO = "non-AEO"
#: What the home administration's programme is called in a peer's partner file.
HOME_PROGRAMMES = {"CN": "China Customs Advanced Certified Enterprise"}
#: Time zones of partner administrations whose rules start at local midnight; others: UTC.
TIME_ZONES = {
    "AU": "Australia/Canberra",
    "BY": "Europe/Minsk",
    "CH": "Europe/Zurich",
    "EU": "Europe/Brussels",
    "HK": "Asia/Hong_Kong",
    "IL": "Asia/Jerusalem",
    "JP": "Asia/Tokyo",
    "KR": "Asia/Seoul",
    "KZ": "Asia/Almaty",
    "MN": "Asia/Ulaanbaatar",
    "NZ": "Pacific/Auckland",
    "SG": "Asia/Singapore",
    "UY": "America/Montevideo",
}
#: A programme with no known start gets a scheme in force long before any record.
EARLIEST_SCHEME = date(2000, 1, 1)
CLIENT_ROLES = ("domestic", "admin", "registry")


@dataclass(frozen=True)
class PeerWorkspace:
    """Partner ``code``'s gateway: its settings file and the certificates its own systems use."""

    code: str
    root: Path
    port: int

    @property
    def settings_file(self) -> Path:
        return self.root / "settings.toml"

    @property
    def pki(self) -> Path:
        return self.root / "certs"

    @property
    def target(self) -> str:
        return f"localhost:{self.port}"

    def settings(self, **overrides: Any) -> Settings:
        settings = load(self.settings_file, {})
        return settings.with_overrides(**overrides) if overrides else settings

    def identity(self, who: str) -> TlsIdentity:
        """ "domestic", "admin" or "registry" of the partner administration (its CA issued
        them, and the peer gateway's server certificate)."""
        return TlsIdentity.dev(self.pki, who)


@dataclass(frozen=True)
class Federation:
    """The home gateway's settings (partner files with the peers' endpoints) and the peers."""

    root: Path
    home: Settings
    peers: dict[str, PeerWorkspace]

    @property
    def home_target(self) -> str:
        return f"localhost:{self.home.listen.rpartition(':')[2]}"

    def home_signer(self) -> Signer:
        """The home gateway's message-signing key (its receipts and outbound messages)."""
        s = self.home
        return Signer.from_file(s.signing_key, s.signing_key_id, s.signing_algorithm)

    def home_calling(self, code: str) -> TlsIdentity:
        """How the home gateway calls partner ``code``'s gateway: its outbound client
        certificate, and the partner's CA for the peer's server certificate."""
        s = self.home
        return TlsIdentity(self.peers[code].pki / "ca.pem", s.outbound_tls_cert, s.outbound_tls_key)

    def peer_calling_home(self, code: str) -> TlsIdentity:
        """How partner ``code``'s gateway calls the home gateway (its outbound certificate)."""
        peer = self.peers[code].settings()
        return TlsIdentity(self.home.home_ca, peer.outbound_tls_cert, peer.outbound_tls_key)

    def seal(self, sender: str, batch: OutboundBatch, wire_format: str) -> SignedEnvelope:
        """``batch`` sealed in ``wire_format`` with the signing key of ``sender``'s gateway
        (the home code or a peer's)."""
        settings = self.home if sender not in self.peers else self.peers[sender].settings()
        signer = Signer.from_file(
            settings.signing_key, settings.signing_key_id, settings.signing_algorithm
        )
        return protomap.signed_envelope(codecs()[wire_format].seal(batch, signer))


def open_receipt(signed: SignedReceipt, key: SigningKeyFile) -> Receipt:
    """The receipt's content once its signature verifies with ``key`` (the receiving gateway's
    published key, whatever its algorithm); ReceiptRefused otherwise."""
    sig = signed.signature
    if sig.key_id != key.key_id:
        raise ReceiptRefused(f"receipt signed by {sig.key_id!r}, expected {key.key_id!r}")
    public = load_public_key(key.public_key.read_bytes(), key.algorithm)
    if not verifier(public, key.algorithm)(signed.receipt, sig.signature):
        raise ReceiptRefused(f"receipt signature does not verify with {key.key_id}")
    receipt = Receipt()
    receipt.ParseFromString(signed.receipt)
    return receipt


class ReceiptRefused(ValueError):
    """A receipt that is not signed by the key expected of the gateway that gave it."""


@dataclass(frozen=True)
class SigningKeyFile:
    key_id: str
    algorithm: str
    public_key: Path


def gateway_key(settings: Settings) -> SigningKeyFile:
    """The published key of the gateway with ``settings``: beside its private key."""
    name = settings.signing_key.name.replace(".key.pem", ".pub.pem")
    return SigningKeyFile(
        settings.signing_key_id, settings.signing_algorithm, settings.signing_key.with_name(name)
    )


#: Ports handed out by this process: never twice, though none listens yet.
_handed_out: set[int] = set()


def free_port() -> int:
    """A port free now: both sides' files name each other's port before either listens.
    Taken below Linux's ephemeral range (32768 up), where the kernel picks the local ports of
    outgoing connections (to PostgreSQL, to another gateway): one of those could otherwise take
    a port between this call and the gateway's listen."""
    while True:
        port = random.randrange(20_000, 32_000)  # noqa: S311  # a port, not a secret
        if port in _handed_out:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
        _handed_out.add(port)
        return port


def write_federation(
    home: Settings,
    root: Path,
    codes: Sequence[str],
    database_url: Mapping[str, str] | None = None,
) -> Federation:
    """Writes peers for ``codes`` and the home side's partner files under ``root``.

    ``database_url`` maps a code (or the home code) to its database; others get SQLite files
    under ``root``."""
    definitions = read_definitions(home.home_file, home.partners_dir)
    unknown = [c for c in codes if c not in definitions.partners]
    if unknown:
        raise ValueError(f"no partner {', '.join(unknown)} in {home.partners_dir}")
    urls = database_url or {}
    home_port = free_port()
    peers = {
        code: write_peer(
            home,
            definitions,
            code,
            root / "peers" / code,
            free_port(),
            f"127.0.0.1:{home_port}",
            urls.get(code),
        )
        for code in codes
    }
    partners_dir = write_home_partners(
        definitions,
        root / "home" / "partners",
        {code: f"127.0.0.1:{peer.port}" for code, peer in peers.items()},
        home.pki_dir,
    )
    (root / "home" / "var").mkdir(parents=True, exist_ok=True)
    home_db = urls.get(definitions.home.code, f"sqlite:///{root / 'home' / 'var' / 'home.db'}")
    settings = home.with_overrides(
        listen=f"127.0.0.1:{home_port}", partners_dir=partners_dir, database_url=home_db
    )
    # Gateways of a federation in one process serve no metrics and no console: none takes a
    # serving one's port.
    settings = settings.with_overrides(metrics_listen="", console_listen="")
    return Federation(root, settings, peers)


def write_peer(
    home: Settings,
    definitions: Definitions,
    code: str,
    folder: Path,
    port: int,
    home_address: str,
    database_url: str | None = None,
) -> PeerWorkspace:
    """Partner ``code``'s gateway in ``folder``, listening on ``port``, sending to
    ``home_address``."""
    entry = definitions.partners[code]
    partner = entry.partner
    dev = home.pki_dir.resolve()
    theirs = dev / "partners" / code
    for sub in ("home", "partners", "var", "certs"):
        (folder / sub).mkdir(parents=True, exist_ok=True)
    _write(folder / "home" / f"{code}.toml", _peer_home(partner))
    _write(
        folder / "partners" / f"{definitions.home.code}.toml",
        _home_as_partner(definitions.home, partner, home, home_address, folder / "partners"),
    )
    _issue_clients(theirs, folder / "certs", partner.name)
    key = partner.signing_keys[0]
    settings = {
        "listen": f"127.0.0.1:{port}",
        "database_url": database_url or f"sqlite:///var/{code}.db",
        "home_file": f"home/{code}.toml",
        "partners_dir": "partners",
        "pki_dir": "certs",
        "tls_cert": _rel(theirs / "server.pem", folder),
        "tls_key": _rel(theirs / "server.key.pem", folder),
        "home_ca": _rel(theirs / "ca.pem", folder),
        "signing_key": _rel(theirs / f"signing-{key.key_id}.key.pem", folder),
        "signing_key_id": key.key_id,
        "signing_algorithm": key.algorithm,
        "outbound_tls_cert": _rel(theirs / "client.pem", folder),
        "outbound_tls_key": _rel(theirs / "client.key.pem", folder),
        "metrics_listen": "",
        "console_listen": "",
    }
    _write(folder / "settings.toml", _document(settings, {}, {}))
    return PeerWorkspace(code, folder, port)


def highest_tier(partner: Partner) -> str:
    """The last recognised tier in the order of ``tiers`` (files list tiers lowest first)."""
    recognised = partner.recognised_tier_names
    return [t for t in partner.tiers if t in recognised][-1]


def _peer_home(partner: Partner) -> str:
    scheme = {
        "name": partner.programme,
        "in_force": partner.mra_in_force or EARLIEST_SCHEME,
        "grades": [*partner.tiers, NON_AEO],
        "aeo_grades": list(partner.tiers),
        "regular": NON_AEO,
    }
    return _document(
        {
            "code": partner.code,
            "name": partner.name,
            "time_zone": TIME_ZONES.get(partner.code, "UTC"),
            "standard_benefits": list(partner.benefits),
        },
        {"identifiers": _identifiers(partner.identifiers)},
        {"grade_schemes": [scheme]},
        header=f"{partner.name} as the home administration of its own gateway (generated).",
    )


def _home_as_partner(
    home: HomeAdministration, partner: Partner, settings: Settings, address: str, folder: Path
) -> str:
    dev = settings.pki_dir.resolve()
    grades = list(dict.fromkeys(g for s in home.grade_schemes for g in s.grades))
    aeo = list(dict.fromkeys(g for s in home.grade_schemes for g in s.grades if g in s.aeo_grades))
    wire_format = partner.outbound.wire_format if partner.outbound else partner.wire_formats[0]
    mra: dict[str, Any] = {
        "signed": partner.mra_signed or "unknown",
        "in_force": partner.mra_in_force or "unknown",
    }
    if partner.mra_in_force_by_mode:
        mra["in_force_by_mode"] = {m.value: d for m, d in partner.mra_in_force_by_mode}
    if partner.suspensions:
        mra["suspensions"] = [{"start": p.start, **({"end": p.end} if p.end else {})}
                              for p in partner.suspensions]  # fmt: skip
    home_ca = _rel(dev / "ca.pem", folder)
    top = {
        "code": home.code,
        "name": home.name,
        "programme": HOME_PROGRAMMES.get(home.code, f"{home.name} AEO"),
        "tiers": grades,
        "recognised_tiers": aeo,
        "direction": "import+export",
        "wire_formats": [wire_format],
    }
    tables = {
        "mra": mra,
        "identifiers": _identifiers(home.identifiers),
        "trust": {"ca": home_ca},
        # The home gateway sends changes as they happen, and nothing when nothing changes:
        # silence is not staleness.
        "freshness": {
            "expected_cadence": "24h",
            "max_staleness": "72h",
            "stale_grants_benefits": True,
        },
        "outbound": {"endpoint": address, "server_name": "localhost", "ca": home_ca},
    }
    keys = [
        {
            "key_id": settings.signing_key_id,
            "algorithm": settings.signing_algorithm,
            "public_key": _rel(
                dev / "gateway" / f"signing-{settings.signing_key_id}.pub.pem", folder
            ),
        }
    ]
    # Every home AEO grade (of any scheme) earns the treatment of the partner's highest tier.
    best = highest_tier(partner)
    mapping = [{"tier": grade, "grade": best} for grade in aeo]
    return _document(
        top,
        tables,
        {"signing_keys": keys, "mapping": mapping},
        header=f"{home.name} as a partner of {partner.name}'s gateway (generated).",
    )


def write_home_partners(
    definitions: Definitions, folder: Path, endpoints: Mapping[str, str], pki_dir: Path
) -> Path:
    """The home gateway's partner files in ``folder``, each with its paths made to work from
    there, and an ``[outbound]`` table for every partner in ``endpoints``."""
    folder.mkdir(parents=True, exist_ok=True)
    for code, entry in definitions.partners.items():
        text = _relocated(entry, folder)
        if code in endpoints:
            if entry.partner.outbound is not None:
                raise ValueError(f"{entry.source} already has an [outbound] table")
            ca = _rel(pki_dir.resolve() / "partners" / code / "ca.pem", folder)
            text += "\n" + _document(
                {},
                {
                    "outbound": {
                        "endpoint": endpoints[code],
                        "server_name": "localhost",
                        "ca": ca,
                    }
                },
                {},
                header=f"{code}'s gateway, run locally (generated).",
            )
        _write(folder / entry.source.name, text)
    return folder


_PATH_LINE = re.compile(r'^(\s*(?:ca|public_key)\s*=\s*)"([^"]*)"', re.MULTILINE)


def _relocated(entry: PartnerEntry, folder: Path) -> str:
    """The file's text with its relative certificate and key paths rewritten for ``folder``."""
    origin = entry.source.parent.resolve()

    def moved(match: re.Match[str]) -> str:
        target = Path(match.group(2))
        resolved = target if target.is_absolute() else origin / target
        return f"{match.group(1)}{json.dumps(_rel(resolved, folder))}"

    return _PATH_LINE.sub(moved, entry.text.decode())


def _issue_clients(theirs: Path, certs: Path, org: str) -> None:
    """The partner's CA (with its key: a development PKI) and the client certificates of the
    partner's own domestic, admin and registry systems, issued by it."""
    (certs / "clients").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(theirs / "ca.pem", certs / "ca.pem")
    shutil.copyfile(theirs / "ca.key.pem", certs / "ca.key.pem")
    os.chmod(certs / "ca.key.pem", 0o600)
    ca = pki.load(theirs / "ca.pem", theirs / "ca.key.pem")
    for role in CLIENT_ROLES:
        if (certs / "clients" / f"{role}.pem").exists():
            continue
        issued = pki.issue(ca, f"{org} {role} system", org, uris=[pki.ROLE_URI_PREFIX + role])
        (certs / "clients" / f"{role}.pem").write_bytes(pki.cert_pem(issued.cert))
        key = certs / "clients" / f"{role}.key.pem"
        key.write_bytes(pki.key_pem(issued.key))
        os.chmod(key, 0o600)


def _identifiers(scheme: Any) -> dict[str, Any]:
    found: dict[str, Any] = {"patterns": list(scheme.patterns)}
    if scheme.prefix:
        found["prefix"] = scheme.prefix
    if scheme.aliases:
        found["aliases"] = [{"pattern": a.pattern, "template": a.template} for a in scheme.aliases]
    if scheme.examples:
        found["examples"] = list(scheme.examples)
    return found


def _rel(path: Path, start: Path) -> str:
    return os.path.relpath(path.resolve(), start.resolve())


def _write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def _value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)  # a TOML basic string
    if isinstance(value, list):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{ " + ", ".join(f"{k} = {_value(v)}" for k, v in value.items()) + " }"
    raise TypeError(f"cannot write {type(value).__name__} as TOML")


def _document(
    top: Mapping[str, Any],
    tables: Mapping[str, Mapping[str, Any]],
    arrays: Mapping[str, Sequence[Mapping[str, Any]]],
    header: str = "",
) -> str:
    """TOML: top-level keys, then ``[tables]``, then ``[[arrays of tables]]``."""
    lines = [f"# {header}"] if header else []
    lines += [f"{k} = {_value(v)}" for k, v in top.items()]
    for name, table in tables.items():
        lines += ["", f"[{name}]", *(f"{k} = {_value(v)}" for k, v in table.items())]
    for name, entries in arrays.items():
        for table in entries:
            lines += ["", f"[[{name}]]", *(f"{k} = {_value(v)}" for k, v in table.items())]
    return "\n".join(lines) + "\n"


def spawn_peer(peer: PeerWorkspace, timeout: float = 60.0) -> subprocess.Popen[str]:
    """`aeo-gateway --config peer/settings.toml serve` as a process, once it listens."""
    proc = subprocess.Popen(  # noqa: S603  # our own interpreter and module, no shell
        [sys.executable, "-m", "gateway", "--config", str(peer.settings_file), "serve"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline()
    if "listening on port" not in line:
        proc.kill()
        _, err = proc.communicate(timeout=timeout)
        raise RuntimeError(f"{peer.code}'s gateway did not start: {err.strip()[-2000:]}")
    return proc


def start_peer(peer: PeerWorkspace, **overrides: Any) -> Gateway:
    """Partner ``peer.code``'s gateway, built and serving in this process."""
    return build(peer.settings(**overrides))


# --- calling the gateways as the demo and the tests do ---------------------------------------


class NotSettled(Exception):
    """An outbound message was not settled by a verified receipt in the time allowed."""


def record_grade_change(
    target: str, identity: TlsIdentity, code: str, grade: str, name: str = ""
) -> home_pb2.RecordGradeChangeResponse:
    """One grade change through HomeRegistryService, effective now, as a credit system sends
    it (``identity``: a registry certificate of that gateway's home CA)."""
    change = home_pb2.GradeChange(
        enterprise_code=code, name=name, address="1 Demo Road" if name else "", grade=grade
    )
    change.effective_at.CopyFrom(timestamp(datetime.now(UTC)))
    with connect(target, identity) as channel:
        return home_pb2_grpc.HomeRegistryServiceStub(channel).RecordGradeChange(
            home_pb2.RecordGradeChangeRequest(change=change), timeout=10
        )


def outbound_messages(
    target: str, identity: TlsIdentity, partner: str
) -> list[admin_pb2.OutboundMessage]:
    """Every message the gateway at ``target`` sent or is sending to ``partner`` (admin)."""
    found: list[admin_pb2.OutboundMessage] = []
    token = ""
    with connect(target, identity) as channel:
        stub = admin_pb2_grpc.AdminServiceStub(channel)
        while True:
            page = stub.ListOutboundMessages(
                admin_pb2.ListOutboundMessagesRequest(
                    parent=f"partners/{partner}", page_size=500, page_token=token
                ),
                timeout=10,
            )
            found.extend(page.messages)
            token = page.next_page_token
            if not token:
                return found


def last_sequence(target: str, identity: TlsIdentity, partner: str) -> int:
    return max((m.sequence for m in outbound_messages(target, identity, partner)), default=0)


def wait_settled(
    target: str, identity: TlsIdentity, partner: str, after: int, timeout: float = 30.0
) -> admin_pb2.OutboundMessage:
    """The first message to ``partner`` after sequence ``after``, once settled."""
    deadline = time.monotonic() + timeout
    while True:
        newer = [m for m in outbound_messages(target, identity, partner) if m.sequence > after]
        first = min(newer, key=lambda m: m.sequence, default=None)
        if first is not None and first.state == admin_pb2.OUTBOUND_MESSAGE_STATE_SETTLED:
            return first
        if time.monotonic() > deadline:
            state = "not queued"
            if first is not None:
                name = admin_pb2.OutboundMessageState.Name(first.state)
                state = name.removeprefix("OUTBOUND_MESSAGE_STATE_")
                state += f", last error {first.last_error}" if first.last_error else ""
            raise NotSettled(
                f"the message to {partner} after sequence {after} was not settled within "
                f"{timeout:.0f} s ({state})"
            )
        time.sleep(0.05)


def settled_receipt(message: admin_pb2.OutboundMessage, key: SigningKeyFile) -> Receipt:
    """The settled message's receipt, checked again with the receiving gateway's published
    key: its signature, and that it names this message's digest and sequence."""
    receipt = open_receipt(message.receipt, key)
    if (receipt.payload_sha256, receipt.sequence) != (message.payload_sha256, message.sequence):
        raise ReceiptRefused(f"the receipt kept for {message.name} is for another message")
    return receipt
