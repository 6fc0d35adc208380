"""Operators' consent and the outbox, on real SQLite and PostgreSQL: a change is queued for a
consent-requiring partner only while the operator's consent is granted; a grant queues its
current state; a withdrawal drops its unsealed changes and queues a consent-withdrawn record;
the decisions are history with the current state derived."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta

import pytest

from adapters.store.consent import SqlConsentLog
from adapters.store.outbound import SqlOutbound
from adapters.store.sql import SqlStore
from adapters.store.unit_of_work import GroupUnitOfWork
from gateway.app.consent import RecordConsent
from gateway.app.home_registry import RecordGradeChange
from gateway.app.unit_of_work import UnitOfWork
from gateway.domain.consent import ConsentDecision, ConsentState, Told
from gateway.domain.directory import Directory
from gateway.domain.errors import ConsentInvalid, ConsentNotRequired, EnterpriseCodeInvalid
from gateway.domain.home_registry import GradeChange
from gateway.domain.partners import DataProtection, OutboundEndpoint
from gateway.domain.records import StatusEvent
from tests.factories import NOW, directory, singapore

AEO = "AEOCN0123456781"
OTHER = "AEOCN0123456782"
GRANT, WITHDRAW = ConsentState.GRANTED, ConsentState.WITHDRAWN


@dataclass
class Clock:
    at: datetime = NOW

    def now(self) -> datetime:
        self.at += timedelta(seconds=1)
        return self.at


def eu_like(consent: bool = True, adequate: bool = True) -> Directory:
    """SG, given an endpoint and the EU's terms."""
    return directory(
        singapore(
            outbound=OutboundEndpoint("localhost:1", "native"),
            data_protection=DataProtection(consent, adequate, None),
        )
    )


class Home:
    def __init__(self, store: SqlStore, snapshot: Directory) -> None:
        self.clock = Clock()
        self.store = store
        self.snapshot = snapshot
        self.registry = RecordGradeChange(store.transactions, self.clock, "CN-GW-1", "ed25519")
        self.consent = RecordConsent(store.transactions, self.clock, "CN-GW-1", "ed25519")
        self.outbound = SqlOutbound(store.database)

    def change(
        self, grade: str = "advanced certified", code: str = AEO, **kw: bool
    ) -> tuple[str, ...]:
        change = GradeChange(code, "Consent Co", "1 Road", grade, self.clock.now(), **kw)
        return self.registry(change, self.snapshot).queued_for

    def decide(self, state: ConsentState, code: str = AEO, reason: str = "form 7") -> int:
        found = self.consent(ConsentDecision("SG", code, state, "registry", reason), self.snapshot)
        return found.queued.version if found.queued is not None else 0

    def deliver(self) -> None:
        """What delivery does to the queue: every row sealed (into message 1)."""
        with self.store.database.transaction() as cur:
            cur.execute("UPDATE outbox SET message_sequence = 1 WHERE message_sequence IS NULL")

    def queue(self) -> list[tuple[str, int]]:
        return [(c.identifier, c.version) for c in self.outbound.unsealed("SG", 100)]


@pytest.fixture
def home(store: SqlStore) -> Home:
    return Home(store, eu_like())


def test_an_operator_without_consent_is_not_queued_and_a_grant_queues_its_state(
    home: Home,
) -> None:
    """A certification of an operator that never consented, then its consent. Result: the
    change is queued for nobody; the grant queues version 1 for SG."""
    assert home.change() == ()
    assert home.queue() == []
    assert home.decide(GRANT) == 1
    assert home.queue() == [(AEO, 1)]
    assert home.change(suspended=True) == ("SG",)
    assert home.queue() == [(AEO, 1), (AEO, 2)]


def test_a_withdrawal_drops_unsent_changes_and_queues_its_record_alone(
    home: Home, store: SqlStore
) -> None:
    """Consent granted, a change sent, a second one queued and not sealed, then consent
    withdrawn, then a change. Result: the queue holds only version 3, the withdrawal (event
    consent_withdrawn, flag set); the later change (version 4) is not queued for SG."""
    home.decide(GRANT)
    home.change()
    home.deliver()
    home.change(suspended=True)
    assert home.decide(WITHDRAW) == 3
    assert home.queue() == [(AEO, 3)]
    (record,) = home.outbound.records("CN", home.outbound.unsealed("SG", 100))
    assert record.event is StatusEvent.CONSENT_WITHDRAWN
    assert record.consent_withdrawn
    assert home.change() == ()
    assert home.queue() == [(AEO, 3)]


