"""What several pages show the same way: the partners, their states, and labels of the API's
enumerations in words (marked with N_ for the catalogues, translated when rendered)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime
from typing import Any

from gateway.pb import admin_pb2, common_pb2, onboarding_pb2


def N_(message: str) -> str:  # gettext's name for "translate later"
    return message


LIFECYCLE = {
    onboarding_pb2.LIFECYCLE_STATE_DRAFT: N_("draft"),
    onboarding_pb2.LIFECYCLE_STATE_CONFIGURED: N_("configured"),
    onboarding_pb2.LIFECYCLE_STATE_TESTING: N_("testing"),
    onboarding_pb2.LIFECYCLE_STATE_ACTIVE: N_("active"),
    onboarding_pb2.LIFECYCLE_STATE_SUSPENDED: N_("suspended"),
    onboarding_pb2.LIFECYCLE_STATE_RETIRED: N_("retired"),
}
PROGRAMME = {
    common_pb2.PROGRAMME_STATE_ACTIVE: N_("in force"),
    common_pb2.PROGRAMME_STATE_NOTICE_OF_SUSPENSION: N_("notice of suspension"),
    common_pb2.PROGRAMME_STATE_SUSPENDED: N_("suspended"),
}


def partners(api: Any) -> Iterator[admin_pb2.Partner]:
    """Every registered partner, page after page."""
    token = ""
    while True:
        page = api.admin.ListPartners(
            admin_pb2.ListPartnersRequest(page_size=200, page_token=token)
        )
        yield from page.partners
        token = page.next_page_token
        if not token:
            return


def lifecycles(api: Any) -> dict[str, onboarding_pb2.PartnerLifecycle]:
    found = api.onboarding.ListPartnerLifecycles(onboarding_pb2.ListPartnerLifecyclesRequest())
    return {code(life.name): life for life in found.lifecycles}


def code(name: str) -> str:
    """ "partners/SG" (or "partners/SG/lifecycle") -> "SG"."""
    parts = name.split("/")
    return parts[1] if len(parts) > 1 else name


def calendar_date(value: Any) -> date | None:
    """A google.type.Date; None when unset."""
    if not value.year:
        return None
    return date(value.year, value.month or 1, value.day or 1)


def mra_in_force(partner: admin_pb2.Partner, now: datetime) -> bool:
    in_force = calendar_date(partner.mra.in_force)
    return in_force is not None and in_force <= now.date()
