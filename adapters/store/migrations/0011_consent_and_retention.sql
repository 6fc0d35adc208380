-- Per-operator consent to the exchange of its data with a partner that asks for it (the EU):
-- every decision, never updated; an operator's current state with a partner is its latest
-- entry (highest id). entry_id: unique per decision, so a retried transaction stores it once.
CREATE TABLE operator_consents (
    id {serial},
    entry_id TEXT NOT NULL UNIQUE,
    partner TEXT NOT NULL,
    identifier TEXT NOT NULL,
    state TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL
);

-- An operator's decisions with a partner, latest first.
CREATE INDEX operator_consents_by_operator ON operator_consents (partner, identifier, id);

-- Retention: when the raw bytes of a message were purged (NULL: still held). Purging empties
-- the payload, signature and (outbound) the partner's receipt bytes; the digest, sequence,
-- ids, key ids and times stay for reconciliation and the audit chain.
ALTER TABLE messages ADD COLUMN purged_at BIGINT;
ALTER TABLE outbound_messages ADD COLUMN purged_at BIGINT;

-- What a purge still has to look at, per partner, oldest first.
CREATE INDEX messages_unpurged ON messages (partner, received_at) WHERE purged_at IS NULL;
CREATE INDEX outbound_messages_unpurged ON outbound_messages (partner, sequence)
    WHERE purged_at IS NULL AND state <> 'sending';
ALTER TABLE outcome_reports ADD COLUMN purged_at BIGINT;
CREATE INDEX outcome_reports_unpurged ON outcome_reports (reporter, received_at)
    WHERE purged_at IS NULL;
