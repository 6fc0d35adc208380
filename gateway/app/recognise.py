"""Use case: is the operator named on a declaration a recognised AEO, as of its time?"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import date, datetime
from typing import Protocol

from gateway.app.programme import ProgrammeStates
from gateway.domain.codes import normalise
from gateway.domain.directory import Directory
from gateway.domain.errors import InvalidQuery, TooManyCodes
from gateway.domain.partners import GradeScheme, TradeDirection, TransportMode
from gateway.domain.ports import Clock
from gateway.domain.programme import ACTIVE, ProgrammeAt
from gateway.domain.recognition import (
    Answer,
    Outcome,
    Treatment,
    home_treatment,
    partner_treatment,
)
from gateway.domain.records import StoredRecord
from gateway.domain.validation import EARLIEST, LATEST


class RecordReader(Protocol):
    def record_as_of(
        self, administration: str, identifier: str, at: datetime
    ) -> StoredRecord | None:
        """The newest version of the operator's record effective at ``at``, or None."""
        ...

    def last_received(self, administration: str) -> datetime | None:
        """When the gateway last received a message from the administration (may lag the
        store by a second: it answers how fresh the data is, not what it is)."""
        ...


class Recognise:
    def __init__(
        self,
        reader: RecordReader,
        clock: Clock,
        max_codes: int,
        programmes: ProgrammeStates | None = None,
        retired_at: Callable[[str], datetime | None] | None = None,
    ) -> None:
        self._reader = reader
        #: When a partner was retired (issue 10): its operators are not recognised for times
        #: after it. None: no partner is ever retired.
        self._retired_at = retired_at
        self._clock = clock
        self._max_codes = max_codes
        #: None: no programme was ever given notice or suspended (tests of other rules).
        self._programmes = programmes

    def one(
        self,
        directory: Directory,
        declared_code: str,
        direction: TradeDirection,
        as_of: datetime | None = None,
        mode: TransportMode | None = None,
    ) -> Answer:
        """One code. A blank one is a request without its subject: InvalidQuery."""
        if normalise(declared_code) == "":
            raise InvalidQuery("declared_code is empty")
        return self._answer(
            directory, declared_code, self._query(directory, direction, as_of, mode)
        )

    def many(
        self,
        directory: Directory,
        declared_codes: Sequence[str],
        direction: TradeDirection,
        as_of: datetime | None = None,
        mode: TransportMode | None = None,
    ) -> list[Answer]:
        """Every code answered in order, a blank or unreadable one too: one empty column on
        one declaration never costs the others their answers."""
        if len(declared_codes) > self._max_codes:
            raise TooManyCodes(
                f"{len(declared_codes)} codes in one call; the limit is {self._max_codes}",
                limit=str(self._max_codes),
            )
        query = self._query(directory, direction, as_of, mode)
        return [self._answer(directory, code, query) for code in declared_codes]

    def _query(
        self,
        directory: Directory,
        direction: TradeDirection,
        as_of: datetime | None,
        mode: TransportMode | None,
    ) -> _Query:
        at = self._as_of(as_of)
        day = directory.home.day_of(at)
        scheme = directory.home.scheme_at(day)
        return _Query(direction, at, mode, self._clock.now(), day, scheme)

    def _as_of(self, as_of: datetime | None) -> datetime:
        if as_of is None:
            return self._clock.now()
        if as_of.tzinfo is None:
            raise InvalidQuery("as_of must carry a time zone")
        # Near the ends of the datetime range the home zone's day cannot be computed.
        if not EARLIEST <= as_of <= LATEST:
            raise InvalidQuery("as_of is outside the years 1 to 9999 in UTC")
        return as_of

    def _answer(self, directory: Directory, declared: str, query: _Query) -> Answer:
        code = normalise(declared)
        if not code:
            # Unreadable (None: a character outside the normalisation rule) or blank ("").
            reason = "code.format_unknown" if code is None else "code.empty"
            return query.answer(declared, "", Outcome.CODE_FORMAT_UNKNOWN, reason)
        candidates = directory.codebook.matches(code)
        if not candidates:
            return query.answer(declared, code, Outcome.CODE_FORMAT_UNKNOWN, "code.format_unknown")
        for match in candidates:
            stored = self._reader.record_as_of(match.administration, match.code, query.at)
            if stored is not None:
                return self._decide(directory, declared, match.code, stored, query)
        first = candidates[0]
        received, stale = self._freshness(directory, first.administration, query.now)
        return replace(
            query.answer(declared, first.code, Outcome.UNKNOWN_OPERATOR, "operator.unknown"),
            administration=first.administration,
            programme=_programme(directory, first.administration),
            data_received_at=received,
            data_stale=stale,
            programme_state=self._programme_at(directory, first.administration, query.at),
        )

    def _programme_at(
        self, directory: Directory, administration: str, at: datetime
    ) -> ProgrammeAt | None:
        """The partner's programme state at ``at``; None for the home administration."""
        if administration not in directory.partners:
            return None
        return self._programmes.at(administration, at) if self._programmes else ACTIVE

    def _freshness(
        self,
        directory: Directory,
        administration: str,
        now: datetime,
        seen: datetime | None = None,
    ) -> tuple[datetime | None, bool]:
        """When the partner last sent, and whether that is too long ago at ``now`` (the
        gateway's time, not the declaration's): nothing for the home administration.
        ``seen``: a message known to have arrived (the one behind the answer's record), which
        the reader's cached value may not show yet."""
        partner = directory.partners.get(administration)
        if partner is None:
            return None, False
        received = self._reader.last_received(administration)
        if seen is not None and (received is None or seen > received):
            received = seen
        stale = partner.freshness is not None and partner.freshness.stale(received, now)
        return received, stale

    def _decide(
        self,
        directory: Directory,
        declared: str,
        code: str,
        stored: StoredRecord,
        query: _Query,
    ) -> Answer:
        at, day, scheme = query.at, query.day, query.scheme
        partner = directory.partners.get(stored.administration)
        received, stale = self._freshness(
            directory, stored.administration, query.now, stored.basis.received_at
        )
        programme = self._programme_at(directory, stored.administration, at)
        if partner is not None:
            treatment = partner_treatment(
                partner,
                stored.record,
                scheme,
                at,
                query.direction,
                stored.absent_since,
                mode=query.mode,
                stale=stale,
                day=day,
                programme=programme,
            )
            retired = self._retired_at(partner.code) if self._retired_at else None
            if retired is not None and at >= retired:
                treatment = Treatment(False, "partner.retired", scheme.regular if scheme else "")
        else:
            treatment = home_treatment(
                directory.home, stored.record, scheme, at, stored.absent_since
            )
        return Answer(
            declared_code=declared,
            normalised_code=code,
            outcome=Outcome.RECOGNISED if treatment.recognised else Outcome.NOT_RECOGNISED,
            reason=treatment.reason,
            as_of=at,
            direction=query.direction,
            mode=query.mode,
            administration=stored.administration,
            programme=_programme(directory, stored.administration),
            treatment=treatment.grade,
            grade_scheme=scheme.name if scheme else "",
            benefits=treatment.benefits,
            record=stored.record,
            basis=stored.basis,
            data_received_at=received,
            data_stale=stale,
            programme_state=programme,
        )


@dataclass(frozen=True, slots=True)
class _Query:
    """What one call asks, the same for each of its codes; ``now`` judges staleness."""

    direction: TradeDirection
    at: datetime
    mode: TransportMode | None
    now: datetime
    #: The declaration's day where it is lodged, and the home grade scheme in force on it.
    day: date
    scheme: GradeScheme | None

    def answer(self, declared: str, code: str, outcome: Outcome, reason: str) -> Answer:
        """An answer about no stored record: the code, its outcome and what was asked."""
        return Answer(declared, code, outcome, reason, self.at, self.direction, mode=self.mode)


def _programme(directory: Directory, administration: str) -> str:
    partner = directory.partners.get(administration)
    return partner.programme if partner else ""
