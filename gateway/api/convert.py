"""Protobuf <-> domain conversions of the gRPC edge."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from google.protobuf.duration_pb2 import Duration
from google.type import date_pb2

from gateway import protomap
from gateway.domain.errors import InvalidProgrammeState, InvalidQuery, shown
from gateway.domain.events import (
    Change,
    DefinitionChange,
    PartnerDefinitionChanged,
    ProgrammeStateChanged,
    RecordVersionApplied,
)
from gateway.domain.partners import Partner, TradeDirection, TransportMode
from gateway.domain.programme import ProgrammeAt, ProgrammeState, state_at
from gateway.domain.recognition import Answer, Outcome
from gateway.pb import admin_pb2, common_pb2, recognition_pb2

OUTCOME_TO_PB = {
    Outcome.RECOGNISED: recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED,
    Outcome.NOT_RECOGNISED: recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED,
    Outcome.UNKNOWN_OPERATOR: recognition_pb2.RECOGNITION_OUTCOME_UNKNOWN_OPERATOR,
    Outcome.CODE_FORMAT_UNKNOWN: recognition_pb2.RECOGNITION_OUTCOME_CODE_FORMAT_UNKNOWN,
}
PARTNER_PREFIX = "partners/"
PROGRAMME_SUFFIX = "/programme"
PROGRAMME_TO_PB = {
    ProgrammeState.ACTIVE: common_pb2.PROGRAMME_STATE_ACTIVE,
    ProgrammeState.NOTICE_OF_SUSPENSION: common_pb2.PROGRAMME_STATE_NOTICE_OF_SUSPENSION,
    ProgrammeState.SUSPENDED: common_pb2.PROGRAMME_STATE_SUSPENDED,
}
_PROGRAMME_FROM_PB = {v: k for k, v in PROGRAMME_TO_PB.items()}
_DEFINITION_CHANGE = {
    DefinitionChange.ADDED: admin_pb2.PartnerDefinitionChanged.DEFINITION_CHANGE_ADDED,
    DefinitionChange.CHANGED: admin_pb2.PartnerDefinitionChanged.DEFINITION_CHANGE_CHANGED,
    DefinitionChange.REMOVED: admin_pb2.PartnerDefinitionChanged.DEFINITION_CHANGE_REMOVED,
}


def optional_time(message: object, field: str) -> datetime | None:
    """A Timestamp field as an aware datetime, or None when unset."""
    if not message.HasField(field):  # type: ignore[attr-defined]
        return None
    try:
        return getattr(message, field).ToDatetime(tzinfo=UTC)  # type: ignore[no-any-return]
    except (ValueError, OverflowError) as exc:
        raise InvalidQuery(f"{field} is not a valid time") from exc


def direction(value: int) -> TradeDirection:
    found = protomap.DIRECTION.get(value)  # type: ignore[call-overload]
    if found is None:
        raise InvalidQuery("direction is required: TRADE_DIRECTION_IMPORT or _EXPORT")
    return found  # type: ignore[no-any-return]


def mode(value: int) -> TransportMode | None:
    """The request's mode of transport; None when it states none."""
    if value == common_pb2.TRANSPORT_MODE_UNSPECIFIED:
        return None
    found = protomap.MODE.get(value)  # type: ignore[call-overload]
    if found is None:
        raise InvalidQuery(f"mode {value} is not a TransportMode")
    return found  # type: ignore[no-any-return]


def partner_code(name: str, suffix: str = "") -> str:
    """ "partners/SG" (or "partners/SG/state" with suffix "/state") -> "SG"."""
    code = name.removeprefix(PARTNER_PREFIX).removesuffix(suffix)
    if not name.startswith(PARTNER_PREFIX) or not name.endswith(suffix) or not code or "/" in code:
        raise InvalidQuery(
            f"{shown(name)} is not a resource name of the form partners/CODE{suffix}"
        )
    return code


