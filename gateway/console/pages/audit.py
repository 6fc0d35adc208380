"""Messages and audit: the tamper-evident audit log filtered and a page at a time, one entry with
(for a message) its raw content, signature, receipt and chain proof from its evidence bundle,
the bundle to download, and the whole chain verified on request (docs/audit.md)."""

from __future__ import annotations

import json
import re
from datetime import datetime
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from flask import Blueprint, Response, g, render_template, request

from gateway import protomap
from gateway.console import evidence, views
from gateway.console.api import ApiError
from gateway.console.i18n import _
from gateway.console.views import N_
from gateway.domain.audit import AuditKind
from gateway.pb import audit_pb2

blueprint = Blueprint("audit", __name__)

#: Entries per page unless the query asks for another size (the API caps it at 500).
PAGE_SIZE = 50
MAX_PAGE_SIZE = 500
FILTERS = ("partner", "kind", "since", "until")

KINDS = {
    AuditKind.MESSAGE_RECEIVED.value: N_("message received"),
    AuditKind.MESSAGE_SENT.value: N_("message sent"),
    AuditKind.RECEIPT_RECEIVED.value: N_("receipt received"),
    AuditKind.OUTCOME_REPORT_RECEIVED.value: N_("outcome report received"),
    AuditKind.ADMIN_ACTION.value: N_("administrator action"),
    AuditKind.PARTNER_CALL.value: N_("partner call"),
}
BREACHES = {
    "edited": N_("An entry was changed: its fields no longer hash to its stored hash."),
    "relinked": N_("An entry was rewritten or inserted: the next entry does not link to it."),
    "deleted": N_("Entries were deleted: positions jump or the chain ends before its head."),
    "bad_checkpoint_signature": N_(
        "A checkpoint does not verify with the gateway's key: forged or altered."
    ),
    "checkpoint_mismatch": N_(
        "A validly signed checkpoint names another hash than the chain has: the chain was "
        "rewritten up to there."
    ),
}
DIRECTIONS = {"received": N_("received"), "sent": N_("sent")}
SIGNED_BY = {"gateway": N_("this gateway"), "partner": N_("the partner")}
_FILE_NAME_UNSAFE = re.compile(r"[^A-Za-z0-9._-]")


@blueprint.get("/audit")
def entries() -> tuple[str, int]:
    form = {name: request.args.get(name, "").strip() for name in FILTERS}
    token = request.args.get("page_token", "")
    size_text = request.args.get("page_size", "")
    page = {"form": form, "partners": _partner_codes(g.api), "kinds": KINDS, "token": token}
    try:
        query = _query(form, g.zone, size_text, token)
        found = g.api.audit.ListAuditEntries(query)
    except ValueError as problem:
        return render_template("audit.html", error=str(problem), **page), 400
    except ApiError as refused:
        if refused.status != "INVALID_ARGUMENT":
            raise
        # A filter or token the gateway refused: say so above the form, still filled in.
        return render_template(
            "audit.html", error=refused.message, reason=refused.reason, **page
        ), 400
    kept = {name: value for name, value in form.items() if value}
    if size_text:
        kept["page_size"] = size_text
    return render_template(
        "audit.html",
        entries=found.entries,
        next_link=(
            "/audit?" + urlencode({**kept, "page_token": found.next_page_token})
            if found.next_page_token
            else ""
        ),
        first_link=("/audit?" + urlencode(kept)) if token else "",
        **page,
    ), 200


def _partner_codes(api: Any) -> list[str]:
    return sorted(views.code(partner.name) for partner in views.partners(api))


def _query(
    form: dict[str, str], zone: ZoneInfo, size_text: str, token: str
) -> audit_pb2.ListAuditEntriesRequest:
    """The list request of the form's filters; ValueError (translated) for what is none."""
    if form["kind"] and form["kind"] not in KINDS:
        raise ValueError(_("Choose a kind of entry from the list."))
    query = audit_pb2.ListAuditEntriesRequest(
        partner=form["partner"],
        kind=form["kind"],
        page_size=_page_size(size_text),
        page_token=token,
    )
    for name, field in (("since", query.start_time), ("until", query.end_time)):
        moment = _local_time(form[name], zone)
        if moment is not None:
            try:
                protomap.set_timestamp(field, moment)
            except (ValueError, OverflowError):
                raise ValueError(
                    _("The time %(text)s is out of range.") % {"text": form[name]}
                ) from None
    return query


