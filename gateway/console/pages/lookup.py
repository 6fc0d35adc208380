"""Recognition lookup: what a port officer asks — is the operator named on a declaration a
recognised AEO at a given time, with which treatment and benefits, and on what basis.

The code goes to the gateway exactly as typed: RecognitionService normalises it (spaces, case,
AEO<...> wrappers, prefixes), so the page shows the same answer a declaration system gets.
Without a direction the page asks for both, since officers often do not know which applies.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, g, render_template, request

from gateway import protomap
from gateway.console import views
from gateway.console.api import ApiError
from gateway.console.i18n import _
from gateway.console.views import N_
from gateway.pb import common_pb2, recognition_pb2

blueprint = Blueprint("lookup", __name__)

DIRECTIONS = {
    "import": (common_pb2.TRADE_DIRECTION_IMPORT, N_("import")),
    "export": (common_pb2.TRADE_DIRECTION_EXPORT, N_("export")),
}
MODES = {
    "sea": (common_pb2.TRANSPORT_MODE_SEA, N_("sea")),
    "rail": (common_pb2.TRANSPORT_MODE_RAIL, N_("rail")),
    "road": (common_pb2.TRANSPORT_MODE_ROAD, N_("road")),
    "air": (common_pb2.TRANSPORT_MODE_AIR, N_("air")),
    "postal": (common_pb2.TRANSPORT_MODE_POSTAL, N_("postal")),
}
#: Codes typed at once, one per line: a page an officer can still read.
MAX_CODES = 50


@dataclass(frozen=True)
class Question:
    codes: list[str]
    batch: bool
    as_of: datetime | None
    directions: list[str]
    mode: str


@blueprint.get("/lookup")
def lookup() -> tuple[str, int]:
    form = {name: request.args.get(name, "") for name in ("code", "codes", "as_of", "direction")}
    form["mode"] = request.args.get("mode", "")
    try:
        question = _question(form, g.zone)
    except ValueError as problem:
        return _page(form, error=str(problem)), 400
    if question is None:
        return _page(form), 200
    try:
        answers = _ask(g.api, question)
    except ApiError as refused:
        if refused.status != "INVALID_ARGUMENT":
            raise
        # The gateway refused the question (a blank code, a time out of range): say so here,
        # with the form still filled in.
        return _page(form, error=refused.message, reason=refused.reason), 400
    return _page(form, question=question, answers=answers), 200


def _page(form: dict[str, str], **shown: Any) -> str:
    return render_template(
        "lookup.html",
        form=form,
        directions=DIRECTIONS,
        modes=MODES,
        max_codes=MAX_CODES,
        labels=LABELS,
        **shown,
    )


def _question(form: dict[str, str], zone: ZoneInfo) -> Question | None:
    """What the form asks; None when it asks nothing yet; ValueError (translated) when it
    cannot be asked."""
    several = [line.strip() for line in form["codes"].splitlines() if line.strip()]
    codes = ([form["code"]] if form["code"].strip() else []) + several
    if not codes:
        if form["code"]:  # only spaces: the gateway's answer for a blank code says why
            return Question([form["code"]], False, _as_of(form["as_of"], zone), ["import"], "")
        return None
    if len(codes) > MAX_CODES:
        raise ValueError(_("At most %(n)s codes at once.") % {"n": MAX_CODES})
    direction = form["direction"]
    if direction and direction not in DIRECTIONS:
        raise ValueError(_("Choose import, export or both directions."))
    if form["mode"] and form["mode"] not in MODES:
        raise ValueError(_("Choose a mode of transport from the list."))
    return Question(
        codes,
        len(codes) > 1,
        _as_of(form["as_of"], zone),
        [direction] if direction else list(DIRECTIONS),
        form["mode"],
    )


def _as_of(text: str, zone: ZoneInfo) -> datetime | None:
    """A datetime-local value in the user's time zone; None (now) when empty."""
    if not text.strip():
        return None
    try:
        local = datetime.fromisoformat(text.strip())
    except ValueError:
        raise ValueError(
            _("The time %(text)s is not a date and time such as 2026-07-01T09:30.") % {"text": text}
        ) from None
    return local.replace(tzinfo=zone) if local.tzinfo is None else local


