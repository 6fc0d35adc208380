"""xmldsig benchmark: the codec's `open` against the bare use of the same libraries, in-process.

Both paths take the same signed documents and end with the same plain SQLite insert of the
records (one transaction per message). The bare path is what a minimal signxml integration
does: lxml parse, the registered key put in KeyInfo, `XMLVerifier().verify`, the records read
from `signed_xml`. The gateway's path adds the size cap, the hardening checks, the record count,
the signature layout checks, the key resolver, the schema and the per-record reading. Figures
are ratios to the bare path measured in the same run (median of the repeats).

    python -m bench.xmldsig [--messages 400] [--records 1 100] [--repeats 5]
"""

from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import time
from base64 import b64encode
from collections.abc import Callable, Sequence
from datetime import UTC, datetime

from cryptography.hazmat.primitives import serialization
from lxml import etree
from signxml.verifier import SignatureConfiguration, XMLVerifier

from adapters.crypto.signatures import ECDSA_P256, RSA_PKCS1, PublicKey, Signer, verifier
from adapters.pki import signing_key
from adapters.wire import xmldsig
from bench.data import code
from bench.harness import CLIENT_CPU, pin
from gateway.domain.directory import PartnerKey
from gateway.domain.errors import AlgorithmNotPinned, UnknownSigningKey
from gateway.domain.messages import InboundMessage, OutboundBatch, RecordDraft
from gateway.domain.partners import SigningKeyInfo
from gateway.domain.ports import DecodeLimits
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent

NOW = datetime.now(UTC)
CREATE = "CREATE TABLE records (identifier TEXT, version INTEGER, status TEXT, name TEXT, at TEXT)"
INSERT = "INSERT INTO records VALUES (?, ?, ?, ?, ?)"
NS = f"{{{xmldsig.NS}}}"


def documents(signer: Signer, messages: int, per_message: int) -> list[bytes]:
    codec = xmldsig.XmlDsigCodec()
    out = []
    for seq in range(1, messages + 1):
        records = tuple(
            AeoRecord(
                code(seq * per_message + j),
                "Bench Operator",
                "1 Bench Road",
                RecordStatus.VALID,
                "STP-Plus",
                1,
                NOW,
                StatusEvent.GRANTED,
            )
            for j in range(per_message)
        )
        batch = OutboundBatch("SG", seq, NOW, BatchKind.DELTA, records)
        out.append(codec.seal(batch, signer).payload)
    return out


def bare(public: PublicKey) -> Callable[[bytes, sqlite3.Connection], int]:
    der = b64encode(
        public.public_bytes(
            serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    ).decode()
    config = SignatureConfiguration(require_x509=False, location="./")
    key_info = f"{{{xmldsig.DS}}}Signature/{{{xmldsig.DS}}}KeyInfo"

    def run(payload: bytes, db: sqlite3.Connection) -> int:
        root = etree.fromstring(payload)
        slot = root.find(key_info)
        assert slot is not None
        etree.SubElement(slot, f"{{{xmldsig.DSIG11}}}DEREncodedKeyValue").text = der
        result = XMLVerifier().verify(root, expect_config=config)
        assert not isinstance(result, list)
        signed = result.signed_xml
        assert signed is not None
        rows = [
            (
                r.findtext(NS + "Identifier"),
                int(r.findtext(NS + "Version") or 0),
                r.findtext(NS + "Status"),
                r.findtext(NS + "Name"),
                r.findtext(NS + "EffectiveAt"),
            )
            for r in signed.iterchildren(NS + "Record")
        ]
        return insert(db, rows)

    return run


class OneKey:
    """SG's one registered key, as the directory's resolver hands it out."""

    partner = "SG"

    def __init__(self, key: PartnerKey) -> None:
        self._key = key

    def resolve(self, key_id: str, algorithm: str) -> PartnerKey:
        if key_id != self._key.info.key_id:
            raise UnknownSigningKey(key_id)
        if algorithm != self._key.info.algorithm:
            raise AlgorithmNotPinned(algorithm)
        return self._key


def gateway(signer: Signer) -> Callable[[bytes, sqlite3.Connection], int]:
    public = signer.public_key()
    info = SigningKeyInfo(signer.key_id, signer.algorithm)
    registered = PartnerKey(info, verifier(public, signer.algorithm), public)
    keys = OneKey(registered)
    limits = DecodeLimits(max_records=10_000)
    codec = xmldsig.XmlDsigCodec()

    def run(payload: bytes, db: sqlite3.Connection) -> int:
        message = InboundMessage("SG", xmldsig.NAME, payload, None, NOW, "fp")
        drafts = codec.open(message, keys, limits).drafts
        return insert(db, [_row(d) for d in drafts])

    return run


def _row(d: RecordDraft) -> tuple[object, ...]:
    at = d.effective_at.isoformat() if d.effective_at else None
    return (d.identifier, d.version, d.status.value if d.status else None, d.name, at)


def insert(db: sqlite3.Connection, rows: Sequence[tuple[object, ...]]) -> int:
    with db:
        db.executemany(INSERT, rows)
    return len(rows)


def timed(run: Callable[[bytes, sqlite3.Connection], int], payloads: list[bytes]) -> float:
    """Messages per second through ``run``, into a fresh in-memory database."""
    db = sqlite3.connect(":memory:")
    db.execute(CREATE)
    t0 = time.perf_counter()
    for payload in payloads:
        run(payload, db)
    seconds = time.perf_counter() - t0
    db.close()
    return len(payloads) / seconds


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=400, help="messages per run")
    parser.add_argument("--records", type=int, nargs="+", default=[1, 100])
    parser.add_argument("--repeats", type=int, default=5, help="runs; the median is reported")
    opts = parser.parse_args()
    pin(CLIENT_CPU)
    print(f"xmldsig open + insert, {opts.messages} messages per run, median of {opts.repeats}")
    for algorithm in (ECDSA_P256, RSA_PKCS1):
        signer = Signer(signing_key(algorithm), "SG-1", algorithm)
        for per_message in opts.records:
            payloads = documents(signer, opts.messages, per_message)
            paths = {"bare": bare(signer.public_key()), "gateway": gateway(signer)}
            rates: dict[str, list[float]] = {name: [] for name in paths}
            for _ in range(opts.repeats):
                for name, run in paths.items():
                    rates[name].append(timed(run, payloads))
            b, g = (statistics.median(rates[n]) for n in ("bare", "gateway"))
            label = f"{algorithm}, {per_message} record(s)/message"
            print(
                f"{label:<40} bare {b * per_message:>8.0f} rec/s  "
                f"gateway {g * per_message:>8.0f} rec/s  gateway/bare {g / b:.2f}x"
            )
    return 0


if __name__ == "__main__":
    sys.exit(main())
