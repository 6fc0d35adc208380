-- The transactional outbox: one row per home AEO change and partner it concerns, written in the
-- transaction of the change itself, so a change is never stored without being queued nor queued
-- without being stored. id orders a partner's changes; message_sequence is set when the row is
-- sealed into an outbound message.
CREATE TABLE outbox (
    id {serial},
    partner TEXT NOT NULL,
    identifier TEXT NOT NULL,
    version BIGINT NOT NULL,
    queued_at BIGINT NOT NULL,
    message_sequence BIGINT
);

-- What is still to be sealed, per partner, in order.
CREATE INDEX outbox_unsealed ON outbox (partner, id) WHERE message_sequence IS NULL;

-- Messages sealed for partners, byte for byte, numbered per partner (the gateway's outbound
-- sequence). A resend after a crash sends the same bytes, which the partner's gateway
-- recognises as a duplicate. state: sending (until a valid signed receipt for these very bytes
-- settles it), settled (the receipt is kept as evidence) or dead (older than the age limit;
-- an admin may re-drive it). Age counts from age_from: sealing, the last re-drive (a new age
-- window), or the last time delivery found the partner not deliverable (paused, MRA not in
-- force, no endpoint), so that time does not count.
CREATE TABLE outbound_messages (
    partner TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    state TEXT NOT NULL,
    wire_format TEXT NOT NULL,
    payload {blob} NOT NULL,
    digest {blob} NOT NULL,
    key_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    signature {blob} NOT NULL,
    records INTEGER NOT NULL,
    queued_at BIGINT NOT NULL,
    age_from BIGINT NOT NULL,
    sealed_at BIGINT NOT NULL, -- the last sealing (a reseal issues the same changes anew)
    first_sealed_at BIGINT NOT NULL, -- never changes: it orders ListOutboundMessages' pages
    attempts INTEGER NOT NULL DEFAULT 0,
    next_attempt_at BIGINT NOT NULL,
    last_error TEXT NOT NULL DEFAULT '',
    settled_at BIGINT,
    dead_at BIGINT,
    peer_message_id TEXT,
    receipt {blob},
    receipt_signature {blob},
    receipt_key_id TEXT,
    receipt_algorithm TEXT,
    PRIMARY KEY (partner, sequence)
);

-- The messages in flight, per partner, in order.
CREATE INDEX outbound_messages_sending ON outbound_messages (partner, sequence)
    WHERE state = 'sending';

-- Dead letters per partner: counted for PartnerState without reading what was settled.
CREATE INDEX outbound_messages_dead ON outbound_messages (partner, sequence)
    WHERE state = 'dead';
