"""The home administration's own AEOs: a grade change from the home credit system becomes the
next version of the enterprise's record, and says whether partners must hear of it.

Pure rules only: the use case (gateway.app.home_registry) reads the previous record, stores the
next one and queues it for partners in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from gateway.domain.codes import normalise
from gateway.domain.errors import (
    EnterpriseCodeInvalid,
    EnterpriseUnknown,
    GradeChangeInvalid,
    GradeChangeTooFarAhead,
    GradeNotInScheme,
    NoGradeSchemeInForce,
    shown,
)
from gateway.domain.partners import GradeScheme, HomeAdministration
from gateway.domain.records import AeoRecord, RecordStatus, StatusEvent
from gateway.domain.validation import EARLIEST, LATEST, NOT_TEXT, TEXT_LIMITS

#: How far ahead of the gateway's clock a change may take effect: the credit system announces
#: a decision the day before at most; anything later is a typo in the year.
MAX_AHEAD = timedelta(days=1)


@dataclass(frozen=True, slots=True)
class GradeChange:
    """One change of a home enterprise's grade or status, as the credit system states it."""

    enterprise_code: str
    name: str
    address: str
    grade: str
    effective_at: datetime
    suspended: bool = False
    recertified: bool = False


@dataclass(frozen=True, slots=True)
class CheckedChange:
    """A change whose content holds on its own: canonical identifier, the scheme's grade."""

    identifier: str
    change: GradeChange
    scheme: GradeScheme
    grade: str
    day: date

    @property
    def aeo(self) -> bool:
        return self.grade in self.scheme.aeo_grades


@dataclass(frozen=True, slots=True)
class NextVersion:
    """What a change makes of the enterprise's record."""

    #: The version to store; None for an exact duplicate of the latest stored version.
    record: AeoRecord | None
    #: The record partners see: the new version, or the stored one a duplicate repeats.
    current: AeoRecord
    scheme: GradeScheme
    aeo: bool
    #: The enterprise is or was an AEO: partners must be sent the new version.
    concerns_partners: bool


def enterprise_identifier(home: HomeAdministration, raw: str) -> str:
    """The canonical declared form (``AEOCN`` + 10 digits) of an enterprise code written as a
    trader writes it. A bare enterprise code is read as the home administration's: the
    registry speaks only of home enterprises."""
    code = normalise(raw)
    found = None
    if code:
        found = home.identifiers.canonical(code) or home.identifiers.declared(home.code + code)
    if found is None:
        examples = ", ".join(home.identifiers.examples) or ", ".join(home.identifiers.patterns)
        raise EnterpriseCodeInvalid(
            f"enterprise code {shown(raw)} is not a {home.code} enterprise code (e.g. {examples})",
            enterprise_code=raw,
        )
    return found


def check(home: HomeAdministration, change: GradeChange, now: datetime) -> CheckedChange:
    """Everything about a change that does not depend on what is stored: its code, its time
    and its grade under the scheme in force on its effective day in the home time zone."""
    identifier = enterprise_identifier(home, change.enterprise_code)
    at = change.effective_at
    if at.utcoffset() is None:
        raise GradeChangeInvalid("effective_at must carry a time zone", field="effective_at")
    if not EARLIEST <= at <= LATEST:
        raise GradeChangeInvalid(
            "effective_at is outside the years 1 to 9999 in UTC", field="effective_at"
        )
    if at - now > MAX_AHEAD:
        raise GradeChangeTooFarAhead(
            f"effective_at {at.isoformat()} is more than {MAX_AHEAD.days} day ahead of the "
            f"gateway's clock ({now.isoformat()})",
            effective_at=at.isoformat(),
        )
    for field, text, limit in (
        ("name", change.name, TEXT_LIMITS.name),
        ("address", change.address, TEXT_LIMITS.address),
    ):
        if len(text) > limit:
            raise GradeChangeInvalid(f"{field} is longer than {limit} characters", field=field)
        if NOT_TEXT.search(text):  # as inbound records: lxml could not seal it for XML partners
            raise GradeChangeInvalid(
                f"{field} contains control characters or non-characters", field=field
            )
    day = home.day_of(at)
    scheme = home.scheme_at(day)
    if scheme is None:
        raise NoGradeSchemeInForce(
            f"no {home.code} grade scheme is in force on {day.isoformat()}", day=day.isoformat()
        )
    grade = _grade(scheme, change.grade)
    if grade is None:
        raise GradeNotInScheme(
            f"grade {shown(change.grade)} is not a grade of {scheme.name}, in force on "
            f"{day.isoformat()}: its grades are {', '.join(scheme.grades)}",
            grade_scheme=scheme.name,
            grades=",".join(scheme.grades),
        )
    return CheckedChange(identifier, change, scheme, grade, day)


def _grade(scheme: GradeScheme, given: str) -> str | None:
    """The scheme's spelling of ``given``; case and runs of spaces do not matter."""
    wanted = " ".join(given.split()).casefold()
    return next((g for g in scheme.grades if g.casefold() == wanted), None)


