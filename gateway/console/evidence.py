"""An evidence bundle (AuditService.ExportEvidence's zip, docs/audit.md), read for display: the
raw message and its signature, the receipt, the chain proof and the checkpoint it ends at.

Standard library only, and only for showing: whether the bundle proves anything is for the
offline verifier (``aeo-gateway audit verify-bundle``), which checks every signature. The
console at most points out a link that does not hold.
"""

from __future__ import annotations

import io
import json
import zipfile
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

#: Raw bytes shown on a page at most; the whole is in the bundle to download.
SHOWN_BYTES = 64 << 10
#: Bytes per line of a hex dump.
_HEX_LINE = 32
#: The audit kinds whose subject is a message id ExportEvidence knows (a receipt's subject is
#: the sent message it settles).
MESSAGE_KINDS = ("message.received", "message.sent", "receipt.received", "outcome_report.received")


class BundleUnreadable(Exception):
    """The gateway's answer is not a bundle this console can read."""


@dataclass(frozen=True)
class Content:
    """Raw bytes as a page shows them: text when they are UTF-8 XML or JSON, else a hex dump;
    at most SHOWN_BYTES of them."""

    size: int
    text: str
    is_text: bool
    truncated: bool


@dataclass(frozen=True)
class ProofLink:
    """One entry of the chain proof; ``linked``: its prev_hash is the entry_hash before it."""

    entry: dict[str, Any]
    linked: bool


@dataclass(frozen=True)
class Evidence:
    manifest: dict[str, Any]
    message: Content | None
    signature: bytes
    receipt: Content | None
    receipt_signature: bytes
    proof: list[ProofLink]
    checkpoint: dict[str, Any]
    checkpoint_signature: str

    @property
    def checkpoint_signed_at(self) -> datetime | None:
        """When the checkpoint was signed (stored as microseconds since 1970)."""
        micros = self.checkpoint.get("signed_at")
        if not isinstance(micros, int):
            return None
        return datetime(1970, 1, 1, tzinfo=UTC) + timedelta(microseconds=micros)

    @property
    def reaches_checkpoint(self) -> bool:
        """The proof's last entry is the one the checkpoint signs."""
        if not self.proof:
            return False
        last = self.proof[-1].entry
        return bool(
            last.get("position") == self.checkpoint.get("position")
            and last.get("entry_hash") == self.checkpoint.get("head_hash")
        )


def content(data: bytes) -> Content:
    shown = data[:SHOWN_BYTES]
    truncated = len(data) > SHOWN_BYTES
    text = _as_text(shown, truncated)
    if text is not None:
        return Content(len(data), text, True, truncated)
    lines = (
        f"{offset:08x}  {shown[offset : offset + _HEX_LINE].hex(' ')}"
        for offset in range(0, len(shown), _HEX_LINE)
    )
    return Content(len(data), "\n".join(lines), False, truncated)


def _as_text(data: bytes, truncated: bool) -> str | None:
    """UTF-8 XML or JSON as text; None for anything else (a cut may split a character)."""
    try:
        text = data.decode("utf-8", "ignore" if truncated else "strict")
    except UnicodeDecodeError:
        return None
    start = text.lstrip("\ufeff \t\r\n")[:1]
    if start not in ("<", "{", "["):
        return None
    if any(ch < " " and ch not in "\t\r\n" for ch in text):
        return None  # control characters: not a document to read as text
    return text


def read(bundle: bytes) -> Evidence:
    try:
        with zipfile.ZipFile(io.BytesIO(bundle)) as archive:
            files = {name: archive.read(name) for name in archive.namelist()}
        manifest = json.loads(files["manifest.json"])
        chain = json.loads(files["chain.json"])
        checkpoint_file = json.loads(files["checkpoint.json"])
        checkpoint = json.loads(checkpoint_file["payload"])
    except (zipfile.BadZipFile, KeyError, ValueError, TypeError) as exc:
        raise BundleUnreadable(str(exc)) from exc
    message = manifest.get("message", {})
    receipt = manifest.get("receipt", {})
    return Evidence(
        manifest=manifest,
        message=_file(files, message.get("file")),
        signature=files.get(message.get("signature_file") or "", b""),
        receipt=_file(files, receipt.get("file")),
        receipt_signature=files.get(receipt.get("signature_file") or "", b""),
        proof=_links(chain),
        checkpoint=checkpoint,
        checkpoint_signature=str(checkpoint_file.get("signature", "")),
    )


def _file(files: dict[str, bytes], name: str | None) -> Content | None:
    return content(files[name]) if name and name in files else None


def _links(chain: list[dict[str, Any]]) -> list[ProofLink]:
    links = []
    before: str | None = None
    for entry in chain:
        links.append(ProofLink(entry, before is None or entry.get("prev_hash") == before))
        before = entry.get("entry_hash")
    return links
