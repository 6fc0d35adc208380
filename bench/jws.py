"""The jws codec against a bare JOSE baseline, in one process, in the same run.

Per message: the codec's ``open`` (strict header, key from a resolver, structure scan, joserfc
verification with the pinned algorithm, strict JSON, drafts) then a plain SQLite insert of the
records; against the bare path: joserfc ``deserialize_compact`` with the same key and
``algorithms=["ES256"]``, ``json.loads``, and the same insert of the same rows (times parsed to
microseconds). ES256 (Korea's keys). Runs alternate between the two paths; the median run of
each is reported, and the ratio of the medians (bare time / codec time: 1.0 is as fast as the
baseline). No network, no TLS: this isolates the format's cost; bench.ingest measures the
whole gateway.

    python -m bench.jws [--messages 200] [--records 1,100,1000] [--repeats 5]
"""

from __future__ import annotations

import argparse
import json
import sqlite3
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from joserfc import jws as joserfc_jws
from joserfc.jwk import ECKey

from adapters.crypto.signatures import ECDSA_P256, Signer, verifier
from adapters.pki import signing_key
from adapters.wire import jws
from gateway.domain.directory import PartnerKey
from gateway.domain.messages import InboundMessage, OutboundBatch
from gateway.domain.partners import SigningKeyInfo
from gateway.domain.ports import DecodeLimits
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from gateway.times import to_us

LIMITS = DecodeLimits(max_records=10_000)
COLUMNS = "identifier, version, status, tier, name, address, effective_at"
INSERT = f"INSERT INTO records ({COLUMNS}) VALUES (?, ?, ?, ?, ?, ?, ?)"


class Keys:
    """A resolver holding KR's one key (the codec's resolver port, without a directory)."""

    partner = "KR"

    def __init__(self, key: PartnerKey) -> None:
        self._key = key

    def resolve(self, key_id: str, algorithm: str) -> PartnerKey:
        assert (key_id, algorithm) == (self._key.info.key_id, self._key.info.algorithm)
        return self._key


def messages(signer: Signer, count: int, per_message: int) -> list[bytes]:
    now = datetime.now(UTC)
    out = []
    for seq in range(1, count + 1):
        records = tuple(
            AeoRecord(
                f"KR{seq:06d}{j:06d}",
                "한빛물류 주식회사 Hanbit Logistics",
                "12 Sejong-daero, Jung-gu, Seoul",
                RecordStatus.VALID,
                "AA",
                1,
                now,
                StatusEvent.GRANTED,
            )
            for j in range(per_message)
        )
        batch = OutboundBatch("KR", seq, now, BatchKind.DELTA, records)
        out.append(jws.JwsCodec().seal(batch, signer).payload)
    return out


def database(path: Path) -> sqlite3.Connection:
    path.unlink(missing_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    db.execute("PRAGMA journal_mode=WAL")
    db.execute("PRAGMA synchronous=NORMAL")
    db.execute(
        "CREATE TABLE records (identifier TEXT, version INTEGER, status TEXT, tier TEXT,"
        " name TEXT, address TEXT, effective_at)"
    )
    return db


def insert(db: sqlite3.Connection, rows: list[tuple[Any, ...]]) -> None:
    db.execute("BEGIN")
    db.executemany(INSERT, rows)
    db.execute("COMMIT")


def codec_path(key: PartnerKey) -> Callable[[sqlite3.Connection, bytes], None]:
    codec, keys = jws.JwsCodec(), Keys(key)
    received = datetime.now(UTC)

    def run(db: sqlite3.Connection, payload: bytes) -> None:
        message = InboundMessage("KR", jws.NAME, payload, None, received, "fp")
        batch = codec.open(message, keys, LIMITS)
        rows = [
            (d.identifier, d.version, d.status.value if d.status else None, d.tier, d.name,
             d.address, to_us(d.effective_at) if d.effective_at else None)
            for d in batch.drafts
        ]  # fmt: skip
        insert(db, rows)

    return run


def bare_path(key: PartnerKey) -> Callable[[sqlite3.Connection, bytes], None]:
    public = ECKey.import_key(key.material)  # type: ignore[arg-type]
    # ES256 alone, and joserfc's default payload limit (128 kB) raised as the codec raises it.
    registry = joserfc_jws.JWSRegistry(algorithms=["ES256"])
    registry.max_payload_length = jws.DEFAULT_MAX_PAYLOAD_BYTES

    def run(db: sqlite3.Connection, payload: bytes) -> None:
        token = joserfc_jws.deserialize_compact(payload, public, registry=registry)
        document = json.loads(token.payload)
        # The same rows as the codec path's: a time is stored as microseconds, so even the
        # barest insert parses it.
        rows = [
            (r["identifier"], r["version"], r["status"], r["tier"], r["name"], r["address"],
             to_us(datetime.fromisoformat(r["effective_at"])))
            for r in document["records"]
        ]  # fmt: skip
        insert(db, rows)

    return run


def timed(run: Callable[[sqlite3.Connection, bytes], None], db: Path, items: list[bytes]) -> float:
    """Seconds for all of ``items`` (the database created beforehand, outside the timing)."""
    conn = database(db)
    t0 = time.perf_counter()
    for payload in items:
        run(conn, payload)
    elapsed = time.perf_counter() - t0
    conn.close()
    return elapsed


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--messages", type=int, default=200, help="messages per run and size")
    parser.add_argument("--records", default="1,100,1000", help="records per message, a list")
    parser.add_argument("--repeats", type=int, default=5, help="runs per path; median reported")
    opts = parser.parse_args()
    signer = Signer(signing_key(ECDSA_P256), "KR-1", ECDSA_P256)
    public = signer.public_key()
    key = PartnerKey(SigningKeyInfo("KR-1", ECDSA_P256), verifier(public, ECDSA_P256), public)
    paths = {"codec": codec_path(key), "bare": bare_path(key)}
    print(f"jws (ES256), {opts.messages} messages per run, median of {opts.repeats} runs")
    with tempfile.TemporaryDirectory(prefix="aeo-bench-jws-") as tmp:
        db = Path(tmp) / "bench.db"
        for size in (int(n) for n in opts.records.split(",")):
            items = messages(signer, opts.messages, size)
            kib = statistics.fmean(len(i) for i in items) / 1024
            runs: dict[str, list[float]] = {"codec": [], "bare": []}
            for _ in range(opts.repeats):
                for label, run in paths.items():
                    runs[label].append(timed(run, db, items))
            medians = {label: statistics.median(r) for label, r in runs.items()}
            for label in ("bare", "codec"):
                per = medians[label] / opts.messages
                rate = opts.messages * size / medians[label]
                print(
                    f"{size:>5} records/msg ({kib:7.1f} KiB)  {label:<5} "
                    f"{per * 1e3:8.3f} ms/msg {rate:>10,.0f} records/s"
                )
            print(f"{'':>30}codec / bare {medians['bare'] / medians['codec']:.2f}x")
    return 0


if __name__ == "__main__":
    sys.exit(main())
