"""Errors the gateway reports to its callers.

Each class declares the status a caller receives and a stable machine-readable reason. The
status is named here as a plain enum so the core stays free of grpc; gateway.api.errors maps it
to gRPC in one place, and a test fails when a class is left unmapped.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping
from enum import Enum


class Status(Enum):
    """The subset of gRPC status codes the gateway uses, by their gRPC names."""

    INVALID_ARGUMENT = "INVALID_ARGUMENT"
    NOT_FOUND = "NOT_FOUND"
    ALREADY_EXISTS = "ALREADY_EXISTS"
    PERMISSION_DENIED = "PERMISSION_DENIED"
    UNAUTHENTICATED = "UNAUTHENTICATED"
    RESOURCE_EXHAUSTED = "RESOURCE_EXHAUSTED"
    FAILED_PRECONDITION = "FAILED_PRECONDITION"
    UNAVAILABLE = "UNAVAILABLE"
    INTERNAL = "INTERNAL"


class GatewayError(Exception):
    """Base of every error a caller may see. Subclasses set status and reason."""

    status: Status = Status.INTERNAL
    reason: str = "internal"
    #: Transient errors may be retried by the caller (and by the gateway's own outbound calls).
    transient: bool = False

    def __init__(self, message: str, **metadata: str) -> None:
        # Bounded whatever a caller sent, so an error always fits in a gRPC status.
        message = _clip(message, MAX_MESSAGE)
        super().__init__(message)
        self.message = message
        self.metadata: Mapping[str, str] = {k: _clip(v, MAX_VALUE) for k, v in metadata.items()}


#: Longest error message and ErrorInfo metadata value sent to a caller, in characters.
MAX_MESSAGE = 1024
MAX_VALUE = 128


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else f"{text[: limit - 24]}… ({len(text)} characters)"


def shown(value: object, limit: int = 64) -> str:
    """A caller-supplied value as echoed in an error: quoted, and cut to ``limit`` characters
    so that a huge or odd value cannot crowd out the reason."""
    text = repr(value)
    if len(text) <= limit:
        return text
    size = f" ({len(value)} characters)" if isinstance(value, str | bytes) else ""
    return f"{text[:limit]}…{size}"


# --- caller identity and authorisation ---------------------------------------------------------


class NoClientIdentity(GatewayError):
    status = Status.UNAUTHENTICATED
    reason = "auth.no_client_identity"


class RoleNotPermitted(GatewayError):
    status = Status.PERMISSION_DENIED
    reason = "auth.role_not_permitted"


class ReadOnlyRole(GatewayError):
    """A viewer (or the console acting for one) called a method that changes something:
    viewers may read everything admins may read, and change nothing."""

    status = Status.PERMISSION_DENIED
    reason = "role.read_only"


# --- the admin console acting for its user (metadata aeo-console-user-bin) ---------------------


class ConsoleUserMissing(GatewayError):
    """A console certificate called the gateway's own services without forwarding the user it
    acts for: the console itself may call nothing but health checking and reflection."""

    status = Status.PERMISSION_DENIED
    reason = "console.user_missing"


class ConsoleUserInvalid(GatewayError):
    """The forwarded user certificate is not one DER certificate issued directly by the home
    CA (garbled, several, a partner's, self-made)."""

    status = Status.UNAUTHENTICATED
    reason = "console.user_invalid"


class ConsoleUserExpired(GatewayError):
    """The forwarded user certificate is outside its validity now (checked on every call)."""

    status = Status.UNAUTHENTICATED
    reason = "console.user_expired"


class ConsoleUserRoleNotPermitted(GatewayError):
    """The forwarded user certificate is the home CA's but carries neither the admin nor the
    viewer role: the console acts for admins and viewers only."""

    status = Status.PERMISSION_DENIED
    reason = "console.user_role_not_permitted"


class PartnerImpersonation(GatewayError):
    """A partner's certificate submits a message on behalf of another administration."""

    status = Status.PERMISSION_DENIED
    reason = "partner.impersonation"


class PartnerNotRegistered(GatewayError):
    status = Status.PERMISSION_DENIED
    reason = "partner.not_registered"


class TooManyCalls(GatewayError):
    """The client already has as many calls in flight as one client may (see docs/operations.md);
    retry when some have finished."""

    status = Status.RESOURCE_EXHAUSTED
    reason = "client.too_many_calls"
    transient = True


class TooManyRefusals(GatewayError):
    """The client's recent calls were refused faster than one client may have them refused
    (``max_refusals_per_second_per_client``): a forged or broken message costs the gateway its
    whole check, so a client sending them is slowed down before it costs the others theirs.
    Refused before anything of the call is read; retry later, with well-formed messages."""

    status = Status.RESOURCE_EXHAUSTED
    reason = "client.too_many_refusals"
    transient = True


class MalformedRequest(GatewayError):
    """The request is not a well-formed message of the method's request type."""

    status = Status.INVALID_ARGUMENT
    reason = "request.malformed"


# --- message authenticity ----------------------------------------------------------------------


class SignatureInvalid(GatewayError):
    status = Status.UNAUTHENTICATED
    reason = "signature.invalid"


class UnknownSigningKey(GatewayError):
    status = Status.UNAUTHENTICATED
    reason = "signature.unknown_key"


class AlgorithmNotPinned(GatewayError):
    status = Status.UNAUTHENTICATED
    reason = "signature.algorithm_not_pinned"


class KeyMaterialOffered(GatewayError):
    """The message offers its own key or certificate, or points to one elsewhere (XML-DSig
    KeyValue or X509Data, JWS jwk, jku, x5c or x5u): keys come from the registry only."""

    status = Status.UNAUTHENTICATED
    reason = "signature.key_material_offered"


class SignatureLayoutInvalid(GatewayError):
    """The signature is not laid out as the format requires: more than one, a reference to
    anything but the document the gateway reads, a transform or canonicalisation not allowed,
    a JWS in JSON serialization."""

    status = Status.UNAUTHENTICATED
    reason = "signature.layout_invalid"


class SigningKeyNotValid(GatewayError):
    """The key is registered but outside its validity period at the message's issue time."""

    status = Status.UNAUTHENTICATED
    reason = "signature.key_not_valid"


# --- message content ---------------------------------------------------------------------------


class UnsupportedWireFormat(GatewayError):
    status = Status.INVALID_ARGUMENT
    reason = "payload.format_unsupported"


class MalformedPayload(GatewayError):
    status = Status.INVALID_ARGUMENT
    reason = "payload.malformed"


class UnsafePayload(GatewayError):
    """A construct no status message needs and attacks use: a DTD, an entity, XInclude, a
    processing instruction, nesting deeper than the format allows."""

    status = Status.INVALID_ARGUMENT
    reason = "payload.unsafe"


class SchemaViolation(GatewayError):
    """Well-formed, signed, but not a status document of the format's schema (the XSD shipped
    with the gateway, or the JSON document's structure); the detail names the place."""

    status = Status.INVALID_ARGUMENT
    reason = "payload.schema_invalid"


class PayloadTooLarge(GatewayError):
    status = Status.RESOURCE_EXHAUSTED
    reason = "payload.too_large"


class TooManyRecords(GatewayError):
    status = Status.INVALID_ARGUMENT
    reason = "batch.too_many_records"


class IssuedAtOutsideWindow(GatewayError):
    status = Status.INVALID_ARGUMENT
    reason = "batch.issued_at_out_of_window"


class SequenceReused(GatewayError):
    """A different message already used this sequence number."""

    status = Status.ALREADY_EXISTS
    reason = "batch.sequence_reused"


# --- queries and administration ----------------------------------------------------------------


class InvalidQuery(GatewayError):
    status = Status.INVALID_ARGUMENT
    reason = "query.invalid"


class TooManyCodes(GatewayError):
    status = Status.INVALID_ARGUMENT
    reason = "query.too_many_codes"


class PartnerNotFound(GatewayError):
    status = Status.NOT_FOUND
    reason = "partner.not_found"


class InvalidPageToken(GatewayError):
    status = Status.INVALID_ARGUMENT
    reason = "request.invalid_page_token"


class DefinitionInvalid(GatewayError):
    """A partner or home definition fails validation; metadata names the file and the field.
    On reload, the definitions in force stay in force."""

    status = Status.FAILED_PRECONDITION
    reason = "directory.definition_invalid"


# --- the home AEO registry ---------------------------------------------------------------------


class EnterpriseCodeInvalid(GatewayError):
    """Not a home enterprise code in any form a trader writes it (``0123456789``,
    ``CN0123456789``, ``AEOCN0123456789``)."""

    status = Status.INVALID_ARGUMENT
    reason = "enterprise.code_invalid"


class EnterpriseUnknown(GatewayError):
    """The first change recorded for an enterprise does not name it."""

    status = Status.NOT_FOUND
    reason = "enterprise.unknown"


class GradeNotInScheme(GatewayError):
    """The grade is not one of the grade scheme in force on the change's effective day;
    metadata names the scheme and its grades."""

    status = Status.INVALID_ARGUMENT
    reason = "grade.not_in_scheme"


class NoGradeSchemeInForce(GatewayError):
    """No home grade scheme was in force on the change's effective day."""

    status = Status.INVALID_ARGUMENT
    reason = "grade_scheme.none_in_force"


class GradeChangeTooFarAhead(GatewayError):
    """The change takes effect more than a day after the gateway's clock."""

    status = Status.INVALID_ARGUMENT
    reason = "grade_change.too_far_ahead"


class GradeChangeInvalid(GatewayError):
    """A field of the change cannot be stored (no time, a time zone missing, control
    characters, too long); metadata names the field."""

    status = Status.INVALID_ARGUMENT
    reason = "grade_change.field_invalid"


# --- infrastructure ----------------------------------------------------------------------------


class _Referenced(GatewayError):
    """An error whose details stay in the log: the caller gets a reference to quote."""

    @classmethod
    def referenced(cls, what: str) -> _Referenced:
        reference = uuid.uuid4().hex
        return cls(
            f"{what}; quote reference {reference} to the gateway's operators",
            correlation_id=reference,
        )

    @property
    def reference(self) -> str:
        return self.metadata["correlation_id"]


class StoreUnavailable(_Referenced):
    """The database cannot be reached or is busy; retrying later may succeed."""

    status = Status.UNAVAILABLE
    reason = "store.unavailable"
    transient = True


class StoreRejected(_Referenced):
    """The database refused this message's writes for a reason retrying cannot change (an
    integrity or data error). The message fails alone; the rest of its group commits."""

    status = Status.INTERNAL
    reason = "store.rejected"


class InternalError(_Referenced):
    """Anything unexpected. The caller gets the correlation id; the log has the rest."""

    status = Status.INTERNAL
    reason = "internal"


class ShuttingDown(GatewayError):
    status = Status.UNAVAILABLE
    reason = "server.shutting_down"
    transient = True


def all_error_classes() -> list[type[GatewayError]]:
    """Every concrete error class (the base excluded), for the mapping test and the docs."""
    found: list[type[GatewayError]] = []
    pending: list[type[GatewayError]] = list(GatewayError.__subclasses__())
    pending.remove(_Referenced)
    pending.extend(_Referenced.__subclasses__())
    while pending:
        cls = pending.pop()
        found.append(cls)
        pending.extend(cls.__subclasses__())
    return found


# --- programme states and the change feed ------------------------------------------------------


class InvalidProgrammeState(GatewayError):
    """A programme state an administrator asked for cannot be recorded: no state, no reason
    (or one too long, or with control characters), or a notice period out of bounds."""

    status = Status.INVALID_ARGUMENT
    reason = "programme.invalid_state"


class ProgrammeAlreadySuspended(GatewayError):
    """Notice of suspension given to a programme already suspended: the notice would lift the
    suspension until it ran out. Resume the programme first."""

    status = Status.FAILED_PRECONDITION
    reason = "programme.already_suspended"


class InvalidCursor(GatewayError):
    """A change-feed cursor that no change could have (negative)."""

    status = Status.INVALID_ARGUMENT
    reason = "changes.invalid_cursor"


# --- facilitation ------------------------------------------------------------------------------


class OutcomeInvalid(GatewayError):
    """A declaration outcome that cannot be recorded: no or an overlong declaration id, a
    missing direction, a time missing, without a zone or out of range (metadata: field)."""

    status = Status.INVALID_ARGUMENT
    reason = "outcome.invalid"


class ReleaseBeforeArrival(GatewayError):
    """A declaration outcome released before its goods arrived: no release time to measure."""

    status = Status.INVALID_ARGUMENT
    reason = "outcome.release_before_arrival"


class PeriodInvalid(GatewayError):
    """A report period that is not a year ("2026"), a quarter ("2026Q3") or a month
    ("2026-07")."""

    status = Status.INVALID_ARGUMENT
    reason = "report.period_invalid"


# --- certificates and keys (issue 10) ----------------------------------------------------------


class CertificateRevoked(GatewayError):
    """The caller's TLS certificate, or a CA certificate in its chain, is on its issuer's CRL:
    refused on every call although the TLS handshake succeeded."""

    status = Status.UNAUTHENTICATED
    reason = "certificate.revoked"


class CertificateExpired(GatewayError):
    """A certificate of the caller's chain is outside its validity (checked on every call: a
    connection opened before a certificate expired outlives it)."""

    status = Status.UNAUTHENTICATED
    reason = "certificate.expired"


class KeyAlgorithmMismatch(GatewayError):
    """A signing key whose algorithm differs from the one pinned for its key id, or whose PEM
    is not a key of the algorithm given."""

    status = Status.INVALID_ARGUMENT
    reason = "key.algorithm_mismatch"


class KeyAlreadyRegistered(GatewayError):
    """A different key is already registered under this key id for the partner."""

    status = Status.ALREADY_EXISTS
    reason = "key.already_registered"


class KeyNotFound(GatewayError):
    """No key with this id is registered for the partner."""

    status = Status.NOT_FOUND
    reason = "key.not_found"


class KeyWindowInvalid(GatewayError):
    """A key's validity window is empty or malformed (not_after before not_before)."""

    status = Status.INVALID_ARGUMENT
    reason = "key.window_invalid"


class LastValidKey(GatewayError):
    """The retirement would leave the partner with no key valid now or in the future."""

    status = Status.FAILED_PRECONDITION
    reason = "key.last_valid_key"


class GatewayKeyInvalid(GatewayError):
    """A new gateway signing key (or TLS certificate) that cannot be used: unreadable, not of
    the algorithm given, an id already used, or a certificate that does not match its key."""

    status = Status.INVALID_ARGUMENT
    reason = "key.gateway_key_invalid"


class KeyAnnouncementInvalid(GatewayError):
    """A partner's announcement of its new signing key that does not verify under a key the
    partner has registered, or names another partner."""

    status = Status.UNAUTHENTICATED
    reason = "key.announcement_invalid"


# --- consent, data protection and retention (docs/data-protection.md) -------------------------


class ConsentInvalid(GatewayError):
    """A consent decision that cannot be recorded: no state, no actor, or an overlong or
    unprintable actor or reason (metadata: field)."""

    status = Status.INVALID_ARGUMENT
    reason = "consent.invalid"


class ConsentNotRequired(GatewayError):
    """Consent recorded for a partner whose terms do not ask for it (its data_protection
    table has no consent_required = true): the decision would have no effect."""

    status = Status.FAILED_PRECONDITION
    reason = "consent.not_required"


class MessagePurged(GatewayError):
    """The raw bytes of a message were purged at the end of its partner's retention: what
    needed them (a re-drive, an export) cannot be done; its digest and receipt data remain."""

    status = Status.FAILED_PRECONDITION
    reason = "message.purged"


# --- partner onboarding lifecycle (issue 10) ---------------------------------------------------


class LifecycleTransitionInvalid(GatewayError):
    """The partner's lifecycle state does not allow the step asked for (metadata ``from_state``
    and ``to_state``)."""

    status = Status.FAILED_PRECONDITION
    reason = "lifecycle.transition_invalid"


class InvalidLifecycleReason(GatewayError):
    """A lifecycle step's reason is missing (retire), too long or has control characters."""

    status = Status.INVALID_ARGUMENT
    reason = "lifecycle.invalid_reason"


class PartnerNotActive(GatewayError):
    """A status message from a partner that is not active (draft, configured, testing or
    retired): nothing of it is stored."""

    status = Status.FAILED_PRECONDITION
    reason = "partner.not_active"


class PartnerNotInTesting(GatewayError):
    """A test message from a partner that is neither in testing nor active."""

    status = Status.FAILED_PRECONDITION
    reason = "partner.not_in_testing"


class PartnerExists(GatewayError):
    """OnboardPartner for a code that is defined already (by a file or through Admin) or was
    onboarded before."""

    status = Status.ALREADY_EXISTS
    reason = "onboarding.partner_exists"


class OnboardingTestIncomplete(GatewayError):
    """ActivatePartner before a test message verified in both directions since the partner
    entered testing (metadata ``missing``: inbound, outbound or both)."""

    status = Status.FAILED_PRECONDITION
    reason = "onboarding.test_incomplete"


class NoTrustAnchor(GatewayError):
    """The partner has no CA for its TLS client certificates: it cannot be configured or
    activated."""

    status = Status.FAILED_PRECONDITION
    reason = "onboarding.no_trust_anchor"


class NoValidSigningKey(GatewayError):
    status = Status.FAILED_PRECONDITION
    reason = "onboarding.no_valid_signing_key"


class NoOutboundEndpoint(GatewayError):
    """No ``[outbound]`` endpoint, or none with a server CA: nothing could be sent to it."""

    status = Status.FAILED_PRECONDITION
    reason = "onboarding.no_endpoint"


class OutboundFormatNotAccepted(GatewayError):
    status = Status.FAILED_PRECONDITION
    reason = "onboarding.wire_format_not_accepted"


class MappingIncomplete(GatewayError):
    """The mapping is empty or names a tier or home grade that does not exist."""

    status = Status.FAILED_PRECONDITION
    reason = "onboarding.mapping_invalid"


class DefinitionRejected(GatewayError):
    """A definition given to OnboardPartner does not pass the rules partner files pass."""

    status = Status.INVALID_ARGUMENT
    reason = "onboarding.definition_invalid"


# --- tamper-evident audit log (docs/audit.md) ---------------------------------------------------


class AuditMessageUnknown(GatewayError):
    """An evidence export for a message id the audit log has no entry for."""

    status = Status.NOT_FOUND
    reason = "audit.message_unknown"


class AuditEntryUnknown(GatewayError):
    """GetAuditEntry at a position the audit log has no entry for."""

    status = Status.NOT_FOUND
    reason = "audit.entry_unknown"


class AuditFilterInvalid(GatewayError):
    """ListAuditEntries with an unknown kind or a time range that ends before it starts."""

    status = Status.INVALID_ARGUMENT
    reason = "audit.filter_invalid"