def test_a_grant_after_a_withdrawal_sends_the_state_again_without_the_flag(home: Home) -> None:
    """Granted, certified and sent, withdrawn (version 2), granted again. Result: version 3
    queued after the withdrawal: the state of version 1 again, event amended,
    consent_withdrawn false."""
    home.decide(GRANT)
    home.change()
    home.deliver()
    home.decide(WITHDRAW)
    assert home.decide(GRANT) == 3
    queued = home.outbound.records("CN", home.outbound.unsealed("SG", 100))
    assert [(r.version, r.event, r.consent_withdrawn) for r in queued] == [
        (2, StatusEvent.CONSENT_WITHDRAWN, True),
        (3, StatusEvent.AMENDED, False),
    ]
    assert (queued[1].tier, queued[1].status) == (queued[0].tier, queued[0].status)


def test_a_withdrawal_before_anything_was_sent_tells_the_partner_nothing(home: Home) -> None:
    """Consent granted, a certification queued but not sealed, consent withdrawn. Result:
    the queued change is dropped and no withdrawal is queued: SG never heard of the
    operator, and is not told of it now."""
    home.decide(GRANT)
    assert home.change() == ("SG",)
    assert home.decide(WITHDRAW) == 0
    assert home.queue() == []


def test_a_repeated_decision_is_recorded_but_sends_nothing(home: Home, store: SqlStore) -> None:
    """Grant twice, withdraw twice. Result: the repeats queue nothing; the history holds all
    four decisions, newest first; the current state is withdrawn."""
    home.change()
    assert home.decide(GRANT) == 1
    assert home.decide(GRANT) == 0
    home.deliver()
    assert home.decide(WITHDRAW) == 2
    assert home.decide(WITHDRAW) == 0
    log = SqlConsentLog(store.database)
    history = [e.state for _, e in log.history("SG", AEO, None, 10)]
    assert history == [WITHDRAW, WITHDRAW, GRANT, GRANT]
    (current,) = log.current(None, None, None, 10)
    assert (current.partner, current.identifier, current.state) == ("SG", AEO, WITHDRAW)
    assert current.actor == "registry"
    assert current.reason == "form 7"


def test_consent_lists_page_by_partner_and_operator(home: Home, store: SqlStore) -> None:
    """Two operators' decisions. Result: current states one per page in identifier order;
    history pages newest first; a filter by operator finds its own only."""
    home.decide(GRANT, AEO)
    home.decide(GRANT, OTHER)
    home.decide(WITHDRAW, OTHER)
    log = SqlConsentLog(store.database)
    first = log.current("SG", None, None, 1)
    second = log.current("SG", None, (first[0].partner, first[0].identifier), 1)
    assert [first[0].identifier, second[0].identifier] == [AEO, OTHER]
    assert second[0].state is WITHDRAW
    assert log.current("SG", None, ("SG", OTHER), 1) == []
    newest = log.history(None, None, None, 2)
    assert [e.identifier for _, e in newest] == [OTHER, OTHER]
    rest = log.history(None, None, newest[-1][0], 10)
    assert [(e.identifier, e.state) for _, e in rest] == [(AEO, GRANT)]
    assert [e.state for e in log.current(None, AEO, None, 10)] == [GRANT]


def test_a_partner_not_adequate_is_queued_nothing_even_with_consent(store: SqlStore) -> None:
    """SG asks for consent and is flagged not adequate; the operator consents and is
    certified. Result: nothing is queued for SG, by the grant or the change."""
    home = Home(store, eu_like(adequate=False))
    assert home.decide(GRANT) == 0
    assert home.change() == ()
    assert home.queue() == []


def test_a_partner_not_asking_for_consent_gets_every_change_and_refuses_decisions(
    store: SqlStore,
) -> None:
    """SG without consent_required. Result: a certification is queued at once; recording a
    consent is refused with consent.not_required."""
    home = Home(store, eu_like(consent=False))
    assert home.change() == ("SG",)
    with pytest.raises(ConsentNotRequired):
        home.decide(GRANT)


def test_bad_decisions_are_refused_and_change_nothing(home: Home, store: SqlStore) -> None:
    """A decision with a control character in its reason, with a blank actor, or for a code
    that is no home enterprise's. Result: consent.invalid or enterprise.code_invalid; no
    decision stored."""
    with pytest.raises(ConsentInvalid):
        home.decide(GRANT, reason="form\x007")
    with pytest.raises(ConsentInvalid):
        home.consent(ConsentDecision("SG", AEO, GRANT, "  "), home.snapshot)
    with pytest.raises(EnterpriseCodeInvalid):
        home.decide(GRANT, code="SG123456789012")
    assert SqlConsentLog(store.database).history(None, None, None, 10) == []