def _ask(api: Any, question: Question) -> list[list[recognition_pb2.Recognition]]:
    """Per code, its answer in each direction asked."""
    mode = MODES[question.mode][0] if question.mode else common_pb2.TRANSPORT_MODE_UNSPECIFIED
    per_direction = []
    for name in question.directions:
        direction = DIRECTIONS[name][0]
        if question.batch:
            batch = recognition_pb2.BatchGetRecognitionsRequest(
                declared_codes=question.codes, direction=direction, mode=mode
            )
            _set_as_of(batch, question.as_of)
            per_direction.append(list(api.recognition.BatchGetRecognitions(batch).recognitions))
        else:
            one = recognition_pb2.GetRecognitionRequest(
                declared_code=question.codes[0], direction=direction, mode=mode
            )
            _set_as_of(one, question.as_of)
            per_direction.append([api.recognition.GetRecognition(one).recognition])
    return [list(answers) for answers in zip(*per_direction, strict=True)]


def _set_as_of(request_msg: Any, as_of: datetime | None) -> None:
    if as_of is not None:
        try:
            protomap.set_timestamp(request_msg.as_of, as_of)
        except (ValueError, OverflowError):
            raise ApiError(
                "INVALID_ARGUMENT", "console.as_of", _("The time is out of range.")
            ) from None


LABELS = {
    "outcome": {
        recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED: N_("Recognised AEO"),
        recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED: N_("Not recognised"),
        recognition_pb2.RECOGNITION_OUTCOME_UNKNOWN_OPERATOR: N_("Unknown operator"),
        recognition_pb2.RECOGNITION_OUTCOME_CODE_FORMAT_UNKNOWN: N_("Code not recognised"),
    },
    #: A stable word per outcome for the page's markup (data-outcome), never shown.
    "outcome_key": {
        recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED: "recognised",
        recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED: "not-recognised",
        recognition_pb2.RECOGNITION_OUTCOME_UNKNOWN_OPERATOR: "unknown-operator",
        recognition_pb2.RECOGNITION_OUTCOME_CODE_FORMAT_UNKNOWN: "code-format-unknown",
    },
    "outcome_class": {
        recognition_pb2.RECOGNITION_OUTCOME_RECOGNISED: "fresh",
        recognition_pb2.RECOGNITION_OUTCOME_NOT_RECOGNISED: "stale",
        recognition_pb2.RECOGNITION_OUTCOME_UNKNOWN_OPERATOR: "warn",
        recognition_pb2.RECOGNITION_OUTCOME_CODE_FORMAT_UNKNOWN: "warn",
    },
    "reason": {
        "recognised": N_("The operator's authorisation is valid and its tier is recognised."),
        "code.empty": N_("No code was given."),
        "code.format_unknown": N_("The code matches no administration's declared-code format."),
        "operator.unknown": N_(
            "The administration has sent no record for this code effective at that time."
        ),
        "status.suspended": N_("The operator's authorisation is suspended."),
        "status.revoked": N_("The operator's authorisation is revoked."),
        "status.expired": N_("The operator's authorisation has expired."),
        "tier.not_recognised": N_("The operator's tier is not recognised under the MRA."),
        "mra.not_in_force": N_("The mutual recognition arrangement is not in force at that time."),
        "mra.direction_not_covered": N_("The MRA does not cover this direction."),
        "mra.mode_required": N_(
            "The MRA entered into force on different dates per mode of transport: choose one."
        ),
        "mra.suspended": N_("The partner's programme is suspended under the MRA."),
        "partner.data_stale": N_(
            "The partner has been silent too long; its definition withholds benefits then."
        ),
        "consent.withdrawn": N_("The operator has withdrawn consent to the exchange."),
        "record.absent_from_snapshot": N_("The partner's last snapshot no longer lists it."),
    },
    "status": {
        common_pb2.RECORD_STATUS_VALID: N_("valid"),
        common_pb2.RECORD_STATUS_SUSPENDED: N_("suspended"),
        common_pb2.RECORD_STATUS_REVOKED: N_("revoked"),
        common_pb2.RECORD_STATUS_EXPIRED: N_("expired"),
    },
    "direction": {number: label for number, label in DIRECTIONS.values()},
    "mode": {number: label for number, label in MODES.values()},
    "programme": views.PROGRAMME,
    "algorithm": {
        common_pb2.SIGNATURE_ALGORITHM_ED25519: "Ed25519",
        common_pb2.SIGNATURE_ALGORITHM_ECDSA_P256_SHA256: "ECDSA P-256 SHA-256",
        common_pb2.SIGNATURE_ALGORITHM_RSA_PSS_SHA256: "RSA-PSS SHA-256",
        common_pb2.SIGNATURE_ALGORITHM_RSA_PKCS1_SHA256: "RSA PKCS#1 v1.5 SHA-256",
    },
}
