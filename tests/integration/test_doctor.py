"""`aeo-gateway doctor` on a healthy development installation and on broken ones: one line per
check, what to fix for each that is not OK, exit 1 only when a check FAILs."""

from __future__ import annotations

import json
import os
import shutil
import socket
import sqlite3
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ed25519

from adapters import pki
from adapters.store.lifecycle import SqlLifecycles
from adapters.store.signing_keys import GatewayKeyRow, SqlSigningKeys
from adapters.store.sql import SqlStore
from gateway.cli import main
from gateway.domain.keys import KeySource, StoredKey
from gateway.domain.lifecycle import EventKind, LifecycleEvent, LifecycleState, PartnerDefinition
from tests.conftest import Live, Workspace
from tests.integration.onboarding_helpers import CODE, KEY_ID, mint


def doctor(config: Path, capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, list[str]]:
    code = main(["--config", str(config), "doctor", *args])
    return code, capsys.readouterr().out.splitlines()


def config_for(live: Live, tmp_path: Path, **values: str) -> Path:
    return live.workspace.write_config(
        f"doctor-{tmp_path.name}.toml", database_url=live.settings.database_url, **values
    )


def line_of(lines: list[str], name: str) -> str:
    found = [line for line in lines if line.split(": ", 1)[0].split(None, 1)[-1] == name]
    assert len(found) == 1, lines
    return found[0]


