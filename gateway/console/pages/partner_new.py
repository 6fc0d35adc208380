"""A new partner: its definition (the TOML of partners/*.toml) and the trust files it names,
onboarded as a draft (PartnerOnboardingService.OnboardPartner) — what
`aeo-gateway partners onboard CODE --definition FILE` does from a terminal."""

from __future__ import annotations

from pathlib import PurePosixPath
from typing import Any

from flask import Blueprint, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from gateway.console.api import ApiError
from gateway.console.i18n import _
from gateway.pb import onboarding_pb2

blueprint = Blueprint("partner_new", __name__)

#: Refusals of the definition shown on the form, with what was typed kept; any other error
#: (a viewer's PERMISSION_DENIED, an unreachable gateway) is the error page.
_ON_THE_FORM = {"INVALID_ARGUMENT": 400, "ALREADY_EXISTS": 409, "FAILED_PRECONDITION": 409}


@blueprint.get("/partners/new")
def form() -> str:
    return render_template("partner_new.html", code="", definition="")


@blueprint.post("/partners/new")
def onboard() -> Response | tuple[str, int]:
    code = request.form.get("code", "").strip().upper()
    definition = request.form.get("definition", "")
    if not code:
        return _again(code, definition, _("Give the partner's code, e.g. CL."), ""), 400
    onboarding = onboarding_pb2.OnboardPartnerRequest(
        name=f"partners/{code}",
        definition=definition.encode("utf-8"),
        attachments=_attachments(),
    )
    api: Any = g.api
    try:
        api.onboarding.OnboardPartner(onboarding)
    except ApiError as refused:
        status = _ON_THE_FORM.get(refused.status)
        if status is None:
            raise
        return _again(code, definition, refused.message, refused.reason), status
    return redirect(url_for("partner.page", code=code, done="onboard"), 303)


def _attachments() -> list[onboarding_pb2.Attachment]:
    """The uploaded files under their own names (the names the definition uses)."""
    found = []
    for upload in request.files.getlist("attachments"):
        if not upload.filename:  # the field left empty
            continue
        # Only the file's own name: some browsers send a path.
        name = PurePosixPath(upload.filename.replace("\\", "/")).name
        found.append(onboarding_pb2.Attachment(name=name, content=upload.read()))
    return found


def _again(code: str, definition: str, problem: str, reason: str) -> str:
    return render_template(
        "partner_new.html", code=code, definition=definition, problem=problem, reason=reason
    )