def answer_to_pb(answer: Answer) -> recognition_pb2.Recognition:
    msg = recognition_pb2.Recognition(
        declared_code=answer.declared_code,
        normalised_code=answer.normalised_code,
        outcome=OUTCOME_TO_PB[answer.outcome],
        reason=answer.reason,
        administration=answer.administration,
        programme=answer.programme,
        treatment=answer.treatment,
        grade_scheme=answer.grade_scheme,
        benefits=answer.benefits,
        direction=protomap.DIRECTION_TO_PB[answer.direction],
        partner_data_stale=answer.data_stale,
    )
    programme = answer.programme_state
    if programme is not None:
        msg.programme_state = PROGRAMME_TO_PB[programme.state]
        if programme.suspends_at is not None:
            protomap.set_timestamp(msg.programme_suspends_at, programme.suspends_at)
    if answer.mode is not None:
        msg.mode = protomap.MODE_TO_PB[answer.mode]
    protomap.set_timestamp(msg.as_of, answer.as_of)
    if answer.data_received_at is not None:
        protomap.set_timestamp(msg.partner_data_received_at, answer.data_received_at)
    record, basis = answer.record, answer.basis
    if record is not None:
        msg.tier = record.tier
        msg.status = protomap.STATUS_TO_PB[record.status]
        msg.operator_name = record.name
        if basis is not None:
            b = msg.basis
            b.message_id = basis.message_id
            b.sequence = basis.sequence
            b.key_id = basis.key_id
            b.algorithm = protomap.ALGORITHM_TO_PB.get(
                basis.algorithm, common_pb2.SIGNATURE_ALGORITHM_UNSPECIFIED
            )
            b.record_version = record.version
            protomap.set_timestamp(b.received_at, basis.received_at)
            protomap.set_timestamp(b.effective_at, record.effective_at)
    return msg


def partner_to_pb(partner: Partner, version: int) -> admin_pb2.Partner:
    msg = admin_pb2.Partner(
        name=PARTNER_PREFIX + partner.code,
        display_name=partner.name,
        programme=partner.programme,
        tiers=partner.tiers,
        recognised_tiers=sorted(partner.recognised_tier_names),
        declared_code_patterns=partner.identifiers.patterns,
        assumed_fields=partner.assumed,
        benefits=partner.benefits,
        wire_formats=[
            protomap.FORMAT_TO_PB.get(f, common_pb2.WIRE_FORMAT_UNSPECIFIED)
            for f in partner.wire_formats
        ],
        directory_version=version,
    )
    mra = msg.mra
    if partner.mra_signed:
        parts = [int(p) for p in partner.mra_signed.split("-")] + [0, 0]
        mra.signed.year, mra.signed.month, mra.signed.day = parts[:3]
    if partner.mra_in_force:
        protomap.set_date(mra.in_force, partner.mra_in_force)
    mra.directions.extend(sorted(protomap.DIRECTION_TO_PB[d] for d in partner.directions))
    for period in partner.suspensions:
        suspension = mra.suspensions.add()
        protomap.set_date(suspension.start, period.start)
        if period.end:
            protomap.set_date(suspension.end, period.end)
    for m, day in partner.mra_in_force_by_mode:
        protomap.set_date(mra.in_force_by_mode.add(mode=protomap.MODE_TO_PB[m]).in_force, day)
    for r in partner.recognised_tiers:
        recognition = msg.tier_recognitions.add(tier=r.tier)
        _optional_date(recognition.start, r.start)
        _optional_date(recognition.end, r.end)
    for rule in partner.mapping:
        mapping = msg.mapping.add(
            tier=rule.tier,
            grade=rule.grade,
            grade_scheme=rule.scheme or "",
            benefits=rule.benefits or (),
        )
        _optional_date(mapping.start, rule.start)
        _optional_date(mapping.end, rule.end)
    if partner.freshness is not None:
        fresh = partner.freshness
        msg.freshness.stale_grants_benefits = fresh.stale_grants_benefits
        msg.freshness.expected_cadence.CopyFrom(_duration(fresh.expected_cadence))
        msg.freshness.max_staleness.CopyFrom(_duration(fresh.max_staleness))
    for key in partner.signing_keys:
        k = msg.signing_keys.add(
            key_id=key.key_id,
            algorithm=protomap.ALGORITHM_TO_PB.get(
                key.algorithm, common_pb2.SIGNATURE_ALGORITHM_UNSPECIFIED
            ),
        )
        if key.not_before:
            protomap.set_timestamp(k.not_before, key.not_before)
        if key.not_after:
            protomap.set_timestamp(k.not_after, key.not_after)
    return msg


