"""One partner: its definition (tiers, mapping, MRA dates, formats), its lifecycle and the
workflow actions it allows (partner_actions), its signing keys and TLS trust anchor with their
expiry, its exchange state, recent messages in and out with their receipts, and the
reconciliation digest."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from flask import Blueprint, g, render_template, request

from gateway import protomap
from gateway.console import views
from gateway.console.api import ApiError
from gateway.console.i18n import _, as_datetime
from gateway.console.pages.partner_actions import DONE, available_actions
from gateway.console.views import N_
from gateway.pb import admin_pb2, audit_pb2, common_pb2, keys_pb2, onboarding_pb2

blueprint = Blueprint("partner", __name__)

#: Keys and certificates that expire within this are marked: time to rotate.
EXPIRY_WARNING = timedelta(days=30)
#: Recent messages shown each way.
RECENT = 20
#: How far back from the partner's last message the page looks for its recent messages,
#: widening until it has enough: the audit log lists oldest first, so the window keeps a
#: busy partner's page from reading its whole history.
_WINDOWS = (timedelta(hours=1), timedelta(days=1), timedelta(days=30), None)


@dataclass(frozen=True)
class Validity:
    """A key's or certificate's validity as the page marks it."""

    item: Any
    #: "valid", "expiring", "expired" or "not-yet-valid": a CSS class and a label's key.
    status: str


@blueprint.get("/partners/<code>")
def page(code: str) -> str:
    api: Any = g.api
    name = f"partners/{code}"
    partner = api.admin.GetPartner(admin_pb2.GetPartnerRequest(name=name)).partner
    lifecycle = api.onboarding.GetPartnerLifecycle(
        onboarding_pb2.GetPartnerLifecycleRequest(name=f"{name}/lifecycle")
    ).lifecycle
    state = api.admin.GetPartnerState(
        admin_pb2.GetPartnerStateRequest(name=f"{name}/state")
    ).partner_state
    keys = api.keys.ListPartnerSigningKeys(keys_pb2.ListPartnerSigningKeysRequest(parent=name)).keys
    reconciliation = api.admin.GetPartnerReconciliation(
        admin_pb2.GetPartnerReconciliationRequest(name=f"{name}/reconciliation")
    ).reconciliation
    now = datetime.now(UTC)
    done = request.args.get("done", "")
    return render_template(
        "partner.html",
        code=code,
        partner=partner,
        lifecycle=lifecycle,
        life=LABELS["lifecycle_key"].get(lifecycle.state, "unknown"),
        state=state,
        keys=[_validity(k, now) for k in keys],
        anchors=[_validity(c, now) for c in partner.trust_anchors],
        reconciliation=reconciliation,
        received=_received(api, code, state),
        sent=_sent(api, name),
        actions=available_actions(lifecycle.state, state.programme.state),
        missing_tests=_missing_tests(lifecycle),
        last_test=_last_test(lifecycle) if done == "test" else None,
        done=DONE.get(done),
        labels=LABELS,
        day=day,
        duration=duration,
    )


def _validity(item: Any, now: datetime) -> Validity:
    start, end = as_datetime(item.not_before), as_datetime(item.not_after)
    if start is not None and now < start:
        return Validity(item, "not-yet-valid")
    if end is not None and end < now:
        return Validity(item, "expired")
    if end is not None and end - now < EXPIRY_WARNING:
        return Validity(item, "expiring")
    return Validity(item, "valid")


def _received(api: Any, code: str, state: admin_pb2.PartnerState) -> list[audit_pb2.AuditEntry]:
    """The partner's newest received messages, newest first."""
    last = as_datetime(state.last_received_at)
    if last is None:
        return []
    for window in _WINDOWS:
        query = audit_pb2.ListAuditEntriesRequest(
            partner=code, kind="message.received", page_size=500
        )
        if window is not None:
            query.start_time.FromDatetime(last - window)
        found: list[audit_pb2.AuditEntry] = []
        while True:
            page = api.audit.ListAuditEntries(query)
            found = (found + list(page.entries))[-RECENT:]
            if not page.next_page_token:
                break
            query.page_token = page.next_page_token
        if len(found) >= RECENT or window is None:
            return found[::-1]
    return []


def _sent(api: Any, name: str) -> list[admin_pb2.OutboundMessage] | None:
    """The newest messages sent to the partner (newest first); None when this gateway does
    not deliver outbound at all."""
    try:
        return list(
            api.admin.ListOutboundMessages(
                admin_pb2.ListOutboundMessagesRequest(parent=name, page_size=RECENT)
            ).messages
        )
    except ApiError as refused:
        if refused.status == "NOT_FOUND":  # the partner exists (GetPartner answered)
            return None
        raise


def _missing_tests(lifecycle: onboarding_pb2.PartnerLifecycle) -> list[str]:
    """The test directions still to verify before activation (testing only)."""
    if lifecycle.state not in (
        onboarding_pb2.LIFECYCLE_STATE_CONFIGURED,
        onboarding_pb2.LIFECYCLE_STATE_TESTING,
    ):
        return []
    verified = set(lifecycle.verified_directions)
    return [
        label for direction, label in LABELS["test_direction"].items() if direction not in verified
    ]


