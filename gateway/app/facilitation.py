"""Use cases of facilitation tracking: record the outcomes of declarations at home (each
linked to the recognition answer that applied at its arrival), and report what mutual
recognition achieved in a period."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol

from gateway.app.recognise import Recognise
from gateway.domain.directory import Directory
from gateway.domain.errors import OutcomeInvalid, PartnerNotFound, shown
from gateway.domain.facilitation import (
    DeclarationFacts,
    GroupStats,
    Outcome,
    OutcomeAggregate,
    Period,
    Report,
    abroad_outcome,
    check_facts,
    home_outcome,
)
from gateway.domain.facilitation_report import build_rows
from gateway.domain.periods import bounds, parse_period, trend_periods
from gateway.domain.recognition import Answer
from gateway.domain.recognition import Outcome as Recognised


class OutcomeStore(Protocol):
    def record(
        self, outcomes: Sequence[Outcome], aggregates: Sequence[OutcomeAggregate] = ()
    ) -> int:
        """Stores all in one transaction; duplicates change nothing; returns how many
        outcomes were new."""
        ...

    def record_batches(
        self, batches: Iterable[Sequence[Outcome]], aggregates: Sequence[OutcomeAggregate] = ()
    ) -> int:
        """As record, the outcomes in batches within the one transaction."""
        ...

    def groups(self, start: datetime, end: datetime, partner: str = "") -> list[GroupStats]: ...

    def home_aeos_trading(
        self, start: datetime, end: datetime, partner: str = ""
    ) -> dict[str, int]: ...

    def aggregates(
        self, start: datetime, end: datetime, partner: str = ""
    ) -> list[OutcomeAggregate]: ...


@dataclass(frozen=True, slots=True)
class Recorded:
    outcome: Outcome
    #: The recognition answer that applied at arrival (None abroad for a baseline declaration).
    answer: Answer | None
    duplicate: bool


@dataclass(frozen=True, slots=True)
class BulkRecorded:
    rows: int
    added: int

    @property
    def duplicates(self) -> int:
        return self.rows - self.added


class RecordOutcomes:
    """Classifies declaration outcomes by the recognition answer at arrival, then stores them.

    At home (reporter = the home administration): the answer for the declared code, direction
    and mode as of arrival. Abroad (reporter = a partner, for bulk historical imports): the
    home answer for the home AEO's code, or none for the partner's baseline declarations."""

    def __init__(self, recognise: Recognise, store: OutcomeStore) -> None:
        self._recognise = recognise
        self._store = store

    def classify(
        self,
        directory: Directory,
        facts: DeclarationFacts,
        reporter: str = "",
        baseline: bool = False,
    ) -> tuple[Outcome, Answer | None]:
        """The outcome as it will be stored; OutcomeInvalid, ReleaseBeforeArrival or the
        recognition's own InvalidQuery when ``facts`` cannot be recorded."""
        check_facts(facts)
        home = directory.home
        if not reporter or reporter == home.code:
            at_home = self._answer(directory, facts)
            return home_outcome(facts, at_home, home), at_home
        partner = directory.partners.get(reporter)
        if partner is None:
            raise PartnerNotFound(f"no partner {shown(reporter)} is registered", partner=reporter)
        answer = None if baseline else self._answer(directory, facts)
        if answer is not None and (
            answer.administration != home.code or answer.outcome is not Recognised.RECOGNISED
        ):
            # Counted nowhere rather than in the partner's baseline: as SubmitOutcomeReport
            # ignores it (outcome.not_a_home_aeo), a file refuses it.
            raise OutcomeInvalid(
                f"declared_code {shown(facts.declared_code)} is not a {home.code} AEO at arrival "
                f"({answer.reason}); mark the row baseline if it is the partner's own",
                field="declared_code",
            )
        return abroad_outcome(facts, partner, baseline, answer, home), answer

    def _answer(self, directory: Directory, facts: DeclarationFacts) -> Answer:
        return self._recognise.one(
            directory, facts.declared_code, facts.direction, facts.arrived_at, facts.mode
        )

    def __call__(self, directory: Directory, facts: DeclarationFacts) -> Recorded:
        """One outcome at home (RecordDeclarationOutcome)."""
        outcome, answer = self.classify(directory, facts)
        added = self._store.record([outcome])
        return Recorded(outcome, answer, duplicate=added == 0)

    def many(self, batches: Iterable[Sequence[Outcome]]) -> BulkRecorded:
        """Outcomes already classified (``classify``), in one transaction, batch by batch."""
        rows = 0

        def counted() -> Iterator[Sequence[Outcome]]:
            nonlocal rows
            for batch in batches:
                rows += len(batch)
                yield batch

        added = self._store.record_batches(counted())
        return BulkRecorded(rows, added)


class ReportFacilitation:
    """The facilitation report of one period: rows from the store's aggregates, and the same
    for the periods of the same kind in the year before (the trend)."""

    def __init__(self, store: OutcomeStore) -> None:
        self._store = store

    def __call__(self, directory: Directory, period: str, partner: str = "") -> Report:
        parsed = parse_period(period)
        if partner and partner not in directory.partners:
            raise PartnerNotFound(f"no partner {shown(partner)} is registered", partner=partner)
        trend = tuple(self._one(directory, p, partner) for p in trend_periods(parsed))
        report = self._one(directory, parsed, partner)
        return Report(report.period, report.start, report.end, report.rows, trend)

    def _one(self, directory: Directory, period: Period, partner: str) -> Report:
        start, end = bounds(period, directory.home.zone)
        rows = build_rows(
            self._store.groups(start, end, partner),
            self._store.aggregates(start, end, partner),
            self._store.home_aeos_trading(start, end, partner),
            regular_grades(directory, period),
            partner,
        )
        return Report(period, start, end, rows)


def regular_grades(directory: Directory, period: Period) -> frozenset[str]:
    """The regular grade of every home grade scheme in force on some day of ``period``."""
    schemes = directory.home.grade_schemes
    in_force = [s for s in schemes if s.in_force < period.end]
    latest_before = max(
        (s for s in in_force if s.in_force <= period.start), key=lambda s: s.in_force, default=None
    )
    return frozenset(
        s.regular for s in in_force if s.in_force >= period.start or s is latest_before
    )
