"""The console's pages as the browser tests visit them: the contract's URLs, and which of them
are built on branches not merged yet."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime

import pytest

from tests.browser.conftest import SG_OPERATOR

_TODAY = datetime.now(UTC).date()
_MONTH = f"start={_TODAY.replace(day=1).isoformat()}&end={_TODAY.isoformat()}"

#: Every page a user reads (GET), by a short name.
READ = {
    "overview": "/",
    "preferences": "/preferences?next=/",
    "audit": "/audit",
    "audit-entry": "/audit/1",
    "audit-verify": "/audit/verify",
    "lookup": "/lookup",
    "lookup-answer": f"/lookup?code={SG_OPERATOR}&direction=import",
    "facilitation": "/facilitation",
    "facilitation-report": f"/facilitation?{_MONTH}",
    "error": "/audit/999999",
    "partner": "/partners/SG",
    "partner-new": "/partners/new",
    "partner-confirm": "/partners/SG/suspend",
}
#: The pages with a form a user fills in, and where the form is.
FORMS = {
    "preferences": ("/preferences?next=/", "main form[action='/preferences']"),
    "audit": ("/audit", "main form.audit-filter"),
    "audit-verify": ("/audit/verify", "main form[action='/audit/verify']"),
    "lookup": ("/lookup", "main form[action='/lookup']"),
    "facilitation": ("/facilitation", "main form[action='/facilitation']"),
    "partner-new": ("/partners/new", "main form[action='/partners/new']"),
    "partner-confirm": ("/partners/SG/suspend", "main form:has(#confirm)"),
}


def cases(names: Iterable[str]) -> list[object]:
    """pytest parameters of ``names``, each named by its page."""
    return [pytest.param(name, id=name) for name in names]