def test_a_drop_in_a_group_takes_out_rows_earlier_works_queued_unless_it_fails(
    store: SqlStore,
) -> None:
    """In one group commit: a work queues A for SG; a second work withdraws (drops A) and
    fails; a third drops A and ends well; a fourth queues A again. Result: only the fourth
    work's row is written."""
    with store.database.transaction() as cur:
        uow = GroupUnitOfWork(cur, store.database.dialect)
        uow.outbox.enqueue("SG", AEO, 1, NOW)
        uow.end_work(True)
        uow.outbox.drop_unsealed("SG", AEO)
        uow.end_work(False)
        uow.outbox.drop_unsealed("SG", AEO)
        uow.outbox.enqueue("SG", AEO, 2, NOW)  # the withdrawal record comes after its drop
        uow.end_work(True)
        uow.flush()
    queued = SqlOutbound(store.database).unsealed("SG", 10)
    assert [(c.identifier, c.version) for c in queued] == [(AEO, 2)]


def test_a_drop_removes_rows_already_written_but_not_sealed(store: SqlStore) -> None:
    """Rows for A committed earlier, one of them sealed into a message; then a drop. Result:
    the unsealed row is gone; the sealed one stays (its message is already on its way)."""
    with store.database.transaction() as cur:
        uow = GroupUnitOfWork(cur, store.database.dialect)
        uow.outbox.enqueue("SG", AEO, 1, NOW)
        uow.outbox.enqueue("SG", AEO, 2, NOW)
        uow.outbox.enqueue("SG", OTHER, 1, NOW)
        uow.end_work(True)
        uow.flush()
    with store.database.transaction() as cur:
        cur.execute(
            store.database.sql(
                "UPDATE outbox SET message_sequence = 1 WHERE identifier = ? AND version = 1"
            ),
            (AEO,),
        )
        uow = GroupUnitOfWork(cur, store.database.dialect)
        uow.outbox.drop_unsealed("SG", AEO)
        uow.end_work(True)
        uow.flush()
    outbound = SqlOutbound(store.database)
    assert [(c.identifier, c.version) for c in outbound.unsealed("SG", 10)] == [(OTHER, 1)]
    assert [(c.identifier, c.version) for c in outbound.sealed_changes("SG", 1)] == [(AEO, 1)]


def test_a_grant_to_an_operator_never_an_aeo_queues_nothing(home: Home) -> None:
    """An enterprise registered at a non-AEO grade consents. Result: nothing queued: partners
    are never told of it."""
    home.change(grade="regular")
    assert home.decide(GRANT) == 0
    assert home.queue() == []


def test_home_versions_are_numbered_above_consent_records_which_stay_out_of_home_history(
    home: Home, store: SqlStore
) -> None:
    """Granted, certified (version 1) and sent, withdrawn, granted again, certified again.
    Result: the consent records are versions 2 and 3 for SG alone; the home history holds
    versions 1 and 4 only, with no consent_withdrawn flag; SG's queue is 2, 3, then 4."""
    home.decide(GRANT)
    home.change()
    home.deliver()
    assert home.decide(WITHDRAW) == 2
    assert home.decide(GRANT) == 3
    assert home.change(suspended=True) == ("SG",)
    assert home.queue() == [(AEO, 2), (AEO, 3), (AEO, 4)]
    history = store.transactions.run(lambda uow: uow.records.histories("CN", (AEO,)))[AEO]
    assert [(r.version, r.consent_withdrawn) for r in history] == [(1, False), (4, False)]


def test_a_consent_record_version_is_seen_by_the_same_group_before_it_is_written(
    store: SqlStore,
) -> None:
    """A work queues a consent record (version 7) and asks for the operator's highest consent
    record version before the group is flushed; a later transaction asks again. Result: 7
    both times, and nothing for another operator."""

    def queue_and_ask(uow: UnitOfWork) -> Mapping[str, int]:
        uow.outbox.enqueue_told("SG", AEO, 7, 3, Told.WITHDRAWN, NOW)
        return uow.outbox.consent_versions((AEO, OTHER))

    assert store.transactions.run(queue_and_ask) == {AEO: 7}
    later = store.transactions.run(lambda uow: uow.outbox.consent_versions((AEO, OTHER)))
    assert later == {AEO: 7}
