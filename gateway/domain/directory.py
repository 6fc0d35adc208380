"""The partner directory as one immutable snapshot: every request reads one from start to end.

A snapshot holds the home administration, the partners, their loaded message-signing keys and
TLS trust anchors. A reload builds a new snapshot and swaps it in whole; nothing ever changes
inside one, so no request can see half of an old definition and half of a new one.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from gateway.domain.codes import CodeBook
from gateway.domain.errors import (
    AlgorithmNotPinned,
    PartnerNotRegistered,
    SigningKeyNotValid,
    UnknownSigningKey,
    shown,
)
from gateway.domain.events import DefinitionChange, PartnerDefinitionChanged
from gateway.domain.partners import HomeAdministration, Partner, SigningKeyInfo

#: Checks one signature over one payload with one loaded public key.
Verify = Callable[[bytes, bytes], bool]


@dataclass(frozen=True, slots=True)
class PartnerKey:
    """A registered key, loaded: its pinned algorithm and validity, a verifier, and the key
    object itself for formats whose libraries want it (an XML-DSig verifier, say)."""

    info: SigningKeyInfo
    verify: Verify
    material: object = None
    #: SHA-256 (hex) of the key's DER SubjectPublicKeyInfo: recorded in the audit log with
    #: what it signed, so an evidence bundle's PEM is tied to the chain.
    key_sha256: str = ""


@dataclass(frozen=True, eq=False)  # compared by identity: one snapshot is one object
class Directory:
    version: int
    loaded_at: datetime
    home: HomeAdministration
    partners: Mapping[str, Partner]
    keys: Mapping[tuple[str, str], PartnerKey]
    #: Partner code -> PEM of the CA that issues its TLS client certificates.
    trust_anchors: Mapping[str, bytes]
    #: Partner code -> digest of everything its definition was read from (file, keys, CA).
    digests: Mapping[str, str]
    #: Administration -> the administrations whose codes it wins over where patterns overlap.
    precedence: Mapping[str, frozenset[str]] = field(default_factory=dict)
    #: Partner code -> PEM of the CA that issues its gateway's TLS server certificate, for
    #: partners with an outbound endpoint.
    server_cas: Mapping[str, bytes] = field(default_factory=dict)
    #: Partner code -> where its certificate revocation lists are read (files, URLs).
    crl_sources: Mapping[str, tuple[str, ...]] = field(default_factory=dict)
    codebook: CodeBook = field(init=False)

    def __post_init__(self) -> None:
        schemes = [(self.home.code, self.home.identifiers)]
        schemes += [(p.code, p.identifiers) for p in self.partners.values()]
        object.__setattr__(self, "codebook", CodeBook(schemes, self.precedence))

    def partner(self, code: str) -> Partner:
        partner = self.partners.get(code)
        if partner is None:
            raise PartnerNotRegistered(f"partner {code} is not registered")
        return partner

    def keys_for(self, partner: str, at: datetime) -> PartnerKeys:
        """A key resolver that hands out only ``partner``'s keys, valid at ``at``."""
        return PartnerKeys(self, partner, at)


class PartnerKeys:
    """The KeyResolver a codec gets: one partner's registered keys and nothing else.

    The key and its algorithm come from the directory, never from the message; validity is
    judged at ``at``, the time the gateway received the message (the sender controls the
    message's own issue time, so it cannot be trusted to judge its key).
    """

    __slots__ = ("_at", "_directory", "_partner")

    def __init__(self, directory: Directory, partner: str, at: datetime) -> None:
        self._directory = directory
        self._partner = partner
        self._at = at

    @property
    def partner(self) -> str:
        return self._partner

    def resolve(self, key_id: str, algorithm: str) -> PartnerKey:
        key = self._directory.keys.get((self._partner, key_id))
        if key is None:
            raise UnknownSigningKey(
                f"key {shown(key_id)} is not registered for partner {self._partner}", key_id=key_id
            )
        if algorithm != key.info.algorithm:
            raise AlgorithmNotPinned(
                f"key {shown(key_id)} is pinned to {key.info.algorithm}, "
                f"message says {shown(algorithm)}",
                key_id=key_id,
                pinned=key.info.algorithm,
            )
        if not key.info.valid_at(self._at):
            raise SigningKeyNotValid(
                f"key {shown(key_id)} is not valid at {self._at.isoformat()}", key_id=key_id
            )
        return key


def definition_changes(before: Directory, after: Directory) -> list[PartnerDefinitionChanged]:
    """What a reload changes, partner by partner (anything read for a partner counts)."""
    events = []
    for code in sorted(before.digests.keys() | after.digests.keys()):
        old, new = before.digests.get(code), after.digests.get(code)
        if old == new:
            continue
        change = (
            DefinitionChange.ADDED
            if old is None
            else DefinitionChange.REMOVED
            if new is None
            else DefinitionChange.CHANGED
        )
        events.append(PartnerDefinitionChanged(code, after.version, change))
    return events
