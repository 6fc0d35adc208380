#!/usr/bin/env python3
"""Verify an aeo-gateway evidence bundle offline: needs only Python 3, the `cryptography`
package, the bundle and the gateway's public key (PEM).

    python3 verify_bundle.py bundle.zip --public-key gateway.pub.pem

Checks (docs/audit.md, "Evidence bundles"): every file against the manifest's SHA-256; every
entry of the chain proof (its hash recomputed, each linked to the one before, from the
message's entry up to the checkpoint); the checkpoint's signature with the gateway public key
given on the command line (never the one in the bundle). Nothing else in the bundle is
trusted: the manifest's claims (direction, partner, sequence, digest, key id, algorithm) are
checked against the message's entry; the raw message against the digest it holds (unless
retention purged the bytes); the detached signature against the entry's signature_sha256 and
the signer's public key against its signer_key_sha256 (SHA-256 of the DER
SubjectPublicKeyInfo), then the signature with that key; the receipt against a receipt digest
in the chain and its signature with the gateway key given (a received message) or the
partner's key its receipt.received entry records (a sent one).
Exit status 0 when everything holds, 1 with the first failure named otherwise, 2 for a bundle
or key that cannot be read.

This file is self-contained on purpose: a third party can read all of it. It is the same code
`aeo-gateway audit verify-bundle` runs.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import zipfile
from collections.abc import Callable
from typing import Any

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, padding, rsa

GENESIS_HASH = "0" * 64
BUNDLE_FORMAT = "aeo-gateway-evidence-bundle"


class BundleInvalid(Exception):
    """The bundle does not prove what it claims: the message names the first failure."""


class Unreadable(Exception):
    """The bundle or the key cannot be read at all."""


def canonical(value: Any) -> bytes:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True).encode()


def sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def load_key(pem: bytes) -> Any:
    try:
        return serialization.load_pem_public_key(pem)
    except ValueError as exc:
        raise Unreadable(f"not a PEM public key ({exc})") from exc


def key_sha256(key: Any) -> str:
    """SHA-256 of a public key's DER SubjectPublicKeyInfo: what an audit entry records of the
    key that signed (docs/audit.md)."""
    der = key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return sha256(der)


#: The direction a bundle's manifest must state for each kind of anchor entry.
DIRECTIONS = {
    "message.received": "received",
    "outcome_report.received": "received",
    "message.sent": "sent",
}


def signature_holds(key: Any, algorithm: str, payload: bytes, signature: bytes) -> bool:
    """``signature`` over ``payload`` with ``key`` under exactly ``algorithm``."""
    try:
        if algorithm == "ed25519" and isinstance(key, ed25519.Ed25519PublicKey):
            key.verify(signature, payload)
        elif algorithm == "ecdsa-p256-sha256" and isinstance(key, ec.EllipticCurvePublicKey):
            key.verify(signature, payload, ec.ECDSA(hashes.SHA256()))
        elif algorithm == "rsa-pss-sha256" and isinstance(key, rsa.RSAPublicKey):
            pss = padding.PSS(mgf=padding.MGF1(hashes.SHA256()), salt_length=32)
            key.verify(signature, payload, pss, hashes.SHA256())
        elif algorithm == "rsa-pkcs1-sha256" and isinstance(key, rsa.RSAPublicKey):
            key.verify(signature, payload, padding.PKCS1v15(), hashes.SHA256())
        else:
            return False
    except (InvalidSignature, ValueError, TypeError):
        return False
    return True


def entry_hash(entry: dict[str, Any]) -> str:
    """SHA-256 of the entry's canonical JSON: every field but entry_hash itself."""
    fields = {k: v for k, v in entry.items() if k != "entry_hash"}
    return sha256(canonical(fields))


