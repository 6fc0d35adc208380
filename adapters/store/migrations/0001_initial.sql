-- Times are microseconds since the epoch, UTC; calendar dates are ISO text.

-- Every message received, byte for byte, with the receipt the gateway returned: the audit log.
CREATE TABLE messages (
    partner TEXT NOT NULL,
    digest {blob} NOT NULL,
    message_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    kind TEXT NOT NULL,
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
    PRIMARY KEY (partner, digest),
    UNIQUE (partner, sequence)
);

-- Every version of every operator's record; never updated, so any past state can be answered.
CREATE TABLE record_versions (
    administration TEXT NOT NULL,
    identifier TEXT NOT NULL,
    version BIGINT NOT NULL,
    effective_at BIGINT NOT NULL,
    status TEXT NOT NULL,
    event TEXT NOT NULL,
    tier TEXT NOT NULL,
    name TEXT NOT NULL,
    address TEXT NOT NULL,
    authorised_from TEXT,
    valid_until TEXT,
    suspended_on TEXT,
    revoked_on TEXT,
    consent_withdrawn INTEGER NOT NULL,
    message_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    received_at BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    PRIMARY KEY (administration, identifier, version)
){without_rowid};

-- Per-partner sequence tracking: the highest number seen and the gaps still open (JSON).
CREATE TABLE partner_sequences (
    partner TEXT PRIMARY KEY,
    last_sequence BIGINT NOT NULL,
    gaps TEXT NOT NULL
);
