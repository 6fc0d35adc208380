"""Overview: every partner with its lifecycle and MRA state, its last message and whether its
data is fresh, open gaps, the outbox backlog, and verification failures of the last 24 hours."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from flask import Blueprint, g, render_template

from gateway.console import views
from gateway.pb import admin_pb2

blueprint = Blueprint("overview", __name__)


@dataclass(frozen=True)
class Row:
    code: str
    partner: admin_pb2.Partner
    lifecycle: str
    mra_in_force: bool
    state: admin_pb2.PartnerState


@blueprint.get("/")
def index() -> str:
    api: Any = g.api
    now = datetime.now(UTC)
    lifecycles = views.lifecycles(api)
    rows = []
    for partner in views.partners(api):
        code = views.code(partner.name)
        state = api.admin.GetPartnerState(
            admin_pb2.GetPartnerStateRequest(name=f"{partner.name}/state")
        ).partner_state
        life = lifecycles.get(code)
        rows.append(
            Row(
                code,
                partner,
                views.LIFECYCLE.get(life.state, "") if life is not None else "",
                views.mra_in_force(partner, now),
                state,
            )
        )
    return render_template("overview.html", rows=rows, programme=views.PROGRAMME, now=now)
