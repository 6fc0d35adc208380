-- When each partner's last message arrived: answers say how fresh a partner's data is.
ALTER TABLE partner_sequences ADD COLUMN last_received_at BIGINT;

-- Domain events, written in the transaction that caused them. The cursor is monotonic in
-- commit order (writers serialise on SQLite; on PostgreSQL they take a lock before appending).
-- A record version applied fills the typed columns (one row per record, on the ingest hot path);
-- rarer events keep their details as JSON in body.
CREATE TABLE changes (
    cursor {serial},
    recorded_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    administration TEXT NOT NULL,
    subject TEXT NOT NULL,
    version BIGINT,
    status TEXT,
    event TEXT,
    effective_at BIGINT,
    message_id TEXT,
    body TEXT
);

UPDATE partner_sequences SET last_received_at = (
    SELECT MAX(received_at) FROM messages WHERE messages.partner = partner_sequences.partner
);
