"""A wire format added by writing one codec and registering it: the core, the handlers and the
gRPC edge are untouched, and a partner may send it beside the native format."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from gateway.bootstrap import build
from gateway.client import PartnerClient, RecognitionClient, connect
from gateway.devkit import DevWorkspace, pb_records
from gateway.domain.messages import OutboundBatch
from gateway.domain.records import BatchKind
from gateway.pb import common_pb2, exchange_pb2, recognition_pb2
from tests.conftest import ROOT
from tests.contract.toy_codec import ToyCodec
from tests.factories import record
from tests.integration.test_runtime_directory import XT


def test_a_partner_sends_a_new_format_and_the_native_one_side_by_side(tmp_path: Path) -> None:
    """XT's file names the toy format first, then native; the gateway is built with the toy
    codec registered. XT sends message 1 as toy (format left to XT's primary) and message 2
    as native. Result: both accepted; both operators recognised."""
    source = tmp_path / "source"
    source.mkdir()
    for folder in ("partners", "home"):
        (source / folder).mkdir()
        for f in (ROOT / folder).glob("*.toml"):
            (source / folder / f.name).write_text(f.read_text())
    (source / "partners" / "XT.toml").write_text(
        XT.replace('wire_formats = ["native"]', 'wire_formats = ["toy", "native"]')
    )
    workspace = DevWorkspace.create(tmp_path / "ws", source)
    gateway = build(
        workspace.settings(listen="127.0.0.1:0", database_url=f"sqlite:///{tmp_path / 'gw.db'}"),
        extra_codecs=[ToyCodec()],
    )
    try:
        target = f"localhost:{gateway.port}"
        signer = workspace.signer("XT")
        toy = ToyCodec().seal(
            OutboundBatch(
                "XT", 1, datetime.now(UTC), BatchKind.DELTA, (record("XT000001", tier="Gold"),)
            ),
            signer,
        )
        assert toy.detached is not None
        envelope = exchange_pb2.SignedEnvelope(
            payload=toy.payload,
            detached_signature=common_pb2.DetachedSignature(
                key_id=toy.detached.key_id,
                algorithm=common_pb2.SIGNATURE_ALGORITHM_ED25519,
                signature=toy.detached.signature,
            ),
        )
        with connect(target, workspace.identity("XT")) as channel:
            client = PartnerClient(channel, "XT", signer)
            first = client.submit_envelope(envelope)
            second = client.submit(2, pb_records([record("XT000002", tier="Gold")]))
        assert not first.duplicate
        assert not second.duplicate
        with connect(target, workspace.identity("domestic")) as channel:
            answers = RecognitionClient(channel).recognise_many(["XT000001", "XT000002"])
        assert [a.outcome for a in answers] == [recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED] * 2
        stored = gateway.store.reader.history("XT", "XT000001")
        assert [s.basis.message_id.startswith("XT-1-") for s in stored] == [True]
    finally:
        gateway.stop(grace=0)