def _last_test(lifecycle: onboarding_pb2.PartnerLifecycle) -> onboarding_pb2.LifecycleEvent | None:
    """The newest outbound test: the one the test action just ran."""
    for event in reversed(lifecycle.events):
        if (
            event.kind == onboarding_pb2.LIFECYCLE_EVENT_KIND_TEST
            and event.direction == onboarding_pb2.TEST_DIRECTION_OUTBOUND
        ):
            return event
    return None


def day(value: Any) -> str:
    """A google.type.Date as written in definitions: 2026-01-01, or 2026-01 when the day is
    not known; "—" when unset."""
    if not value.year:
        return "—"
    if not value.month:
        return f"{value.year:04d}"
    if not value.day:
        return f"{value.year:04d}-{value.month:02d}"
    return f"{value.year:04d}-{value.month:02d}-{value.day:02d}"


def duration(value: Any) -> str:
    """A google.protobuf.Duration in the largest whole unit: days, hours or minutes."""
    seconds = int(value.seconds)
    if not seconds:
        return "—"
    for unit, text in ((86400, _("%(n)s d")), (3600, _("%(n)s h")), (60, _("%(n)s min"))):
        if seconds % unit == 0:
            return text % {"n": seconds // unit}
    return _("%(n)s s") % {"n": seconds}


LABELS: dict[str, dict[Any, str]] = {
    #: The English word of each lifecycle state, for the page's markup (never translated).
    "lifecycle_key": dict(views.LIFECYCLE),
    "lifecycle": views.LIFECYCLE,
    "programme": views.PROGRAMME,
    "direction": {
        common_pb2.TRADE_DIRECTION_IMPORT: N_("import"),
        common_pb2.TRADE_DIRECTION_EXPORT: N_("export"),
    },
    "mode": {
        common_pb2.TRANSPORT_MODE_SEA: N_("sea"),
        common_pb2.TRANSPORT_MODE_RAIL: N_("rail"),
        common_pb2.TRANSPORT_MODE_ROAD: N_("road"),
        common_pb2.TRANSPORT_MODE_AIR: N_("air"),
        common_pb2.TRANSPORT_MODE_POSTAL: N_("postal"),
    },
    "test_direction": {
        onboarding_pb2.TEST_DIRECTION_OUTBOUND: N_("outbound (this gateway to the partner)"),
        onboarding_pb2.TEST_DIRECTION_INBOUND: N_("inbound (the partner to this gateway)"),
    },
    "event": {
        onboarding_pb2.LIFECYCLE_EVENT_KIND_TRANSITION: N_("entered the state"),
        onboarding_pb2.LIFECYCLE_EVENT_KIND_TEST: N_("test message"),
    },
    #: The console.css class of each validity and outbound state.
    "validity_class": {
        "valid": "fresh",
        "expiring": "warn",
        "expired": "stale",
        "not-yet-valid": "muted",
    },
    "outbound_class": {
        admin_pb2.OUTBOUND_MESSAGE_STATE_SETTLED: "fresh",
        admin_pb2.OUTBOUND_MESSAGE_STATE_DEAD_LETTERED: "stale",
    },
    #: The event kind that carries a test result.
    "test_event": {onboarding_pb2.LIFECYCLE_EVENT_KIND_TEST: "test"},
    "validity": {
        "valid": N_("valid"),
        "expiring": N_("expires within 30 days"),
        "expired": N_("expired"),
        "not-yet-valid": N_("not yet valid"),
    },
    "key_source": {
        keys_pb2.KEY_SOURCE_FILE: N_("definition file"),
        keys_pb2.KEY_SOURCE_ADMIN: N_("added by an administrator"),
        keys_pb2.KEY_SOURCE_ANNOUNCEMENT: N_("announced by the partner"),
    },
    "outbound": {
        admin_pb2.OUTBOUND_MESSAGE_STATE_SENDING: N_("sending"),
        admin_pb2.OUTBOUND_MESSAGE_STATE_SETTLED: N_("settled: receipt verified"),
        admin_pb2.OUTBOUND_MESSAGE_STATE_DEAD_LETTERED: N_("dead-lettered"),
    },
    #: Technical names, shown as the definitions write them (not translated).
    "wire_format": dict(protomap.FORMAT_NAME),
    "algorithm": {
        common_pb2.SIGNATURE_ALGORITHM_ED25519: "Ed25519",
        common_pb2.SIGNATURE_ALGORITHM_ECDSA_P256_SHA256: "ECDSA P-256 SHA-256",
        common_pb2.SIGNATURE_ALGORITHM_RSA_PSS_SHA256: "RSA-PSS SHA-256",
        common_pb2.SIGNATURE_ALGORITHM_RSA_PKCS1_SHA256: "RSA PKCS#1 v1.5 SHA-256",
    },
}