def _page_size(text: str) -> int:
    if not text:
        return PAGE_SIZE
    if not text.isdigit() or not 1 <= int(text) <= MAX_PAGE_SIZE:
        raise ValueError(_("The page size is a number from 1 to %(n)s.") % {"n": MAX_PAGE_SIZE})
    return int(text)


def _local_time(text: str, zone: ZoneInfo) -> datetime | None:
    """A datetime-local value in the user's time zone; None when empty."""
    if not text:
        return None
    try:
        local = datetime.fromisoformat(text)
    except ValueError:
        raise ValueError(
            _("The time %(text)s is not a date and time such as 2026-07-01T09:30.") % {"text": text}
        ) from None
    return local.replace(tzinfo=zone) if local.tzinfo is None else local


@blueprint.get("/audit/<int:position>")
def entry(position: int) -> str:
    found = _entry(position)
    shown: dict[str, Any] = {}
    if found.kind in evidence.MESSAGE_KINDS:
        shown = _evidence_of(found)
    return render_template(
        "audit_entry.html",
        entry=found,
        kinds=KINDS,
        detail=_pretty(found.detail_json),
        directions=DIRECTIONS,
        signed_by=SIGNED_BY,
        shown_bytes=evidence.SHOWN_BYTES,
        **shown,
    )


def _entry(position: int) -> audit_pb2.AuditEntry:
    answer: audit_pb2.GetAuditEntryResponse = g.api.audit.GetAuditEntry(
        audit_pb2.GetAuditEntryRequest(position=position)
    )
    return answer.entry


def _evidence_of(found: audit_pb2.AuditEntry) -> dict[str, Any]:
    """What the page shows of the message's bundle, or why there is none."""
    try:
        bundle = _bundle(found)
    except ApiError as refused:
        if refused.status != "NOT_FOUND":
            raise
        return {"evidence_missing": refused.message}
    try:
        return {"evidence": evidence.read(bundle)}
    except evidence.BundleUnreadable as problem:
        return {"evidence_missing": str(problem)}


def _bundle(found: audit_pb2.AuditEntry) -> bytes:
    request_msg = audit_pb2.ExportEvidenceRequest(message_id=found.subject)
    bundle: bytes = g.api.audit.ExportEvidence(request_msg).bundle
    return bundle


def _pretty(detail_json: str) -> str:
    try:
        return json.dumps(json.loads(detail_json), indent=2, sort_keys=True, ensure_ascii=False)
    except ValueError:
        return detail_json


@blueprint.get("/audit/<int:position>/evidence")
def download(position: int) -> Response:
    """The bundle exactly as ExportEvidence answers it, as a file to keep."""
    found = _entry(position)
    if found.kind not in evidence.MESSAGE_KINDS:
        raise ApiError(
            "NOT_FOUND",
            "console.no_evidence",
            _("Entry %(n)s records no message: there is no evidence bundle for it.")
            % {"n": position},
        )
    name = "evidence-" + _FILE_NAME_UNSAFE.sub("_", found.subject) + ".zip"
    return Response(
        _bundle(found),
        mimetype="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


@blueprint.get("/audit/verify")
def verify_form() -> str:
    return render_template("audit_verify.html", breaches=BREACHES)


@blueprint.post("/audit/verify")
def verify() -> str:
    # Read-only in the gateway (a viewer may run it), but a POST: it walks the whole chain.
    verdict = g.api.audit.VerifyAuditLog(audit_pb2.VerifyAuditLogRequest())
    return render_template("audit_verify.html", breaches=BREACHES, verdict=verdict)
