"""The tamper-evident audit log over real gRPC and mutual TLS, on SQLite and PostgreSQL: what
a partner sends and what an admin does is recorded; the chain is verified, listed, and a
message's evidence bundle is exported and verified offline by the standalone script."""

from __future__ import annotations

import hashlib
import io
import json
import subprocess
import sys
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from cryptography.hazmat.primitives.serialization import (
    Encoding,
    PublicFormat,
    load_pem_public_key,
)

from adapters.store.database import Database
from adapters.store.dialects import from_url
from gateway.cli import main
from gateway.client import AdminClient
from gateway.pb import audit_pb2, audit_pb2_grpc, common_pb2, keys_pb2, keys_pb2_grpc
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import envelope, expect_error, partner_client, submit

#: The subject of the development PKI's admin certificate: the actor recorded.
ADMIN_SUBJECT = "CN=CN admin system,O=General Administration of Customs of China"
SUSPENDED = common_pb2.PROGRAMME_STATE_SUSPENDED


@pytest.fixture(params=["sqlite", "postgresql"])
def gateway(request: pytest.FixtureRequest, start_gateway: Callable[..., Live]) -> Live:
    if request.param == "sqlite":
        return start_gateway()
    return start_gateway(database_url=request.getfixturevalue("postgres_url"))


def audit_client(live: Live, who: str = "admin") -> audit_pb2_grpc.AuditServiceStub:
    stub: audit_pb2_grpc.AuditServiceStub = audit_pb2_grpc.AuditServiceStub(live.channel(who))
    return stub


def entries(live: Live, **filters: Any) -> list[audit_pb2.AuditEntry]:
    found = audit_client(live).ListAuditEntries(
        audit_pb2.ListAuditEntriesRequest(**filters), timeout=10
    )
    return list(found.entries)


def gateway_public_key(live: Live) -> Path:
    return live.workspace.pki / "gateway" / f"signing-{live.settings.signing_key_id}.pub.pem"


def sql(live: Live, statement: str, params: tuple[object, ...] = ()) -> None:
    """Runs one statement on the live gateway's database, as a person with access could."""
    db = Database(from_url(live.settings.database_url), 1)
    try:
        with db.reading() as conn:
            conn.execute(db.sql(statement), params)
    finally:
        db.close()


def cli(live: Live, *args: str) -> int:
    config = live.workspace.write_config("cli-audit.toml", database_url=live.settings.database_url)
    return main(["--config", str(config), *args])


def received(live: Live) -> tuple[audit_pb2.AuditEntry, bytes]:
    """SG submits one message; its audit entry, and the raw bytes it sent."""
    client = partner_client(live)
    sealed = envelope(client.signer, "SG", 1, record())
    client.submit_envelope(sealed)
    [entry] = entries(live, kind="message.received")
    return entry, sealed.payload


def test_a_received_message_is_recorded_with_its_digests(gateway: Live) -> None:
    """SG submits a message over mTLS. Result: one message.received entry for SG at position
    1, with the SHA-256 of the raw bytes, the key id, the digest of the receipt, the partner
    certificate's fingerprint, and linked to 64 zeros."""
    entry, payload = received(gateway)
    assert entry.position == 1
    assert entry.partner == "SG"
    assert entry.digest == hashlib.sha256(payload).hexdigest()
    assert entry.subject == f"SG-1-{entry.digest[:16]}"
    assert entry.key_id
    assert len(entry.receipt_digest) == 64
    assert len(entry.actor_fingerprint) == 64
    assert entry.prev_hash == "0" * 64


def test_an_admin_action_is_recorded_with_the_callers_identity(gateway: Live) -> None:
    """An admin suspends SG's programme, tries to suspend an unknown partner, and lists the
    partners. Result: two admin.action entries with the admin certificate's subject and
    fingerprint, the method, the request's digest and the outcome (OK; NOT_FOUND
    partner.not_found); the read-only ListPartners is not recorded."""
    with gateway.channel("admin") as channel:
        admin = AdminClient(channel)
        admin.set_programme_state("SG", SUSPENDED, "audit findings")
        expect_error(
            lambda: admin.set_programme_state("ZZ", SUSPENDED, "no such partner"),
            grpc.StatusCode.NOT_FOUND,
            "partner.not_found",
        )
        list(admin.partners())
    actions = entries(gateway, kind="admin.action")
    assert [a.subject for a in actions] == ["/aeo.gateway.v1.AdminService/SetProgrammeState"] * 2
    cert = x509.load_pem_x509_certificate(
        (gateway.workspace.pki / "clients" / "admin.pem").read_bytes()
    )
    fingerprint = hashlib.sha256(cert.public_bytes(Encoding.DER)).hexdigest()
    for action in actions:
        assert action.actor_subject == ADMIN_SUBJECT
        assert action.actor_fingerprint == fingerprint
        assert len(action.digest) == 64
    assert [json.loads(a.detail_json) for a in actions] == [
        {"reason": "", "role": "admin", "status": "OK"},
        {"reason": "partner.not_found", "role": "admin", "status": "NOT_FOUND"},
    ]