def verify(bundle: zipfile.ZipFile, gateway_key: Any, say: Callable[[str], None]) -> None:
    """Raises BundleInvalid naming the first check that fails; ``say`` hears each one passed."""
    names = set(bundle.namelist())

    def read(name: str) -> bytes:
        if name not in names:
            raise BundleInvalid(f"{name} is missing from the bundle")
        return bundle.read(name)

    try:
        manifest = json.loads(read("manifest.json"))
    except ValueError as exc:
        raise BundleInvalid(f"manifest.json is not JSON ({exc})") from exc
    if manifest.get("format") != BUNDLE_FORMAT:
        raise BundleInvalid("manifest.json is not an aeo-gateway evidence bundle's")
    for name, digest in sorted(manifest["files"].items()):
        if sha256(read(name)) != digest:
            raise BundleInvalid(f"{name} does not match its SHA-256 in the manifest: altered")
    say(f"{len(manifest['files'])} files match the manifest")

    # The chain proof: consecutive entries, each hash recomputed, each linked to the one before.
    try:
        entries = json.loads(read("chain.json"))
        checkpoint = json.loads(read("checkpoint.json"))
        signed = json.loads(checkpoint["payload"])
    except (ValueError, KeyError) as exc:
        raise BundleInvalid(f"the chain proof cannot be read ({exc})") from exc
    if not entries:
        raise BundleInvalid("the chain proof holds no entry")
    for before, entry in zip([None, *entries], entries, strict=False):
        position = entry["position"]
        if entry_hash(entry) != entry["entry_hash"]:
            raise BundleInvalid(f"entry {position} does not hash to its entry_hash: altered")
        if before is not None:
            if position != before["position"] + 1:
                raise BundleInvalid(f"entry {position} does not follow entry {before['position']}")
            if entry["prev_hash"] != before["entry_hash"]:
                raise BundleInvalid(f"entry {position} does not link to entry {position - 1}")
    last = entries[-1]
    say(f"entries {entries[0]['position']} to {last['position']} hash and link correctly")

    # The checkpoint: signed by the gateway over the chain's head at the last entry.
    if canonical(signed) != checkpoint["payload"].encode():
        raise BundleInvalid("the checkpoint payload is not in canonical form")
    if signed.get("type") != "aeo-gateway.audit.checkpoint":
        raise BundleInvalid("checkpoint.json is not an audit checkpoint")
    if signed["position"] != last["position"] or signed["head_hash"] != last["entry_hash"]:
        raise BundleInvalid(
            f"the checkpoint signs entry {signed['position']} with another hash than the chain "
            "proof ends with"
        )
    try:
        signature = bytes.fromhex(checkpoint["signature"])
    except ValueError as exc:
        raise BundleInvalid("the checkpoint signature is not hex") from exc
    if not signature_holds(
        gateway_key, signed["algorithm"], checkpoint["payload"].encode(), signature
    ):
        raise BundleInvalid(
            f"the checkpoint at entry {signed['position']} is not signed by the gateway key "
            "given: forged, or another gateway's"
        )
    say(f"checkpoint at entry {signed['position']} signed by the gateway ({signed['key_id']})")

    # The manifest's claims are unsigned: each one must be what the message's entry (pinned by
    # the checkpoint) says.
    position = manifest["entry_position"]
    anchor = next((e for e in entries if e["position"] == position), None)
    if anchor is None or anchor["subject"] != manifest["message_id"]:
        raise BundleInvalid(f"the chain proof does not hold the message's entry {position}")
    direction = DIRECTIONS.get(anchor["kind"])
    if direction is None or manifest["direction"] != direction:
        raise BundleInvalid(
            f"the manifest says the message was {manifest['direction']!r} but entry {position} "
            f"is a {anchor['kind']}"
        )
    message = manifest["message"]
    detail = anchor["detail"]
    claims = (
        ("partner", manifest["partner"], anchor["partner"]),
        ("sequence", manifest["sequence"], anchor["sequence"]),
        ("message_sha256", manifest["message_sha256"], anchor["digest"]),
        ("message key_id", message["key_id"], anchor["key_id"]),
        ("message algorithm", message.get("algorithm", detail["algorithm"]), detail["algorithm"]),
    )
    for name, claimed, recorded in claims:
        if claimed != recorded:
            raise BundleInvalid(
                f"the manifest's {name} {claimed!r} is not entry {position}'s {recorded!r}"
            )
    say(f"manifest matches entry {position}: {direction} {anchor['kind']} of {anchor['partner']}")

    # The message: its entry holds the digest of its raw bytes, of its detached signature and of
    # the key that signed it.
    if message.get("purged"):
        raw = None
        say("raw message bytes purged by retention: their digest stays in the chain")
    else:
        raw = read(message["file"])
        if sha256(raw) != anchor["digest"]:
            raise BundleInvalid("the raw message does not match the digest its audit entry holds")
        say(f"raw message matches entry {position} (sha256 {anchor['digest']})")
    signer = None
    if "signer_public_key" in message:
        signer = load_key(read(message["signer_public_key"]))
        if not detail.get("signer_key_sha256"):
            raise BundleInvalid(f"entry {position} records no signer key: it cannot be tied")
        if key_sha256(signer) != detail["signer_key_sha256"]:
            raise BundleInvalid(
                f"the signer's public key is not the one entry {position} records: swapped"
            )
        say(f"signer's public key is the one entry {position} records")
    if "signature_file" in message:
        signature = read(message["signature_file"])
        if sha256(signature) != detail.get("signature_sha256"):
            raise BundleInvalid(
                f"the message signature is not the one entry {position} records: swapped"
            )
        if raw is not None:
            if signer is None:
                raise BundleInvalid("the signer's public key is missing from the bundle")
            if not signature_holds(signer, detail["algorithm"], raw, signature):
                raise BundleInvalid("the message signature does not verify with the signer's key")
            say(f"message signature verifies with key {anchor['key_id']} ({detail['algorithm']})")
    elif raw is not None:
        say("message signature is inside the payload (its wire format): not checked here")

    # The receipt: ours for a message received, the partner's for one sent; its entry holds
    # its digest (and, for the partner's, the key that signed it).
    receipt = manifest.get("receipt")
    if receipt is not None:
        signed_by = "partner" if direction == "sent" else "gateway"
        if receipt["signed_by"] != signed_by:
            raise BundleInvalid(
                f"the manifest says the receipt is signed by the {receipt['signed_by']}; for a "
                f"{direction} message it is the {signed_by}'s"
            )
        body = read(receipt["file"])
        receipt_entry = next(
            (
                e
                for e in entries
                if e["subject"] == manifest["message_id"]
                and e["receipt_digest"]
                and e["receipt_digest"] == sha256(body)
            ),
            None,
        )
        if receipt_entry is None:
            raise BundleInvalid("the receipt does not match the digest its audit entry holds")
        if signed_by == "gateway":
            key = gateway_key
        elif "signer_public_key" in receipt:
            key = load_key(read(receipt["signer_public_key"]))
            recorded = receipt_entry["detail"].get("receipt_key_sha256")
            if not recorded or key_sha256(key) != recorded:
                raise BundleInvalid(
                    "the receipt signer's public key is not the one entry "
                    f"{receipt_entry['position']} records: swapped"
                )
            receipt_claims = (
                ("key_id", receipt["key_id"], receipt_entry["key_id"]),
                ("algorithm", receipt["algorithm"], receipt_entry["detail"].get("algorithm")),
            )
            for name, claimed, recorded in receipt_claims:
                if claimed != recorded:
                    raise BundleInvalid(
                        f"the manifest's receipt {name} {claimed!r} is not entry "
                        f"{receipt_entry['position']}'s {recorded!r}"
                    )
        else:
            key = None
        if key is None:
            say("receipt matches its entry; the partner's receipt key is no longer registered")
        elif not signature_holds(key, receipt["algorithm"], body, read(receipt["signature_file"])):
            raise BundleInvalid(f"the receipt signature ({receipt['signed_by']}) does not verify")
        else:
            say(f"receipt matches its entry and is signed by the {receipt['signed_by']}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description="Verify an aeo-gateway evidence bundle offline (no database, no network)."
    )
    parser.add_argument("bundle", help="the bundle (zip) `aeo-gateway audit export` wrote")
    parser.add_argument(
        "--public-key", required=True, help="the gateway's public signing key (PEM)"
    )
    parser.add_argument("--quiet", action="store_true", help="print only the verdict")
    args = parser.parse_args(argv)
    try:
        with open(args.public_key, "rb") as handle:
            key = load_key(handle.read())
        with zipfile.ZipFile(args.bundle) as bundle:
            verify(bundle, key, (lambda line: None) if args.quiet else print)
            manifest = json.loads(bundle.read("manifest.json"))
    except (OSError, zipfile.BadZipFile, Unreadable) as exc:
        print(f"verify_bundle: cannot read: {exc}", file=sys.stderr)
        return 2
    except BundleInvalid as exc:
        print(f"verify_bundle: INVALID: {exc}", file=sys.stderr)
        return 1
    except (KeyError, TypeError, ValueError) as exc:  # a manifest missing what it must hold
        print(f"verify_bundle: INVALID: the bundle is incomplete ({exc!r})", file=sys.stderr)
        return 1
    print(f"OK: message {manifest['message_id']} ({manifest['direction']}) is proven")
    return 0


if __name__ == "__main__":
    sys.exit(main())
