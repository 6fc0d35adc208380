"""The partner directory with the stored signing keys on top of the files' keys.

Every load (start, SIGHUP, ReloadPartners, a key added or retired through Admin) reads the
files and then the keys stored by KeyManagementService (migration 0012): a stored key with a
public key is registered (over a file key of the same id), one without only sets the window of
the file's key. A stored key that no longer loads is skipped and logged, never fatal: the
files stay the source of truth for who the partners are.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Callable, Collection, Sequence
from dataclasses import replace
from pathlib import Path

from adapters.crypto.signatures import KeyMismatch, key_sha256, load_public_key, verifier
from adapters.directory.files import Definitions, FileDirectory
from gateway.domain.directory import Directory, PartnerKey
from gateway.domain.keys import StoredKey
from gateway.domain.partners import SigningKeyInfo
from gateway.domain.ports import Clock

log = logging.getLogger(__name__)


class KeyedDirectory(FileDirectory):
    def __init__(
        self,
        home_file: Path,
        partners_dir: Path,
        formats: Collection[str],
        clock: Clock,
        home_ca: bytes | None,
        stored: Callable[[], Sequence[StoredKey]],
    ) -> None:
        self._stored_keys = stored
        super().__init__(home_file, partners_dir, formats, clock, home_ca)

    def build(self, d: Definitions, version: int = 0) -> Directory:
        # Every snapshot, from files and from stored definitions alike, gets the stored keys.
        return merge(super().build(d, version), self._stored_keys())


def merge(base: Directory, stored: Sequence[StoredKey]) -> Directory:
    """``base`` with ``stored`` applied partner by partner."""
    if not stored:
        return base
    keys = dict(base.keys)
    partners = dict(base.partners)
    digests = dict(base.digests)
    for entry in stored:
        partner = partners.get(entry.partner)
        if partner is None:
            continue  # the partner's file was removed: its stored keys wait, unused
        existing = keys.get((entry.partner, entry.key_id))
        info = entry.info
        if entry.public_key:
            try:
                material = load_public_key(entry.public_key.encode(), entry.algorithm)
            except (KeyMismatch, ValueError) as exc:
                log.error(
                    "stored key %s of partner %s does not load (%s): skipped",
                    entry.key_id,
                    entry.partner,
                    exc,
                )
                continue
            keys[(entry.partner, entry.key_id)] = PartnerKey(
                info, verifier(material, entry.algorithm), material, key_sha256(material)
            )
        elif existing is not None:
            info = replace(
                existing.info,
                not_before=entry.not_before or existing.info.not_before,
                not_after=entry.not_after,
            )
            keys[(entry.partner, entry.key_id)] = replace(existing, info=info)
        else:
            continue  # a window for a file key that the file no longer has
        infos: dict[str, SigningKeyInfo] = {k.key_id: k for k in partner.signing_keys}
        infos[entry.key_id] = info
        partners[entry.partner] = replace(partner, signing_keys=tuple(infos.values()))
        digest = hashlib.sha256(digests.get(entry.partner, "").encode())
        digest.update(repr((entry.key_id, entry.algorithm, entry.public_key)).encode())
        digest.update(repr((entry.not_before, entry.not_after)).encode())
        digests[entry.partner] = digest.hexdigest()
    return replace(base, partners=partners, keys=keys, digests=digests)
