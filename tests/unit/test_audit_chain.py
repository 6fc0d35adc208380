"""The audit chain's core on plain values: the documented encoding, the walk that names the
first broken entry, checkpoint timing, which calls are admin actions."""

from __future__ import annotations

import dataclasses
import hashlib
from datetime import UTC, datetime, timedelta

import pytest

from adapters.crypto import verify_bundle
from gateway.app.audit_log import is_mutating
from gateway.domain.audit import (
    GENESIS_HASH,
    AuditEntry,
    AuditEvent,
    AuditKind,
    Breach,
    ChainWalk,
    Checkpoint,
    Verdict,
    chain,
    checkpoint_due,
    entry_document,
    entry_hash,
)

AT = datetime(2026, 11, 1, 9, 0, tzinfo=UTC)


def event(n: int) -> AuditEvent:
    return AuditEvent(
        AuditKind.MESSAGE_RECEIVED,
        AT + timedelta(seconds=n),
        partner="KR",
        subject=f"KR-{n}",
        sequence=n,
        digest=f"{n:064x}",
        detail={"n": n, "name": "Seoul é"},
    )


def walk(
    entries: list[AuditEntry],
    head: int | None = None,
    checkpoints: tuple[Checkpoint, ...] = (),
    valid: bool = True,
) -> Verdict:
    w = ChainWalk(c.position for c in checkpoints)
    for e in entries:
        w.feed(e)
    return w.finish(entries[-1].position if head is None else head, checkpoints, lambda c: valid)


def test_the_entry_encoding_is_the_documented_one_and_the_standalone_script_agrees() -> None:
    """The first entry of a chain. Result: its hash is the SHA-256 of the canonical JSON
    docs/audit.md describes (a fixed value: changing the encoding breaks every stored chain),
    and verify_bundle.py, fed the same document, computes the same hash."""
    [first] = chain(1, GENESIS_HASH, [event(1)])
    document = entry_document(1, first.event, GENESIS_HASH)
    assert list(document) == [
        "v", "position", "recorded_at", "kind", "partner", "actor_subject",
        "actor_fingerprint", "subject", "sequence", "digest", "key_id", "receipt_digest",
        "detail", "prev_hash",
    ]  # fmt: skip
    assert document["recorded_at"] == 1_793_523_601_000_000
    # Written out by hand, as docs/audit.md tells a third party to: sorted keys, no spaces,
    # non-ASCII escaped.
    by_hand = (
        '{"actor_fingerprint":"","actor_subject":"","detail":{"n":1,"name":"Seoul \\u00e9"},'
        f'"digest":"{1:064x}","key_id":"","kind":"message.received","partner":"KR",'
        f'"position":1,"prev_hash":"{"0" * 64}","receipt_digest":"",'
        '"recorded_at":1793523601000000,"sequence":1,"subject":"KR-1","v":1}'
    )
    assert hashlib.sha256(by_hand.encode()).hexdigest() == GOLDEN
    assert verify_bundle.entry_hash({**document, "entry_hash": "x"}) == first.entry_hash
    assert first.entry_hash == entry_hash(1, event(1), GENESIS_HASH)
    assert first.entry_hash == GOLDEN


#: entry_hash of event(1) at position 1: fixed by the encoding.
GOLDEN = "f578b23e5f87001ecadd853e5bb518278a8e173fa773cf5576b001df87e893ff"


def test_details_hold_no_floats() -> None:
    """An event whose detail holds a float. Result: ValueError (the encoding would differ
    between languages)."""
    with pytest.raises(ValueError, match="no floats"):
        AuditEvent(AuditKind.ADMIN_ACTION, AT, detail={"ratio": 0.5})  # type: ignore[dict-item]