def test_audit_calls_need_an_admin_certificate(gateway: Live) -> None:
    """A partner's certificate calls ListAuditEntries. Result: PERMISSION_DENIED
    auth.role_not_permitted."""
    expect_error(
        lambda: audit_client(gateway, "SG").ListAuditEntries(
            audit_pb2.ListAuditEntriesRequest(), timeout=10
        ),
        grpc.StatusCode.PERMISSION_DENIED,
        "auth.role_not_permitted",
    )


def test_a_received_messages_bundle_is_verified_offline_by_the_standalone_script(
    gateway: Live, tmp_path: Path
) -> None:
    """An admin exports the evidence of a received message (ExportEvidence) and a third party
    runs the bundle's own verify_bundle.py in a fresh Python with only the bundle and the
    gateway's public key. Result: exit 0, the raw bytes, signature, receipt and checkpoint
    proven; a bundle whose message bytes were altered exits 1 naming the file."""
    entry, payload = received(gateway)
    bundle = (
        audit_client(gateway)
        .ExportEvidence(audit_pb2.ExportEvidenceRequest(message_id=entry.subject), timeout=10)
        .bundle
    )
    path = tmp_path / "bundle.zip"
    path.write_bytes(bundle)
    with zipfile.ZipFile(path) as z:
        assert z.read("message.bin") == payload
        (tmp_path / "verify_bundle.py").write_bytes(z.read("verify_bundle.py"))
    command = [
        sys.executable, "-I", str(tmp_path / "verify_bundle.py"), str(path),
        "--public-key", str(gateway_public_key(gateway)),
    ]  # fmt: skip
    ok = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert ok.returncode == 0, ok.stderr
    assert f"OK: message {entry.subject} (received) is proven" in ok.stdout
    assert "message signature verifies" in ok.stdout
    assert "receipt matches its entry and is signed by the gateway" in ok.stdout

    altered = tmp_path / "altered.zip"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(altered, "w") as dst:
        for name in src.namelist():
            data = src.read(name)
            dst.writestr(name, data[:-1] + b"\x00" if name == "message.bin" else data)
    bad = subprocess.run(
        [*command[:3], str(altered), *command[4:]], capture_output=True, text=True, check=False
    )
    assert bad.returncode == 1
    assert "message.bin does not match its SHA-256" in bad.stderr


def forged(bundle: bytes, change: Callable[[dict[str, Any], dict[str, bytes]], None]) -> bytes:
    """The bundle with ``change`` applied to its manifest and files, and every digest in the
    manifest recomputed: a forger's bundle, consistent with itself."""
    with zipfile.ZipFile(io.BytesIO(bundle)) as src:
        files = {name: src.read(name) for name in src.namelist()}
    manifest = json.loads(files.pop("manifest.json"))
    change(manifest, files)
    manifest["files"] = {name: hashlib.sha256(data).hexdigest() for name, data in files.items()}
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w") as dst:
        for name, data in [("manifest.json", json.dumps(manifest).encode()), *files.items()]:
            dst.writestr(name, data)
    return out.getvalue()


def fresh_key_pem() -> tuple[Ed25519PrivateKey, bytes]:
    key = Ed25519PrivateKey.generate()
    pem = key.public_key().public_bytes(Encoding.PEM, PublicFormat.SubjectPublicKeyInfo)
    return key, pem


