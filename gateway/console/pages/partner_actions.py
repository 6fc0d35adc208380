"""The workflow actions on one partner, each behind a confirmation page: GET
/partners/CODE/ACTION says what will happen, POST does it and returns to the partner page with
a notice (?done=ACTION). The gateway decides whether the action is allowed (the lifecycle, the
caller's role); the page only offers the actions the partner's state allows."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from flask import Blueprint, abort, g, redirect, render_template, request, url_for
from werkzeug.wrappers import Response

from gateway.console import views
from gateway.console.i18n import _
from gateway.console.views import N_
from gateway.pb import admin_pb2, common_pb2, onboarding_pb2

blueprint = Blueprint("partner_actions", __name__)

#: Longest reason accepted (the gateway's own limit for a programme decision).
MAX_REASON = 1000


@dataclass(frozen=True)
class Action:
    title: str
    #: What happens, as the confirmation page says it.
    explanation: str
    #: The button of the confirmation page.
    button: str
    #: The notice on the partner page afterwards.
    done: str
    perform: Callable[[Any, str, str], Any]
    #: The lifecycle states it applies in.
    states: frozenset[int]
    reason_required: bool = False
    danger: bool = False
    #: Programme states it also applies in, whatever the lifecycle shows: an active
    #: partner under notice of suspension may be resumed (the notice withdrawn).
    programme_states: frozenset[int] = frozenset()

    def applies(self, lifecycle_state: int, programme_state: int) -> bool:
        return lifecycle_state in self.states or programme_state in self.programme_states


def _programme(state: common_pb2.ProgrammeState.ValueType) -> Callable[[Any, str, str], Any]:
    def perform(api: Any, name: str, reason: str) -> Any:
        return api.admin.SetProgrammeState(
            admin_pb2.SetProgrammeStateRequest(name=f"{name}/programme", state=state, reason=reason)
        )

    return perform


_S = onboarding_pb2
ACTIONS: dict[str, Action] = {
    "configure": Action(
        N_("Configure"),
        N_(
            "The gateway checks the partner's trust anchor, a signing key valid now, its "
            "outbound endpoint and its mapping, and records it as configured. Nothing is "
            "exchanged yet."
        ),
        N_("Configure the partner"),
        N_("The partner is configured."),
        lambda api, name, reason: api.onboarding.ConfigurePartner(
            _S.ConfigurePartnerRequest(name=name)
        ),
        frozenset({_S.LIFECYCLE_STATE_DRAFT}),
    ),
    "test": Action(
        N_("Test"),
        N_(
            "The gateway sends a signed test message to the partner's gateway and verifies its "
            "signed receipt. A configured partner enters testing; an active partner stays "
            "active. The result is recorded in the partner's history."
        ),
        N_("Send a test message"),
        N_("The test message was sent."),
        lambda api, name, reason: api.onboarding.TestPartner(_S.TestPartnerRequest(name=name)),
        frozenset(
            {_S.LIFECYCLE_STATE_CONFIGURED, _S.LIFECYCLE_STATE_TESTING, _S.LIFECYCLE_STATE_ACTIVE}
        ),
    ),
    "activate": Action(
        N_("Activate"),
        N_(
            "The partner goes live: its status messages are applied and home AEO changes are "
            "sent to it. The gateway requires test messages verified in both directions."
        ),
        N_("Activate the partner"),
        N_("The partner is active."),
        lambda api, name, reason: api.onboarding.ActivatePartner(
            _S.ActivatePartnerRequest(name=name)
        ),
        frozenset({_S.LIFECYCLE_STATE_TESTING}),
    ),
    "suspend": Action(
        N_("Suspend"),
        N_(
            "The partner's programme is suspended now: its operators earn no benefits under "
            "the MRA and nothing is sent to it until it is resumed."
        ),
        N_("Suspend the programme"),
        N_("The partner's programme is suspended."),
        _programme(common_pb2.PROGRAMME_STATE_SUSPENDED),
        frozenset({_S.LIFECYCLE_STATE_ACTIVE}),
        reason_required=True,
        danger=True,
    ),
    "resume": Action(
        N_("Resume"),
        N_(
            "The partner's programme is in force again: its recognised operators earn their "
            "benefits and delivery to it resumes. A notice of suspension is withdrawn."
        ),
        N_("Resume the programme"),
        N_("The partner's programme is resumed."),
        _programme(common_pb2.PROGRAMME_STATE_ACTIVE),
        frozenset({_S.LIFECYCLE_STATE_SUSPENDED}),
        reason_required=True,
        programme_states=frozenset({common_pb2.PROGRAMME_STATE_NOTICE_OF_SUSPENSION}),
    ),
    "retire": Action(
        N_("Retire"),
        N_(
            "The partner is retired for good: nothing is accepted from it or sent to it, and "
            "its operators are not recognised for times after the retirement. This cannot be "
            "undone."
        ),
        N_("Retire the partner"),
        N_("The partner is retired."),
        lambda api, name, reason: api.onboarding.RetirePartner(
            _S.RetirePartnerRequest(name=name, reason=reason)
        ),
        frozenset(
            {
                _S.LIFECYCLE_STATE_DRAFT,
                _S.LIFECYCLE_STATE_CONFIGURED,
                _S.LIFECYCLE_STATE_TESTING,
                _S.LIFECYCLE_STATE_ACTIVE,
                _S.LIFECYCLE_STATE_SUSPENDED,
            }
        ),
        reason_required=True,
        danger=True,
    ),
    "snapshot": Action(
        N_("Request a snapshot"),
        N_(
            "The signed receipt of the partner's next message asks it for a snapshot of its "
            "whole current set of operators, until that snapshot arrives. Use it when the "
            "reconciliation digests differ or gaps were written off."
        ),
        N_("Request a snapshot"),
        N_("A snapshot is requested: the partner's next receipt asks for it."),
        lambda api, name, reason: api.admin.RequestPartnerSnapshot(
            admin_pb2.RequestPartnerSnapshotRequest(name=name)
        ),
        frozenset({_S.LIFECYCLE_STATE_ACTIVE, _S.LIFECYCLE_STATE_SUSPENDED}),
    ),
}
#: ?done=ACTION -> the notice shown on the partner page (onboarding comes from partner_new).
DONE = {key: action.done for key, action in ACTIONS.items()} | {
    "onboard": N_("The partner is onboarded as a draft.")
}


def available_actions(lifecycle_state: int, programme_state: int) -> list[tuple[str, Action]]:
    """The actions a partner in these states may take, in workflow order."""
    return [(key, a) for key, a in ACTIONS.items() if a.applies(lifecycle_state, programme_state)]


@blueprint.route("/partners/<code>/<action>", methods=["GET", "POST"])
def confirm(code: str, action: str) -> Response | tuple[str, int]:
    chosen = ACTIONS.get(action)
    if chosen is None:
        abort(404)
    api: Any = g.api
    name = f"partners/{code}"
    partner = api.admin.GetPartner(admin_pb2.GetPartnerRequest(name=name)).partner
    lifecycle = api.onboarding.GetPartnerLifecycle(
        onboarding_pb2.GetPartnerLifecycleRequest(name=f"{name}/lifecycle")
    ).lifecycle
    programme = api.admin.GetPartnerState(
        admin_pb2.GetPartnerStateRequest(name=f"{name}/state")
    ).partner_state.programme
    reason = request.form.get("reason", "").strip()
    problem = ""
    if request.method == "POST":
        problem = _reason_problem(chosen, reason)
        if not problem:
            chosen.perform(api, name, reason)
            return redirect(url_for("partner.page", code=code, done=action), 303)
    page = render_template(
        "partner_confirm.html",
        code=code,
        partner=partner,
        key=action,
        action=chosen,
        state=views.LIFECYCLE.get(lifecycle.state, ""),
        applies=chosen.applies(lifecycle.state, programme.state),
        reason=reason,
        problem=problem,
        max_reason=MAX_REASON,
    )
    return page, 400 if problem else 200


def _reason_problem(action: Action, reason: str) -> str:
    if action.reason_required and not reason:
        return _("Give a reason: it is recorded with the action.")
    if len(reason) > MAX_REASON:
        return _("The reason is longer than %(n)s characters.") % {"n": MAX_REASON}
    return ""
