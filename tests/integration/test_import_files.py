"""`aeo-gateway import`: batches that arrived out of band go through the gRPC path's use case."""

from __future__ import annotations

import json
import os
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.cli import main
from gateway.domain.messages import OutboundBatch
from gateway.domain.records import BatchKind
from gateway.importer import UnreadableFile, envelope_from, printable
from gateway.pb import common_pb2, exchange_pb2
from tests.conftest import Live
from tests.factories import record
from tests.integration.helpers import envelope, now, partner_client, receipt_of


def _config(live: Live, tmp_path: Path) -> Path:
    return live.workspace.write_config(
        f"import-{tmp_path.name}.toml", database_url=live.settings.database_url
    )


def _file(tmp_path: Path, name: str, env: exchange_pb2.SignedEnvelope) -> Path:
    path = tmp_path / name
    path.write_bytes(env.SerializeToString())
    return path


def test_an_imported_file_is_stored_with_the_receipt_grpc_would_have_given(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A liaison officer's file: SG's signed native batch, imported while the gateway runs;
    then SG submits the same bytes over gRPC. Result: the import applies the record and writes
    a receipt signed by the gateway; gRPC answers duplicate with the very same receipt bytes,
    and a domestic query finds the operator."""
    signed = envelope(live.workspace.signer("SG"), "SG", 1, record("SG000000000009"))
    path = _file(tmp_path, "sg-1.pb", signed)
    receipts = tmp_path / "receipts"
    receipts.mkdir()
    code = main(
        [
            "--config",
            str(_config(live, tmp_path)),
            "import",
            str(path),
            "--partner",
            "SG",
            "--receipts",
            str(receipts),
        ]
    )
    out = capsys.readouterr().out
    assert code == 0, out
    assert "1 of 1 records applied" in out
    [receipt_file] = receipts.glob("*.receipt.pb")
    written = exchange_pb2.SignedReceipt.FromString(receipt_file.read_bytes())
    response = partner_client(live).submit_envelope(signed)
    assert response.duplicate
    assert response.receipt == written
    assert receipt_of(live, response).records_applied == 1
    assert receipt_file.name == f"{receipt_of(live, response).message_id}.receipt.pb"
    stored = live.gateway.store.reader.record_as_of("SG", "SG000000000009", now())
    assert stored is not None
    assert stored.basis.message_id == receipt_of(live, response).message_id


def test_a_file_signed_by_another_partner_is_refused_and_the_rest_go_on(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """Three files for SG: KR's key signed the first, the second is not a batch at all, the
    third is genuine. Result: the first two refused with their reasons, the third applied; exit
    1, and the JSON report says which is which."""
    forged = _file(
        tmp_path, "a.pb", envelope(live.workspace.signer("KR"), "SG", 1, record("SG000000000001"))
    )
    garbage = tmp_path / "b.bin"
    garbage.write_bytes(b"\x00\x01not a batch")
    genuine = _file(
        tmp_path, "c.pb", envelope(live.workspace.signer("SG"), "SG", 2, record("SG000000000002"))
    )
    code = main(
        [
            "--config",
            str(_config(live, tmp_path)),
            "import",
            str(forged),
            str(garbage),
            str(genuine),
            "--partner",
            "SG",
            "--format",
            "json",
        ]
    )
    assert code == 1
    reports = json.loads(capsys.readouterr().out)
    assert [r["refused"] for r in reports] == [True, True, False]
    assert reports[0]["reason"] == "signature.unknown_key"
    assert reports[1]["reason"] == "file.unreadable"
    assert reports[2]["receipt"]["recordsApplied"] == 1
    assert live.gateway.store.reader.record_as_of("SG", "SG000000000001", now()) is None


def test_a_back_fill_older_than_the_clock_skew_window_is_accepted_from_a_file(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A batch issued 40 days ago (gRPC refuses anything beyond ±5 minutes). Result: imported;
    one issued 40 days ahead is refused with batch.issued_at_out_of_window."""
    signer = live.workspace.signer("SG")
    old = _file(
        tmp_path,
        "old.pb",
        envelope(signer, "SG", 1, record("SG000000000003"), issued_at=now() - timedelta(days=40)),
    )
    ahead = _file(
        tmp_path,
        "ahead.pb",
        envelope(signer, "SG", 2, record("SG000000000004"), issued_at=now() + timedelta(days=40)),
    )
    config = str(_config(live, tmp_path))
    assert main(["--config", config, "import", str(old), "--partner", "SG"]) == 0
    assert main(["--config", config, "import", str(ahead), "--partner", "SG"]) == 1
    assert "batch.issued_at_out_of_window" in capsys.readouterr().out


def test_an_unknown_partner_or_missing_receipts_folder_is_one_line(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """`import --partner ZZ`, then `--receipts` naming no folder. Result: exit 2 and one line
    each saying what to do; no traceback."""
    path = _file(tmp_path, "x.pb", envelope(live.workspace.signer("SG"), "SG", 1, record()))
    config = str(_config(live, tmp_path))
    assert main(["--config", config, "import", str(path), "--partner", "ZZ"]) == 2
    err = capsys.readouterr().err
    assert "no partner 'ZZ' is registered" in err
    assert len(err.strip().splitlines()) == 1
    too_old = ["--config", config, "import", str(path), "--partner", "SG", "--max-age-days"]
    with pytest.raises(SystemExit) as usage:
        main([*too_old, "99999999999"])
    assert usage.value.code == 2
    assert "invalid days value" in capsys.readouterr().err
    missing = str(tmp_path / "nowhere")
    args = ["--config", config, "import", str(path), "--partner", "SG", "--receipts", missing]
    assert main(args) == 2
    assert "is not a folder" in capsys.readouterr().err


def test_the_form_of_a_file_is_recognised_from_its_content() -> None:
    """An XML document and a JWS, each with a byte-order mark (the JWS with a line end too), a
    serialized envelope, and bytes that are none of these. Result: the xmldsig and jws payloads
    as they were signed, the envelope as it was, and UnreadableFile."""
    xml = b"\xef\xbb\xbf<?xml version='1.0'?><Batch/>"
    assert envelope_from(xml).format == common_pb2.WIRE_FORMAT_XMLDSIG
    assert envelope_from(xml).payload == xml
    jws = envelope_from(b"\xef\xbb\xbfeyJhbGciOiJFUzI1NiJ9.e30.c2ln\r\n")
    assert (jws.format, jws.payload) == (
        common_pb2.WIRE_FORMAT_JWS,
        b"eyJhbGciOiJFUzI1NiJ9.e30.c2ln",
    )
    native = exchange_pb2.SignedEnvelope(format=common_pb2.WIRE_FORMAT_NATIVE, payload=b"x")
    assert envelope_from(native.SerializeToString()) == native
    with pytest.raises(UnreadableFile):
        envelope_from(b"")
    with pytest.raises(UnreadableFile, match="not jws"):
        envelope_from(native.SerializeToString(), "jws")
    with pytest.raises(UnreadableFile, match="neither a JWS compact serialization nor"):
        envelope_from(xml, "jws")
    unknown = exchange_pb2.SignedEnvelope(format=99, payload=b"x")  # type: ignore[arg-type]
    with pytest.raises(UnreadableFile, match=r"unknown \(99\) envelope, not native"):
        envelope_from(unknown.SerializeToString(), "native")


def test_a_file_name_that_is_not_utf8_is_printed_and_stored_escaped() -> None:
    """A file name carrying the byte 0xFF (from another system). Result: written with an
    escape, so the report and the audit peer can always be printed and stored."""
    assert printable(Path(os.fsdecode(b"sg-\xff.pb"))) == "sg-\\xff.pb"


def test_an_xml_dsig_document_and_a_jws_import_as_they_were_signed(
    live: Live, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The EU's XML-DSig document and Korea's JWS, each saved as the partner sent it (the JWS
    with a trailing newline, as text files end). Result: both recognised from their content,
    verified with the partner's registered key and applied."""
    issued = now() - timedelta(days=2)
    eu = live.workspace.envelope(
        OutboundBatch("EU", 1, issued, BatchKind.SNAPSHOT, (record("DE123456789", tier="AEOF"),))
    )
    kr = live.workspace.envelope(
        OutboundBatch("KR", 1, issued, BatchKind.DELTA, (record("1208147521", tier="AAA"),))
    )
    (tmp_path / "eu.xml").write_bytes(eu.payload)
    (tmp_path / "kr.jws").write_bytes(kr.payload + b"\n")
    config = str(_config(live, tmp_path))
    assert main(["--config", config, "import", str(tmp_path / "eu.xml"), "--partner", "EU"]) == 0
    assert main(["--config", config, "import", str(tmp_path / "kr.jws"), "--partner", "KR"]) == 0
    assert capsys.readouterr().out.count("1 of 1 records applied") == 2
    reader = live.gateway.store.reader
    assert reader.record_as_of("EU", "DE123456789", now()) is not None
    assert reader.record_as_of("KR", "KR1208147521", now()) is not None
