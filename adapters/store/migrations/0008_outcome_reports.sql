-- Partners' signed outcome reports (PartnerExchangeService.SubmitOutcomeReport), byte for byte,
-- with the receipt the gateway returned: the audit log of what each partner reported, as
-- messages is for status. The same bytes again are answered with the stored receipt.
CREATE TABLE outcome_reports (
    reporter TEXT NOT NULL,
    digest {blob} NOT NULL,
    message_id TEXT NOT NULL,
    issued_at BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    wire_format TEXT NOT NULL,
    key_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    payload {blob} NOT NULL,
    signature {blob} NOT NULL,
    peer TEXT NOT NULL,
    receipt {blob} NOT NULL,
    receipt_signature {blob} NOT NULL,
    receipt_key_id TEXT NOT NULL,
    receipt_algorithm TEXT NOT NULL,
    PRIMARY KEY (reporter, digest)
);