def was_aeo(home: HomeAdministration, record: AeoRecord | None) -> bool:
    """The version held an AEO grade of the scheme in force on its own day (a later decree
    may rename grades), and was not revoked."""
    if record is None or record.status is RecordStatus.REVOKED:
        return False
    scheme = home.scheme_at(home.day_of(record.effective_at))
    return scheme is not None and record.tier in scheme.aeo_grades


def next_version(
    home: HomeAdministration, history: Sequence[AeoRecord], checked: CheckedChange
) -> NextVersion:
    """The enterprise's next record version after ``checked``, given its stored versions
    (oldest first). A change a stored version already records (same effective time, grade,
    suspension, name and address) is a duplicate, even if later versions followed it: loading
    a file again must not bring back an old state as a new version."""
    previous = history[-1] if history else None
    change, day = checked.change, checked.day
    seen = next((v for v in reversed(history) if _records(v, checked)), None)
    if seen is not None:
        return NextVersion(None, seen, checked.scheme, checked.aeo, False)
    if previous is None and not change.name.strip():
        raise EnterpriseUnknown(
            f"enterprise {checked.identifier} is not registered: its first change must name it",
            enterprise_code=checked.identifier,
        )
    aeo, before = checked.aeo, was_aeo(home, previous)
    status, event = _status_and_event(previous, before, checked)
    record = AeoRecord(
        identifier=checked.identifier,
        name=change.name.strip() or (previous.name if previous else ""),
        address=change.address.strip() or (previous.address if previous else ""),
        status=status,
        tier=checked.grade,
        version=(previous.version if previous else 0) + 1,
        effective_at=change.effective_at,
        event=event,
        authorised_from=_authorised_from(previous, event, aeo, day),
        suspended_on=_since(previous, status, RecordStatus.SUSPENDED, day),
        revoked_on=_since(previous, status, RecordStatus.REVOKED, day),
    )
    concerns = aeo or before
    if previous is not None and _same(previous, record):
        return NextVersion(None, previous, checked.scheme, aeo, False)
    return NextVersion(record, record, checked.scheme, aeo, concerns)


def _status_and_event(
    previous: AeoRecord | None, before: bool, checked: CheckedChange
) -> tuple[RecordStatus, StatusEvent]:
    change = checked.change
    if not checked.aeo:
        # Out of the AEO grades: partners must learn it as a revocation; an enterprise that
        # never was an AEO (or already was revoked) just has its grade recorded.
        if before:
            return RecordStatus.REVOKED, StatusEvent.REVOKED
        revoked = previous is not None and previous.status is RecordStatus.REVOKED
        status = RecordStatus.REVOKED if revoked else RecordStatus.VALID
        if previous is None:
            return status, StatusEvent.UNSPECIFIED
        if previous.tier != checked.grade:
            return status, StatusEvent.TIER_CHANGED
        return status, StatusEvent.AMENDED
    status = RecordStatus.SUSPENDED if change.suspended else RecordStatus.VALID
    if not before:
        return status, StatusEvent.GRANTED
    assert previous is not None
    if status is not previous.status:
        return status, (
            StatusEvent.SUSPENDED if status is RecordStatus.SUSPENDED else StatusEvent.REINSTATED
        )
    if previous.tier != checked.grade:
        return status, StatusEvent.TIER_CHANGED
    if change.recertified:
        return status, StatusEvent.REVALIDATED
    return status, StatusEvent.AMENDED


def _authorised_from(
    previous: AeoRecord | None, event: StatusEvent, aeo: bool, day: date
) -> date | None:
    if event is StatusEvent.GRANTED:
        return day
    if previous is not None and (aeo or previous.authorised_from is not None):
        return previous.authorised_from
    return None


def _since(
    previous: AeoRecord | None, status: RecordStatus, wanted: RecordStatus, day: date
) -> date | None:
    """When the record entered ``wanted``: kept from a previous version already in it."""
    if status is not wanted:
        return None
    if previous is not None and previous.status is wanted:
        if wanted is RecordStatus.SUSPENDED:
            return previous.suspended_on or day
        return previous.revoked_on or day
    return day


def _records(version: AeoRecord, checked: CheckedChange) -> bool:
    """``version`` is what ``checked`` would have stored (an empty name or address keeps the
    registered one, so matches any)."""
    change = checked.change
    name, address = change.name.strip(), change.address.strip()
    return (
        version.effective_at == change.effective_at
        and version.tier == checked.grade
        and (version.status is RecordStatus.SUSPENDED) == (change.suspended and checked.aeo)
        and name in ("", version.name)
        and address in ("", version.address)
    )


def _same(previous: AeoRecord, record: AeoRecord) -> bool:
    """An exact duplicate: same grade, status, name, address and effective time."""
    return (
        previous.tier == record.tier
        and previous.status is record.status
        and previous.name == record.name
        and previous.address == record.address
        and previous.effective_at == record.effective_at
    )