def resign_with_a_fresh_key(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    key, pem = fresh_key_pem()
    files["signature.bin"] = key.sign(files["message.bin"])
    files["signer.pub.pem"] = pem
    manifest["message"]["algorithm"] = "ed25519"


def swap_the_signature(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    files["signature.bin"] = fresh_key_pem()[0].sign(files["message.bin"])


def swap_the_signer_key(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    files["signer.pub.pem"] = fresh_key_pem()[1]


def claim_it_was_sent_to_another_partner(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    manifest.update(direction="sent", partner="KR")


def claim_another_sequence(manifest: dict[str, Any], files: dict[str, bytes]) -> None:
    manifest["sequence"] += 1


@pytest.mark.parametrize(
    ("change", "named"),
    [
        (resign_with_a_fresh_key, "signer's public key is not the one entry 1 records: swapped"),
        (swap_the_signature, "message signature is not the one entry 1 records: swapped"),
        (swap_the_signer_key, "signer's public key is not the one entry 1 records: swapped"),
        (claim_it_was_sent_to_another_partner, "says the message was 'sent' but entry 1 is"),
        (claim_another_sequence, "manifest's sequence 2 is not entry 1's 1"),
    ],
)
def test_a_bundle_with_a_swapped_signer_or_unchecked_claims_is_refused_offline(
    start_gateway: Callable[..., Live],
    tmp_path: Path,
    change: Callable[[dict[str, Any], dict[str, bytes]], None],
    named: str,
) -> None:
    """A received message's bundle, forged and made consistent with itself (every manifest
    digest recomputed): re-signed with a fresh key (signature and signer key replaced), its
    signature alone replaced, its signer key alone replaced, claimed as sent to KR, or given
    another sequence. Result: the standalone script, in a fresh Python, exits 1 naming what
    does not match the message's entry; the untouched bundle's entry records the SHA-256 of
    the partner's registered key."""
    gateway = start_gateway()
    entry, _ = received(gateway)
    bundle = (
        audit_client(gateway)
        .ExportEvidence(audit_pb2.ExportEvidenceRequest(message_id=entry.subject), timeout=10)
        .bundle
    )
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        pem = z.read("signer.pub.pem")
        (tmp_path / "verify_bundle.py").write_bytes(z.read("verify_bundle.py"))
    der = load_pem_public_key(pem).public_bytes(Encoding.DER, PublicFormat.SubjectPublicKeyInfo)
    [listed] = entries(gateway, kind="message.received")
    assert json.loads(listed.detail_json)["signer_key_sha256"] == hashlib.sha256(der).hexdigest()
    path = tmp_path / "forged.zip"
    path.write_bytes(forged(bundle, change))
    command = [
        sys.executable, "-I", str(tmp_path / "verify_bundle.py"), str(path),
        "--public-key", str(gateway_public_key(gateway)),
    ]  # fmt: skip
    bad = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, check=False)
    assert bad.returncode == 1, bad.stdout
    assert named in bad.stderr


def test_export_then_verify_bundle_on_the_command_line(
    gateway: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`audit export ID --out`, then `audit verify-bundle` with the gateway's public key and no
    settings at all; then verify-bundle with another key. Result: 0 and OK; then exit 1 saying
    the checkpoint is not signed by the key given."""
    entry, _ = received(gateway)
    out = tmp_path / "evidence.zip"
    assert cli(gateway, "audit", "export", entry.subject, "--out", str(out)) == 0
    assert f"wrote {out}" in capsys.readouterr().out
    key = str(gateway_public_key(gateway))
    assert main(["audit", "verify-bundle", str(out), "--public-key", key]) == 0
    assert "is proven" in capsys.readouterr().out
    other = str(gateway.workspace.pki / "partners" / "SG" / "signing-SG-1.pub.pem")
    if not Path(other).exists():
        other = str(next((gateway.workspace.pki / "partners" / "SG").glob("signing-*.pub.pem")))
    assert main(["audit", "verify-bundle", str(out), "--public-key", other]) == 1
    assert "not signed by the gateway key given" in capsys.readouterr().err


def test_export_of_an_unknown_message_is_not_found(
    gateway: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    """ExportEvidence and `audit export` for a message id the log has never seen. Result:
    NOT_FOUND audit.message_unknown; the CLI prints one line and exits non-zero."""
    expect_error(
        lambda: audit_client(gateway).ExportEvidence(
            audit_pb2.ExportEvidenceRequest(message_id="SG-99-deadbeef"), timeout=10
        ),
        grpc.StatusCode.NOT_FOUND,
        "audit.message_unknown",
    )
    assert cli(gateway, "audit", "export", "SG-99-deadbeef") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1
    assert "no message 'SG-99-deadbeef' in the audit log" in err[0]


def test_a_purged_raw_message_still_exports_its_proof_and_verifies(
    gateway: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Retention purges the raw bytes of a received message (payload emptied; the digest
    stays in the chain). Result: audit verify still passes; the bundle says the bytes were
    purged, holds no message.bin, and verifies offline."""
    entry, _ = received(gateway)
    sql(gateway, "UPDATE messages SET payload = ? WHERE partner = 'SG'", (b"",))
    assert cli(gateway, "audit", "verify") == 0
    bundle = (
        audit_client(gateway)
        .ExportEvidence(audit_pb2.ExportEvidenceRequest(message_id=entry.subject), timeout=10)
        .bundle
    )
    with zipfile.ZipFile(io.BytesIO(bundle)) as z:
        manifest = json.loads(z.read("manifest.json"))
        assert "message.bin" not in z.namelist()
    assert manifest["message"]["purged"] is True
    path = tmp_path / "purged.zip"
    path.write_bytes(bundle)
    capsys.readouterr()
    assert (
        main(
            ["audit", "verify-bundle", str(path), "--public-key", str(gateway_public_key(gateway))]
        )
        == 0
    )
    assert "raw message bytes purged by retention" in capsys.readouterr().out


def test_audit_verify_names_an_edited_and_a_deleted_row(
    gateway: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three messages and an admin action are recorded; `audit verify` passes. Then entry 2's
    digest is edited with SQL: verify exits 1 naming entry 2 as edited (VerifyAuditLog says
    the same). The edit is undone and entry 3 deleted: verify names entry 3 as deleted."""
    client = partner_client(gateway)
    for n in (1, 2, 3):
        submit(client, n, record(version=n))
    with gateway.channel("admin") as channel:
        AdminClient(channel).set_programme_state("SG", SUSPENDED, "audit findings")
    assert cli(gateway, "audit", "verify", "--format", "json") == 0
    assert json.loads(capsys.readouterr().out)["entries"] == 4

    [second] = [e for e in entries(gateway) if e.position == 2]
    sql(gateway, "UPDATE audit_entries SET digest = ? WHERE position = 2", ("00" * 32,))
    assert cli(gateway, "audit", "verify") == 1
    err = capsys.readouterr().err
    assert "BROKEN at entry 2 (edited)" in err
    answer = audit_client(gateway).VerifyAuditLog(audit_pb2.VerifyAuditLogRequest(), timeout=10)
    assert (answer.ok, answer.broken_position, answer.breach) == (False, 2, "edited")

    sql(gateway, "UPDATE audit_entries SET digest = ? WHERE position = 2", (second.digest,))
    sql(gateway, "DELETE FROM audit_entries WHERE position = 3")
    assert cli(gateway, "audit", "verify", "--format", "json") == 1
    verdict = json.loads(capsys.readouterr().out)
    assert (verdict["broken_position"], verdict["breach"]) == (3, "deleted")


def test_audit_verify_names_a_row_edited_to_a_value_that_does_not_parse(
    gateway: Live, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """Two messages are recorded and a checkpoint signed; then entry 2's recorded_at is set
    to 10**18 microseconds (past any datetime) with SQL. Result: `audit verify` exits 1 with
    one line naming entry 2 as edited (no traceback) and VerifyAuditLog answers the same, not
    INTERNAL. The checkpoint's signed_at set likewise is named as a bad signature."""
    client = partner_client(gateway)
    for n in (1, 2):
        submit(client, n, record(version=n))
    first = entries(gateway)[0].subject
    assert cli(gateway, "audit", "export", first, "--out", str(tmp_path / "b.zip")) == 0
    capsys.readouterr()
    sql(gateway, "UPDATE audit_entries SET recorded_at = ? WHERE position = 2", (10**18,))
    assert cli(gateway, "audit", "verify") == 1
    out = capsys.readouterr()
    assert out.err.strip().splitlines() == [
        "aeo-gateway: audit log BROKEN at entry 2 (edited): entry 2 does not hash to its "
        "stored hash: edited"
    ]
    answer = audit_client(gateway).VerifyAuditLog(audit_pb2.VerifyAuditLogRequest(), timeout=10)
    assert (answer.ok, answer.broken_position, answer.breach) == (False, 2, "edited")

    sql(gateway, "DELETE FROM audit_entries WHERE position = 2")
    sql(gateway, "UPDATE audit_head SET position = 1, entry_hash = ''")
    sql(gateway, "UPDATE audit_checkpoints SET signed_at = ?", (10**18,))
    assert cli(gateway, "audit", "verify", "--format", "json") == 1
    verdict = json.loads(capsys.readouterr().out)
    assert verdict["breach"] == "bad_checkpoint_signature"


def test_audit_entries_are_listed_by_partner_and_kind_a_page_at_a_time(
    gateway: Live, capsys: pytest.CaptureFixture[str]
) -> None:
    """Two SG messages and an admin action. Result: ListAuditEntries pages of one follow
    each other to the end; a kind filter and a partner filter return only theirs; an unknown
    kind is INVALID_ARGUMENT audit.filter_invalid; `audit list --format json --kind` agrees."""
    client = partner_client(gateway)
    submit(client, 1, record())
    submit(client, 2, record(version=2))
    with gateway.channel("admin") as channel:
        AdminClient(channel).set_programme_state("SG", SUSPENDED, "audit findings")
    stub = audit_client(gateway)
    seen, token = [], ""
    while True:
        page = stub.ListAuditEntries(
            audit_pb2.ListAuditEntriesRequest(page_size=1, page_token=token), timeout=10
        )
        seen += [e.position for e in page.entries]
        token = page.next_page_token
        if not token:
            break
    assert seen == [1, 2, 3]
    assert [e.position for e in entries(gateway, partner="SG")] == [1, 2]
    assert [e.kind for e in entries(gateway, kind="admin.action")] == ["admin.action"]
    expect_error(
        lambda: stub.ListAuditEntries(audit_pb2.ListAuditEntriesRequest(kind="nope"), timeout=10),
        grpc.StatusCode.INVALID_ARGUMENT,
        "audit.filter_invalid",
    )
    assert cli(gateway, "audit", "list", "--kind", "message.received", "--format", "json") == 0
    listed = json.loads(capsys.readouterr().out)
    assert [(e["position"], e["partner"]) for e in listed] == [(1, "SG"), (2, "SG")]


def test_audit_list_public_key_and_mistakes_on_the_command_line(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`audit list` as text after a message; `audit public-key --out`; then mistakes: --until
    before --since, a --since that is no time, a --public-key that is no key. Result: a line
    per entry with its position, kind, partner and subject; the written key is the gateway's
    published one; each mistake one line on stderr and exit 2."""
    entry, _ = received(live)
    assert cli(live, "audit", "list", "--partner", "SG") == 0
    [line] = capsys.readouterr().out.splitlines()
    assert line.split()[0] == "1"
    assert "message.received" in line
    assert entry.subject in line
    out = tmp_path / "gateway.pub.pem"
    assert cli(live, "audit", "public-key", "--out", str(out)) == 0
    assert out.read_bytes() == gateway_public_key(live).read_bytes()
    capsys.readouterr()
    mistakes = [
        ("audit", "list", "--since", "2026-11-02T00:00:00Z", "--until", "2026-11-01T00:00:00Z"),
        ("audit", "list", "--since", "yesterday"),
        ("audit", "verify", "--public-key", str(tmp_path / "missing.pem")),
    ]
    for mistake in mistakes:
        assert cli(live, *mistake) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1, err
        assert err[0].startswith("aeo-gateway: ")


def test_after_a_rotation_public_key_gives_the_key_that_signs_and_the_bundle_verifies_with_it(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gateway key rotates to CN-GW-9, then SG submits and the message is exported.
    Result: `audit public-key` writes CN-GW-9's key, with which the bundle verifies offline;
    `--key-id` with the first key gives that key, with which it does not; an unknown key id is
    one line and exit 2."""
    first = live.settings.signing_key_id
    keys_pb2_grpc.KeyManagementServiceStub(live.channel("admin")).RotateGatewaySigningKey(
        keys_pb2.RotateGatewaySigningKeyRequest(key_id="CN-GW-9"), timeout=30
    )
    entry, _ = received(live)
    bundle = tmp_path / "evidence.zip"
    assert cli(live, "audit", "export", entry.subject, "--out", str(bundle)) == 0
    current, earlier = tmp_path / "current.pem", tmp_path / "earlier.pem"
    assert cli(live, "audit", "public-key", "--out", str(current)) == 0
    assert "(CN-GW-9)" in capsys.readouterr().out
    assert main(["audit", "verify-bundle", str(bundle), "--public-key", str(current)]) == 0
    assert "is proven" in capsys.readouterr().out
    assert cli(live, "audit", "public-key", "--key-id", first, "--out", str(earlier)) == 0
    assert earlier.read_bytes() == gateway_public_key(live).read_bytes()
    capsys.readouterr()
    assert main(["audit", "verify-bundle", str(bundle), "--public-key", str(earlier)]) == 1
    capsys.readouterr()
    assert cli(live, "audit", "public-key", "--key-id", "CN-GW-404") == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1, err
    assert "CN-GW-9 in force" in err[0]
