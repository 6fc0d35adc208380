"""Writes the golden batches of tests/golden/partners.py: `python -m tests.golden.generate`.

Run it only when a batch must change (a new partner, a new format version): the committed
batches are what the gateway must keep accepting. Each partner's test key is made once, with
the partner's first registered key id and algorithm, and kept; the batch is sealed in the
partner's primary wire format by the gateway's own codec.
"""

from __future__ import annotations

import sys

from cryptography.hazmat.primitives import serialization

from adapters.crypto.signatures import Signer, load_private_key
from adapters.directory.files import read_definitions
from adapters.pki import key_pem, signing_key
from adapters.wire.registry import codecs
from gateway import protomap
from gateway.domain.messages import OutboundBatch
from gateway.domain.records import AeoRecord, BatchKind, RecordStatus, StatusEvent
from tests.conftest import ROOT
from tests.golden.partners import BATCHES, EXTENSIONS, GOLDEN, ISSUED_AT, KEYS


def signer_for(code: str) -> Signer:
    """The partner's golden test key, made on first use."""
    definitions = read_definitions(ROOT / "home" / "CN.toml", ROOT / "partners")
    info = definitions.partners[code].partner.signing_keys[0]
    path = KEYS / f"{code}.key.pem"
    if not path.exists():
        KEYS.mkdir(exist_ok=True)
        path.write_bytes(key_pem(signing_key(info.algorithm)))
        public = load_private_key(path, info.algorithm).public_key()
        (KEYS / f"{code}.pub.pem").write_bytes(
            public.public_bytes(
                serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
            )
        )
    return Signer.from_file(path, info.key_id, info.algorithm)


def envelope(code: str) -> tuple[str, bytes]:
    """The partner's golden batch as it goes in a file: (wire format, bytes)."""
    definitions = read_definitions(ROOT / "home" / "CN.toml", ROOT / "partners")
    wire_format = definitions.partners[code].partner.wire_formats[0]
    records = tuple(
        AeoRecord(
            op.identifier,
            op.name,
            f"{i + 1} Customs Road",
            RecordStatus.VALID,
            op.tier,
            1,
            ISSUED_AT.replace(month=1, day=1),
            StatusEvent.GRANTED,
        )
        for i, op in enumerate(GOLDEN[code].operators)
    )
    batch = OutboundBatch(code, 1, ISSUED_AT, BatchKind.SNAPSHOT, records)
    sealed = codecs()[wire_format].seal(batch, signer_for(code))
    if sealed.detached is None:
        return wire_format, sealed.payload  # the signature travels inside
    return wire_format, protomap.signed_envelope(sealed).SerializeToString()


def main() -> int:
    BATCHES.mkdir(exist_ok=True)
    for code in GOLDEN:
        wire_format, data = envelope(code)
        path = BATCHES / f"{code}.{EXTENSIONS[wire_format]}"
        for stale in BATCHES.glob(f"{code}.*"):
            stale.unlink()
        path.write_bytes(data)
        print(f"wrote {path.relative_to(ROOT)} ({wire_format}, {len(data)} bytes)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