def test_a_healthy_installation_is_all_ok_and_exits_0(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Doctor on the development installation of a gateway that has served (migrated).
    Result: every line OK (settings, partner definitions, certificates, keys, every partner's
    credentials, the store with all migrations applied); exit 0."""
    code, lines = doctor(config_for(live, tmp_path), capsys)
    assert code == 0
    assert all(line.startswith("OK ") for line in lines), lines
    assert "migrations applied" in line_of(lines, "store")
    partners = live.gateway.directory.current().partners
    assert sum(" credentials: " in line for line in lines) == len(partners)


def test_json_output_lists_every_check_with_status_and_fix(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`doctor --format json`. Result: a JSON list of {name, status, detail, fix}, all OK."""
    code, lines = doctor(config_for(live, tmp_path), capsys, "--format", "json")
    checks = json.loads("\n".join(lines))
    assert code == 0
    assert {c["name"] for c in checks} >= {"settings", "store", "gateway TLS certificate"}
    assert all(set(c) == {"name", "status", "detail", "fix"} for c in checks)
    assert all(c["status"] == "OK" and c["fix"] == "" for c in checks)


def _server_cert(workspace: Workspace, folder: Path, not_after: datetime) -> tuple[Path, Path]:
    home = pki.load(workspace.pki / "ca.pem", workspace.pki / "ca.key.pem")
    issued = pki.issue(
        home,
        "aeo-gateway",
        "Test",
        server=True,
        dns=["localhost"],
        not_before=not_after - timedelta(days=90),
        not_after=not_after,
    )
    cert, key = folder / "server.pem", folder / "server.key.pem"
    cert.write_bytes(pki.cert_pem(issued.cert))
    key.write_bytes(pki.key_pem(issued.key))
    return cert, key


def test_a_tls_certificate_expiring_in_10_days_is_a_warning_and_exits_0(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gateway's TLS certificate ends in 10 days. Result: WARN "expires on DATE, in 9
    days" (a few seconds short of 10) with what to do; every other check OK; exit 0."""
    ends = datetime.now(UTC) + timedelta(days=10)
    cert, key = _server_cert(live.workspace, tmp_path, ends)
    code, lines = doctor(config_for(live, tmp_path, tls_cert=str(cert), tls_key=str(key)), capsys)
    assert code == 0
    warning = line_of(lines, "gateway TLS certificate")
    assert warning.startswith("WARN gateway TLS certificate: CN=aeo-gateway,O=Test expires on ")
    assert f"{ends:%Y-%m-%d}, in 9 days -> issue a new certificate and point tls_cert" in warning
    assert [line for line in lines if not line.startswith("OK ")] == [warning]


def test_an_expired_tls_certificate_fails_and_exits_1(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The gateway's TLS certificate ended yesterday. Result: FAIL "EXPIRED on DATE"; exit 1."""
    ended = datetime.now(UTC) - timedelta(days=1)
    cert, key = _server_cert(live.workspace, tmp_path, ended)
    code, lines = doctor(config_for(live, tmp_path, tls_cert=str(cert), tls_key=str(key)), capsys)
    assert code == 1
    assert f"EXPIRED on {ended:%Y-%m-%d}" in line_of(lines, "gateway TLS certificate")
    assert line_of(lines, "gateway TLS certificate").startswith("FAIL ")


def test_a_key_that_is_not_the_certificates_fails(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """tls_key names the outbound client key, not the server certificate's. Result: FAIL
    "the key ... does not match the certificate ..." with what to give; exit 1."""
    other_key = live.workspace.pki / "clients" / "gateway.key.pem"
    code, lines = doctor(config_for(live, tmp_path, tls_key=str(other_key)), capsys)
    assert code == 1
    line = line_of(lines, "gateway TLS certificate")
    assert line.startswith(f"FAIL gateway TLS certificate: the key {other_key} does not match")
    assert line.endswith("-> give the key the certificate was issued for")


def test_an_unreachable_database_is_one_fail_line_without_traceback(
    workspace: Workspace, tmp_path: Path
) -> None:
    """`aeo-gateway doctor` (a process) with AEO_GATEWAY_DATABASE_URL naming a PostgreSQL
    nobody listens on. Result: exit 1; exactly one FAIL line, the store's, saying what to
    check; no traceback."""
    config = workspace.write_config(f"doctor-db-{tmp_path.name}.toml")
    url = "postgresql://postgres@127.0.0.1:1/x?connect_timeout=1"
    result = subprocess.run(
        [sys.executable, "-m", "gateway", "--config", str(config), "doctor"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**os.environ, "AEO_GATEWAY_DATABASE_URL": url},
    )
    assert result.returncode == 1, result.stderr
    failed = [line for line in result.stdout.splitlines() if not line.startswith("OK ")]
    assert len(failed) == 1, result.stdout
    assert failed[0].startswith(f"FAIL store: cannot reach the database at {url}: ")
    assert failed[0].endswith(
        "-> check that the database is running and that database_url is right"
    )
    assert "Traceback" not in result.stdout + result.stderr


def _partners_with_sg_endpoint(workspace: Workspace, folder: Path, endpoint: str) -> Path:
    """The workspace's partner files with SG's [outbound] endpoint at ``endpoint`` (its server
    certificate issued by the home CA, as the gateway's own is)."""
    partners = folder / "partners"
    shutil.copytree(workspace.root / "partners", partners)
    for path in partners.glob("*.toml"):
        path.write_text(path.read_text().replace("../certs/dev", str(workspace.pki)))
    sg = partners / "SG.toml"
    sg.write_text(
        sg.read_text()
        + f'\n[outbound]\nendpoint = "{endpoint}"\nca = "{workspace.pki / "ca.pem"}"\n'
    )
    return partners


def test_a_partner_endpoint_that_answers_is_ok_and_one_that_does_not_fails(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SG's outbound endpoint is a live gateway (TLS handshake with the outbound client
    certificate succeeds), then a port nobody listens on. Result: first "OK partner SG
    endpoint: localhost:PORT answers (TLSv1.x)", exit 0; then FAIL "cannot connect" with
    what to check, exit 1."""
    good = _partners_with_sg_endpoint(live.workspace, tmp_path / "good", live.target)
    code, lines = doctor(config_for(live, tmp_path, partners_dir=str(good)), capsys)
    assert code == 0, lines
    assert line_of(lines, "partner SG endpoint").startswith(
        f"OK   partner SG endpoint: {live.target} answers (TLSv1."
    )

    with socket.create_server(("127.0.0.1", 0)) as closed:
        port = closed.getsockname()[1]
    bad = _partners_with_sg_endpoint(live.workspace, tmp_path / "bad", f"127.0.0.1:{port}")
    code, lines = doctor(config_for(live, tmp_path, partners_dir=str(bad)), capsys)
    assert code == 1
    line = line_of(lines, "partner SG endpoint")
    assert line.startswith(f"FAIL partner SG endpoint: 127.0.0.1:{port}: cannot connect: ")
    assert "check that SG's gateway is up and the [outbound] address" in line


def test_a_partner_signing_key_ending_soon_is_a_warning(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SG's signing key is registered with not_after in 5 days. Result: WARN on SG's
    credentials naming the key and its end, asking SG for the renewed one; exit 0."""
    partners = tmp_path / "partners"
    shutil.copytree(live.workspace.root / "partners", partners)
    for path in partners.glob("*.toml"):
        path.write_text(path.read_text().replace("../certs/dev", str(live.workspace.pki)))
    ends = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    sg = partners / "SG.toml"
    sg.write_text(
        sg.read_text().replace(
            'algorithm = "ed25519"\n',
            f'algorithm = "ed25519"\nnot_after = {ends.isoformat().replace("+00:00", "Z")}\n',
            1,
        )
    )
    code, lines = doctor(config_for(live, tmp_path, partners_dir=str(partners)), capsys)
    assert code == 0, lines
    line = line_of(lines, "partner SG credentials")
    assert line.startswith(
        f"WARN partner SG credentials: signing key SG-2026-1 expires on {ends:%Y-%m-%d}"
    )
    assert line.endswith("-> ask SG for the renewed one and add it to its definition before then")


def test_settings_that_do_not_load_are_one_fail_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A settings file with an unknown key. Result: one line, FAIL settings naming the key and
    what to do; exit 1."""
    bad = tmp_path / "bad.toml"
    bad.write_text("colour = 'blue'\n")
    code, lines = doctor(bad, capsys)
    assert code == 1
    assert lines == ["FAIL settings: unknown settings: colour -> correct the setting named"]


def test_an_invalid_partner_file_fails_and_the_other_checks_still_run(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SG's file names a trust anchor that does not exist. Result: FAIL partner definitions
    naming the file and field; the certificates and the store are still checked (OK); exit 1."""
    partners = tmp_path / "partners"
    shutil.copytree(live.workspace.root / "partners", partners)
    for path in partners.glob("*.toml"):
        path.write_text(path.read_text().replace("../certs/dev", str(live.workspace.pki)))
    sg = partners / "SG.toml"
    sg.write_text(sg.read_text().replace("partners/SG/ca.pem", "partners/SG/nothing.pem"))
    code, lines = doctor(config_for(live, tmp_path, partners_dir=str(partners)), capsys)
    assert code == 1
    line = line_of(lines, "partner definitions")
    assert line.startswith("FAIL partner definitions: ")
    assert "SG.toml" in line
    assert "trust.ca" in line
    assert line_of(lines, "store").startswith("OK ")
    assert line_of(lines, "gateway TLS certificate").startswith("OK ")


def test_a_partner_endpoint_whose_certificate_the_server_ca_did_not_issue_fails_the_handshake(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """SG's outbound endpoint is a live gateway, but SG's definition names SG's own CA as the
    CA of that server's certificate. Result: FAIL "TLS handshake failed" with what to check
    (server CA and name); exit 1."""
    partners = _partners_with_sg_endpoint(live.workspace, tmp_path / "p", live.target)
    sg = partners / "SG.toml"
    wrong_ca = live.workspace.pki / "partners" / "SG" / "ca.pem"
    sg.write_text(sg.read_text().replace(str(live.workspace.pki / "ca.pem"), str(wrong_ca)))
    code, lines = doctor(config_for(live, tmp_path, partners_dir=str(partners)), capsys)
    assert code == 1
    line = line_of(lines, "partner SG endpoint")
    assert line.startswith(f"FAIL partner SG endpoint: {live.target}: TLS handshake failed: ")
    assert "check SG's server CA and server name" in line


def _fresh_store(tmp_path: Path) -> tuple[str, SqlStore]:
    """A SQLite database of its own, migrated as serve leaves it."""
    url = f"sqlite:///{tmp_path / 'doctor.db'}"
    store = SqlStore.open(url, read_pool_size=1)
    store.migrate()
    return url, store


def _store_chile(live: Live, tmp_path: Path, store: SqlStore) -> None:
    """Chile (CL), whose file does not exist, stored as created through Admin."""
    chile = mint(live.settings, tmp_path / "cl")
    chile.write(endpoint=None)
    attachments = {
        name: (chile.folder / name).read_bytes() for name in ("ca.pem", f"signing-{KEY_ID}.pub.pem")
    }
    first = LifecycleEvent(
        CODE, EventKind.TRANSITION, LifecycleState.DRAFT, "CN=admin", "created", datetime.now(UTC)
    )
    added = SqlLifecycles(store.database).add_definition(
        PartnerDefinition(CODE, chile.definition.read_bytes(), attachments), "CN=admin", first
    )
    assert added


def test_partners_created_through_admin_and_stored_key_windows_are_checked(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The store holds Chile (CL), created through Admin, and a window for SG's file key
    SG-2026-1 that ends in 5 days (set through Admin). Result: partner definitions counts
    CL as created through Admin; OK partner CL credentials (its trust anchor and key, as
    serve loads them); WARN partner SG credentials naming SG-2026-1 and the stored end;
    exit 0."""
    url, store = _fresh_store(tmp_path)
    ends = (datetime.now(UTC) + timedelta(days=5)).replace(microsecond=0)
    try:
        _store_chile(live, tmp_path, store)
        SqlSigningKeys(store.database).put(
            StoredKey(
                "SG", "SG-2026-1", "ed25519", "", None, ends, KeySource.FILE, "CN=admin", ends
            )
        )
    finally:
        store.database.close()
    config = live.workspace.write_config(f"doctor-{tmp_path.name}.toml", database_url=url)
    code, lines = doctor(config, capsys)
    assert code == 0, lines
    assert line_of(lines, "partner definitions").endswith(", 1 created through Admin")
    assert line_of(lines, "partner CL credentials").startswith("OK   partner CL credentials: ")
    line = line_of(lines, "partner SG credentials")
    assert line.startswith(
        f"WARN partner SG credentials: signing key SG-2026-1 expires on {ends:%Y-%m-%d}"
    )


def test_a_partner_file_for_a_partner_created_through_admin_fails_as_serve_would(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Chile (CL) is stored as created through Admin, then someone adds partners/CL.toml.
    Result: FAIL partner definitions naming CL and its file, saying serve refuses to start,
    and what to do (remove the file); exit 1."""
    url, store = _fresh_store(tmp_path)
    try:
        _store_chile(live, tmp_path, store)
    finally:
        store.database.close()
    partners = tmp_path / "partners"
    shutil.copytree(live.workspace.root / "partners", partners)
    for path in partners.glob("*.toml"):
        path.write_text(path.read_text().replace("../certs/dev", str(live.workspace.pki)))
    shutil.copytree(tmp_path / "cl" / "onboard", partners, dirs_exist_ok=True)
    config = live.workspace.write_config(
        f"doctor-{tmp_path.name}.toml", database_url=url, partners_dir=str(partners)
    )
    code, lines = doctor(config, capsys)
    assert code == 1
    line = line_of(lines, "partner definitions")
    assert line.startswith(
        "FAIL partner definitions: defined both by a partner file and through Admin"
    )
    assert f"CL ({partners / 'CL.toml'})" in line
    assert "serve refuses to start -> remove (or move out of partners_dir) the file" in line


def _rotate(store: SqlStore, key_file: Path, public_of: Path | None = None) -> None:
    """Records ``key_file`` as the rotated gateway key in force (GW-ROTATED, ed25519), with
    the public half of ``public_of`` (default: of ``key_file`` itself)."""
    key = ed25519.Ed25519PrivateKey.generate()
    key_file.write_bytes(pki.key_pem(key))
    public = serialization.load_pem_private_key(
        (public_of or key_file).read_bytes(), password=None
    ).public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    ).decode()
    SqlSigningKeys(store.database).add_gateway_key(
        GatewayKeyRow("GW-ROTATED", "ed25519", str(key_file), pem, "CN=admin", datetime.now(UTC))
    )


def test_the_rotated_gateway_key_in_force_is_checked_not_the_settings_one(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The store records a rotated gateway key GW-ROTATED in force; its file is there, then
    removed. Result: first OK gateway signing key naming GW-ROTATED, exit 0; then FAIL naming
    its file and what to do (restore it: serve refuses to start without it), exit 1, though
    the settings' signing_key still loads."""
    url, store = _fresh_store(tmp_path)
    key_file = tmp_path / "signing-GW-ROTATED.key.pem"
    try:
        _rotate(store, key_file)
    finally:
        store.database.close()
    config = live.workspace.write_config(f"doctor-{tmp_path.name}.toml", database_url=url)
    code, lines = doctor(config, capsys)
    assert code == 0, lines
    assert line_of(lines, "gateway signing key").startswith(
        "OK   gateway signing key: rotated key GW-ROTATED (ed25519) in force: "
    )
    key_file.unlink()
    code, lines = doctor(config, capsys)
    assert code == 1
    line = line_of(lines, "gateway signing key")
    assert line.startswith(
        f"FAIL gateway signing key: rotated key GW-ROTATED (ed25519) in force: {key_file}: "
    )
    assert line.endswith(
        f"-> restore {key_file} from a backup: serve signs with it and refuses to start without it"
    )


def test_a_rotated_gateway_key_file_that_is_not_the_recorded_key_fails(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The store records GW-ROTATED's public key, but its file holds another key (replaced).
    Result: FAIL gateway signing key: the file is not the key whose public half the store
    records; exit 1."""
    url, store = _fresh_store(tmp_path)
    other = tmp_path / "other.key.pem"
    other.write_bytes(pki.key_pem(ed25519.Ed25519PrivateKey.generate()))
    try:
        _rotate(store, tmp_path / "signing-GW-ROTATED.key.pem", public_of=other)
    finally:
        store.database.close()
    config = live.workspace.write_config(f"doctor-{tmp_path.name}.toml", database_url=url)
    code, lines = doctor(config, capsys)
    assert code == 1
    assert "is not the key whose public half the store records" in line_of(
        lines, "gateway signing key"
    )


def test_with_migrations_pending_doctor_migrates_nothing_and_checks_the_files_only(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The database is an empty SQLite file (no migration applied). Result: WARN store
    listing the migrations pending and saying only the partner files were checked, with
    `aeo-gateway migrate` as what to do; the partners of the files are checked; the
    database is left without any table; exit 0."""
    path = tmp_path / "empty.db"
    sqlite3.connect(path).close()
    config = live.workspace.write_config(
        f"doctor-{tmp_path.name}.toml", database_url=f"sqlite:///{path}"
    )
    code, lines = doctor(config, capsys)
    assert code == 0, lines
    line = line_of(lines, "store")
    assert line.startswith("WARN store: sqlite reachable; migrations not applied: ")
    assert "only the partner files were checked" in line
    assert line.endswith(
        "-> run `aeo-gateway migrate` (serve applies them at start), then doctor again"
    )
    assert line_of(lines, "partner SG credentials").startswith("OK ")
    with sqlite3.connect(path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM sqlite_master").fetchone() == (0,)