def _optional_date(target: date_pb2.Date, day: date | None) -> None:
    if day is not None:
        protomap.set_date(target, day)


def _duration(span: timedelta) -> Duration:
    found = Duration()
    found.FromTimedelta(span)
    return found


def gaps(pairs: tuple[tuple[int, int], ...]) -> list[common_pb2.SequenceGap]:
    return [common_pb2.SequenceGap(first=a, last=b) for a, b in pairs]


def programme_state(value: int) -> ProgrammeState:
    """The state a SetProgrammeState request asks for; UNSPECIFIED (or unknown) is refused."""
    found = _PROGRAMME_FROM_PB.get(value)  # type: ignore[call-overload]
    if found is None:
        raise InvalidProgrammeState(
            "state is required: PROGRAMME_STATE_NOTICE_OF_SUSPENSION, _SUSPENDED or _ACTIVE"
        )
    return found  # type: ignore[no-any-return]


def optional_duration(message: object, field: str) -> timedelta | None:
    """A Duration field as a timedelta, or None when unset."""
    if not message.HasField(field):  # type: ignore[attr-defined]
        return None
    try:
        return getattr(message, field).ToTimedelta()  # type: ignore[no-any-return]
    except (ValueError, OverflowError) as exc:
        raise InvalidProgrammeState(f"{field} is not a valid duration") from exc


def programme_to_pb(partner: str, found: ProgrammeAt) -> admin_pb2.ProgrammeStatus:
    msg = admin_pb2.ProgrammeStatus(
        name=PARTNER_PREFIX + partner + PROGRAMME_SUFFIX,
        state=PROGRAMME_TO_PB[found.state],
        reason=found.reason,
    )
    if found.since is not None:
        protomap.set_timestamp(msg.since, found.since)
    if found.suspends_at is not None:
        protomap.set_timestamp(msg.suspends_at, found.suspends_at)
    return msg


def change_to_pb(change: Change) -> admin_pb2.Change:
    """A change-log entry as ListChanges and WatchChanges send it."""
    msg = admin_pb2.Change(cursor=change.cursor)
    protomap.set_timestamp(msg.recorded_at, change.recorded_at)
    event = change.event
    if isinstance(event, RecordVersionApplied):
        applied = msg.record_version_applied
        applied.administration = event.administration
        applied.identifier = event.identifier
        applied.version = event.version
        applied.status = protomap.STATUS_TO_PB[event.status]
        applied.event = protomap.EVENT_TO_PB[event.event]
        applied.message_id = event.message_id
        protomap.set_timestamp(applied.effective_at, event.effective_at)
    elif isinstance(event, PartnerDefinitionChanged):
        changed = msg.partner_definition_changed
        changed.partner = PARTNER_PREFIX + event.partner
        changed.directory_version = event.directory_version
        changed.kind = _DEFINITION_CHANGE[event.change]
    elif isinstance(event, ProgrammeStateChanged):
        # As recorded: a notice is a notice here, whatever its date has become since.
        entry = event.entry
        status = programme_to_pb(entry.partner, state_at((entry,), entry.effective_from))
        msg.programme_state_changed.programme.CopyFrom(status)
    return msg
