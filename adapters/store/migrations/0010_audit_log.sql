-- The tamper-evident audit log (docs/audit.md): append-only, hash-chained entries, numbered
-- without gaps from 1; never updated or deleted by the gateway. Hashes and digests are
-- lowercase hex SHA-256; times are microseconds since the epoch, UTC. entry_hash covers every
-- other column and prev_hash (the previous entry's entry_hash; 64 zeros for the first).
CREATE TABLE audit_entries (
    position BIGINT PRIMARY KEY,
    recorded_at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    partner TEXT NOT NULL,
    actor_subject TEXT NOT NULL,
    actor_fingerprint TEXT NOT NULL,
    subject TEXT NOT NULL,
    sequence BIGINT,
    digest TEXT NOT NULL,
    key_id TEXT NOT NULL,
    receipt_digest TEXT NOT NULL,
    detail TEXT NOT NULL,
    prev_hash TEXT NOT NULL,
    entry_hash TEXT NOT NULL
);

-- ListAuditEntries filters by partner or kind, pages by position; export finds a message.
CREATE INDEX audit_entries_partner ON audit_entries (partner, position);
CREATE INDEX audit_entries_kind ON audit_entries (kind, position);
CREATE INDEX audit_entries_subject ON audit_entries (subject, position);

-- The chain's head: one row, locked (FOR UPDATE on PostgreSQL; BEGIN IMMEDIATE on SQLite) by
-- every transaction that appends, so the chain never forks, whatever the replicas.
CREATE TABLE audit_head (
    id INTEGER PRIMARY KEY,
    position BIGINT NOT NULL,
    entry_hash TEXT NOT NULL
);
INSERT INTO audit_head (id, position, entry_hash)
    VALUES (1, 0, '0000000000000000000000000000000000000000000000000000000000000000');

-- Signed checkpoints: the head at a position, signed with the gateway's signing key over the
-- canonical encoding docs/audit.md describes. signature is hex.
CREATE TABLE audit_checkpoints (
    position BIGINT PRIMARY KEY,
    head_hash TEXT NOT NULL,
    signed_at BIGINT NOT NULL,
    key_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    signature TEXT NOT NULL
);
