"""Use cases: administrators manage partners' message-signing keys; partners announce their
new keys; the gateway's own signing key is rotated without a restart and announced."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import Enum
from typing import Protocol

from gateway.app.directory import PartnerDirectory
from gateway.app.lifecycle import Lifecycles
from gateway.domain.errors import (
    GatewayKeyInvalid,
    KeyAnnouncementInvalid,
    PartnerNotFound,
    shown,
)
from gateway.domain.keys import (
    KeySource,
    StoredKey,
    check_addition,
    check_key_id,
    check_window,
    retire,
)
from gateway.domain.partners import SigningKeyInfo
from gateway.domain.ports import Clock, Signer


class SigningKeyStore(Protocol):
    def stored(self) -> Sequence[StoredKey]:
        """Every stored entry, in the order recorded."""
        ...

    def put(self, key: StoredKey) -> None:
        """Stores the entry for (partner, key id), replacing one there was; durable on return."""
        ...


class PublicKeys(Protocol):
    """Public-key material without the core knowing a crypto library."""

    def check(self, pem: str, algorithm: str) -> None:
        """Raises KeyAlgorithmMismatch when ``pem`` is not a public key of ``algorithm``."""
        ...

    def same(self, material: object, pem: str) -> bool:
        """Whether a loaded key (a directory PartnerKey's material) is the key in ``pem``."""
        ...


@dataclass(frozen=True, slots=True)
class ListedKey:
    info: SigningKeyInfo
    source: KeySource
    public_key: str


class PartnerSigningKeys:
    """Adds and retires partners' keys in the store, then reloads the directory so they are in
    force at once (every replica reads them at its next reload)."""

    def __init__(
        self,
        directory: PartnerDirectory,
        store: SigningKeyStore,
        keys: PublicKeys,
        reload: Callable[[], object],
        clock: Clock,
    ) -> None:
        self._directory = directory
        self._store = store
        self._keys = keys
        self._reload = reload
        self._clock = clock
        self._lock = threading.Lock()  # check-then-write of one partner's keys, one at a time

    def list(self, partner: str) -> list[ListedKey]:
        snapshot = self._directory.current()
        found = snapshot.partners.get(partner)
        if found is None:
            raise PartnerNotFound(f"partner {shown(partner)} is not registered", partner=partner)
        stored = {(k.partner, k.key_id): k for k in self._store.stored()}
        listed = []
        for info in found.signing_keys:
            entry = stored.get((partner, info.key_id))
            if entry is not None and entry.public_key:
                listed.append(ListedKey(info, entry.source, entry.public_key))
            else:
                listed.append(ListedKey(info, KeySource.FILE, ""))
        return sorted(listed, key=lambda k: k.info.key_id)

    def add(
        self,
        partner: str,
        info: SigningKeyInfo,
        public_key: str,
        actor: str,
        source: KeySource = KeySource.ADMIN,
    ) -> SigningKeyInfo:
        check_window(info.not_before, info.not_after)
        self._keys.check(public_key, info.algorithm)
        with self._lock:
            snapshot = self._directory.current()
            found = snapshot.partners.get(partner)
            if found is None:
                raise PartnerNotFound(
                    f"partner {shown(partner)} is not registered", partner=partner
                )
            loaded = snapshot.keys.get((partner, info.key_id))
            same = None if loaded is None else self._keys.same(loaded.material, public_key)
            existing = check_addition(found.signing_keys, info.key_id, info.algorithm, same)
            if existing is not None:
                return existing  # the same key again: nothing to add
            self._store.put(
                StoredKey(
                    partner,
                    info.key_id,
                    info.algorithm,
                    public_key,
                    info.not_before,
                    info.not_after,
                    source,
                    actor,
                    self._clock.now(),
                )
            )
            self._reload()
        return info

    def retire(self, partner: str, key_id: str, at: datetime | None, actor: str) -> SigningKeyInfo:
        with self._lock:
            now = self._clock.now()
            snapshot = self._directory.current()
            found = snapshot.partners.get(partner)
            if found is None:
                raise PartnerNotFound(
                    f"partner {shown(partner)} is not registered", partner=partner
                )
            retired = retire(found.signing_keys, key_id, at or now, now)
            previous = {(k.partner, k.key_id): k for k in self._store.stored()}.get(
                (partner, key_id)
            )
            self._store.put(
                StoredKey(
                    partner,
                    key_id,
                    retired.algorithm,
                    previous.public_key if previous is not None else "",
                    retired.not_before,
                    retired.not_after,
                    previous.source if previous is not None else KeySource.FILE,
                    actor,
                    now,
                )
            )
            self._reload()
        return retired


# --- the gateway's own key ---------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NewGatewayKey:
    """A gateway signing key ready to be put in force (not yet in force)."""

    signer: Signer
    public_key: str
    #: Where its private key lives (recorded so that a restart keeps it in force).
    key_file: str


@dataclass(frozen=True, slots=True)
class Announcement:
    """A KeyAnnouncement for one partner, serialized, and its signature by the old key."""

    partner: str
    payload: bytes
    key_id: str
    algorithm: str
    signature: bytes


class AnnouncementOutcome(Enum):
    DELIVERED = "delivered"
    TO_FORWARD = "to_forward"
    FAILED = "failed"


@dataclass(frozen=True, slots=True)
class Delivery:
    announcement: Announcement
    outcome: AnnouncementOutcome
    detail: str = ""


class GatewayKeys(Protocol):
    """Where the gateway's keys come from and which is in force."""

    def used_key_ids(self) -> set[str]:
        """Every key id the gateway has signed with (the settings' and the rotated ones)."""
        ...

    def create(self, key_id: str, algorithm: str, key_file: str | None) -> NewGatewayKey:
        """A new key: loaded from ``key_file``, or generated and written beside the current
        key file. Raises GatewayKeyInvalid when the file cannot be used."""
        ...

    def record(self, key: NewGatewayKey, actor: str, at: datetime) -> None:
        """Records ``key`` as the one in force, so that a restart keeps it; durable on return."""
        ...


class Announcer(Protocol):
    def announcement(
        self, partner: str, key: NewGatewayKey, old: Signer, at: datetime
    ) -> Announcement:
        """The announcement of ``key`` to ``partner``, signed with ``old``."""
        ...

    def deliver(self, announcement: Announcement) -> Delivery:
        """Sends it to the partner's gateway, where it has an outbound endpoint."""
        ...


class SwappableSigner(Protocol):
    def current(self) -> Signer: ...

    def swap(self, signer: Signer) -> Signer: ...


@dataclass(frozen=True, slots=True)
class Rotation:
    previous_key_id: str
    key: NewGatewayKey
    deliveries: tuple[Delivery, ...]


class RotateGatewayKey:
    """Announces the new key to every partner in testing or active (suspended included; not
    draft, configured or retired), signed with the old one, then swaps the signer: a partner
    that was reached knows the new key before the first receipt signed by it."""

    def __init__(
        self,
        signer: SwappableSigner,
        keys: GatewayKeys,
        announcer: Announcer,
        directory: PartnerDirectory,
        clock: Clock,
        lifecycles: Lifecycles,
    ) -> None:
        self._signer = signer
        self._keys = keys
        self._announcer = announcer
        self._directory = directory
        self._clock = clock
        self._lifecycles = lifecycles
        self._lock = threading.Lock()

    def __call__(
        self, key_id: str, algorithm: str | None, key_file: str | None, actor: str
    ) -> Rotation:
        check_key_id(key_id)
        with self._lock:
            old = self._signer.current()
            if key_id in self._keys.used_key_ids() | {old.key_id}:
                raise GatewayKeyInvalid(
                    f"key id {shown(key_id)} has been used by this gateway; choose a new one",
                    key_id=key_id,
                )
            key = self._keys.create(key_id, algorithm or old.algorithm, key_file)
            now = self._clock.now()
            snapshot = self._directory.current()
            deliveries = tuple(
                self._announcer.deliver(self._announcer.announcement(code, key, old, now))
                for code in sorted(snapshot.partners)
                if self._lifecycles.exchanges_keys(code, snapshot)
            )
            self._keys.record(key, actor, now)
            self._signer.swap(key.signer)
        return Rotation(old.key_id, key, deliveries)


@dataclass(frozen=True, slots=True)
class ReceivedAnnouncement:
    announcer: str
    recipient: str
    key_id: str
    algorithm: str
    public_key: str
    valid_from: datetime | None


class AcceptAnnouncement:
    """A partner in testing or active (suspended included) announces its new key, signed with
    a key it has registered here: verified against the directory, then registered for the
    partner (source: announcement). Draft, configured and retired partners are refused."""

    def __init__(
        self,
        keys: PartnerSigningKeys,
        directory: PartnerDirectory,
        clock: Clock,
        lifecycles: Lifecycles,
    ) -> None:
        self._keys = keys
        self._directory = directory
        self._clock = clock
        self._lifecycles = lifecycles

    def __call__(
        self,
        caller: str,
        announcement: ReceivedAnnouncement,
        payload: bytes,
        key_id: str,
        algorithm: str,
        signature: bytes,
    ) -> SigningKeyInfo:
        snapshot = self._directory.current()
        self._lifecycles.require_exchanging_keys(caller, snapshot)
        if announcement.announcer != caller:
            raise KeyAnnouncementInvalid(
                f"partner {caller} announces a key of {shown(announcement.announcer)}"
            )
        if announcement.recipient != snapshot.home.code:
            raise KeyAnnouncementInvalid(
                f"the announcement is addressed to {shown(announcement.recipient)}, "
                f"not {snapshot.home.code}"
            )
        key = snapshot.keys_for(caller, self._clock.now()).resolve(key_id, algorithm)
        if not key.verify(payload, signature):
            raise KeyAnnouncementInvalid(
                f"the announcement's signature does not verify under {caller}'s key {shown(key_id)}"
            )
        return self._keys.add(
            caller,
            SigningKeyInfo(
                announcement.key_id, announcement.algorithm, announcement.valid_from, None
            ),
            announcement.public_key,
            f"partner:{caller}",
            KeySource.ANNOUNCEMENT,
        )