def test_an_intact_chain_verifies() -> None:
    """Five chained entries and a checkpoint at 3. Result: no problem, five entries."""
    entries = chain(1, GENESIS_HASH, [event(n) for n in range(1, 6)])
    cp = Checkpoint(3, entries[2].entry_hash, AT, "GW", "ed25519", b"sig")
    verdict = walk(entries, checkpoints=(cp,))
    assert verdict.ok
    assert (verdict.entries, verdict.checkpoints) == (5, 1)


@pytest.mark.parametrize(
    ("damage", "position", "breach"),
    [
        ("edit", 3, Breach.EDITED),
        ("rehash", 3, Breach.RELINKED),
        ("delete", 3, Breach.DELETED),
        ("delete-tail", 5, Breach.DELETED),
        ("forge-checkpoint", 4, Breach.BAD_CHECKPOINT_SIGNATURE),
        ("rewrite-to-checkpoint", 4, Breach.CHECKPOINT_MISMATCH),
    ],
)
def test_the_first_broken_entry_is_named(damage: str, position: int, breach: Breach) -> None:
    """A chain of five with a checkpoint at 4, damaged one way. Result: the walk names the
    entry and what is wrong."""
    entries = chain(1, GENESIS_HASH, [event(n) for n in range(1, 6)])
    checkpoints = (Checkpoint(4, entries[3].entry_hash, AT, "GW", "ed25519", b"sig"),)
    valid, head = True, 5
    if damage == "edit":
        entries[2] = dataclasses.replace(entries[2], event=event(99))
    elif damage == "rehash":
        edited = event(99)
        entries[2] = AuditEntry(
            3, edited, entries[2].prev_hash, entry_hash(3, edited, entries[2].prev_hash)
        )
    elif damage == "delete":
        del entries[2]
    elif damage == "delete-tail":
        del entries[4]
    elif damage == "forge-checkpoint":
        valid = False
    else:  # every entry from 2 on rewritten with fresh hashes: only the checkpoint knows
        entries = entries[:1] + chain(
            2, entries[0].entry_hash, [event(n + 10) for n in range(2, 6)]
        )
    verdict = walk(entries, head, checkpoints, valid)
    problem = verdict.problem
    assert problem is not None
    assert (problem.position, problem.breach) == (position, breach), problem


def test_a_checkpoint_is_due_after_n_entries_or_t_seconds_with_new_entries() -> None:
    """Every 10 entries or 60 s. Result: due at 10 new entries; due after 60 s with one new
    entry; not due after 60 s with none; the first checkpoint is due at once."""
    assert checkpoint_due(20, 10, AT, AT, 10, 60)
    assert not checkpoint_due(15, 10, AT, AT + timedelta(seconds=59), 10, 60)
    assert checkpoint_due(11, 10, AT, AT + timedelta(seconds=60), 10, 60)
    assert not checkpoint_due(10, 10, AT, AT + timedelta(hours=1), 10, 60)
    assert checkpoint_due(1, 0, None, AT, 10, 60)


@pytest.mark.parametrize(
    ("method", "mutating"),
    [
        ("/aeo.gateway.v1.AdminService/SetProgrammeState", True),
        ("/aeo.gateway.v1.AdminService/ReloadPartners", True),
        ("/aeo.gateway.v1.HomeRegistryService/RecordGradeChange", True),
        ("/aeo.gateway.v1.PartnerOnboardingService/ActivatePartner", True),
        ("/aeo.gateway.v1.AdminService/ListPartners", False),
        ("/aeo.gateway.v1.AdminService/GetPartnerState", False),
        ("/aeo.gateway.v1.AuditService/VerifyAuditLog", False),
        ("/aeo.gateway.v1.AuditService/ExportEvidence", False),
        ("/aeo.gateway.v1.ChangeFeedService/WatchChanges", False),
    ],
)
def test_only_mutating_calls_are_admin_actions(method: str, mutating: bool) -> None:
    """An RPC method name. Result: recorded unless it only reads (Get, List, Watch, Verify,
    Export)."""
    assert is_mutating(method) is mutating
