"""ConsentService: operators' consent to the exchange of their data with a partner."""

from __future__ import annotations

import grpc

from gateway import protomap
from gateway.api import pages
from gateway.api.auth import current
from gateway.api.convert import PARTNER_PREFIX, partner_code
from gateway.app.consent import ConsentLog, RecordConsent
from gateway.domain.consent import ConsentDecision, ConsentEntry, ConsentState
from gateway.domain.errors import ConsentInvalid, InvalidPageToken, PartnerNotFound
from gateway.domain.home_registry import enterprise_identifier
from gateway.pb import consent_pb2, consent_pb2_grpc

STATE_FROM_PB = {
    consent_pb2.CONSENT_STATE_GRANTED: ConsentState.GRANTED,
    consent_pb2.CONSENT_STATE_WITHDRAWN: ConsentState.WITHDRAWN,
}
STATE_TO_PB = {v: k for k, v in STATE_FROM_PB.items()}
_CURRENT, _HISTORY = "consents", "consent-history"
EVERY_PARTNER = "-"


def consent_to_pb(entry: ConsentEntry) -> consent_pb2.OperatorConsent:
    return consent_pb2.OperatorConsent(
        partner=PARTNER_PREFIX + entry.partner,
        identifier=entry.identifier,
        state=STATE_TO_PB[entry.state],
        recorded_at=protomap.timestamp(entry.recorded_at),
        actor=entry.actor,
        reason=entry.reason,
    )


class ConsentServicer(consent_pb2_grpc.ConsentServiceServicer):
    def __init__(self, record: RecordConsent, log: ConsentLog) -> None:
        self._record = record
        self._log = log

    def RecordOperatorConsent(
        self, request: consent_pb2.RecordOperatorConsentRequest, context: grpc.ServicerContext
    ) -> consent_pb2.RecordOperatorConsentResponse:
        state = STATE_FROM_PB.get(request.state)
        if state is None:
            raise ConsentInvalid("state must be GRANTED or WITHDRAWN", field="state")
        principal = current().principal
        decision = ConsentDecision(
            partner=partner_code(request.partner),
            enterprise_code=request.enterprise_code,
            state=state,
            actor=request.actor or principal.subject or principal.role.value,
            reason=request.reason,
        )
        result = self._record(decision, current().directory)
        return consent_pb2.RecordOperatorConsentResponse(
            consent=consent_to_pb(result.entry),
            changed=result.changed,
            queued_version=result.queued.version if result.queued is not None else 0,
        )

    def ListOperatorConsents(
        self, request: consent_pb2.ListOperatorConsentsRequest, context: grpc.ServicerContext
    ) -> consent_pb2.ListOperatorConsentsResponse:
        directory = current().directory
        partner = None
        if request.partner:
            code = partner_code(request.partner)
            if code != EVERY_PARTNER:
                if code not in directory.partners:
                    raise PartnerNotFound(f"no partner {PARTNER_PREFIX}{code} is registered")
                partner = code
        identifier = None
        if request.enterprise_code:
            identifier = enterprise_identifier(directory.home, request.enterprise_code)
        size = pages.page_size(request.page_size)
        response = consent_pb2.ListOperatorConsentsResponse()
        if request.history:
            before = pages.cursor(_HISTORY, request.page_token) or None
            found = self._log.history(partner, identifier, before, size + 1)
            response.consents.extend(consent_to_pb(e) for _, e in found[:size])
            if len(found) > size:
                response.next_page_token = pages.token(_HISTORY, str(found[size - 1][0]))
            return response
        after = _after(pages.position(_CURRENT, request.page_token))
        current_states = self._log.current(partner, identifier, after, size + 1)
        response.consents.extend(consent_to_pb(e) for e in current_states[:size])
        if len(current_states) > size:
            last = current_states[size - 1]
            response.next_page_token = pages.token(_CURRENT, f"{last.partner}/{last.identifier}")
        return response


def _after(position: str | None) -> tuple[str, str] | None:
    if position is None:
        return None
    partner, slash, identifier = position.partition("/")
    if not slash or not partner or not identifier:
        raise InvalidPageToken("page_token is not one this gateway issued")
    return partner, identifier
