-- Partners' message-signing keys registered through KeyManagementService (or announced by the
-- partner, signed with its previous key), and validity windows set on keys of partner files
-- (a retirement): merged over the files' keys on every directory load. One row per partner and
-- key id; a retirement replaces the row's not_after. public_key empty: the row only sets the
-- window of the file's key of that id. Times in microseconds since the epoch.
CREATE TABLE partner_signing_keys (
    partner TEXT NOT NULL,
    key_id TEXT NOT NULL,
    algorithm TEXT NOT NULL,
    public_key TEXT NOT NULL,
    not_before BIGINT,
    not_after BIGINT,
    source TEXT NOT NULL,
    actor TEXT NOT NULL,
    recorded_at BIGINT NOT NULL,
    PRIMARY KEY (partner, key_id)
);

-- The gateway's own signing keys put in force by RotateGatewaySigningKey, in order: the last
-- is the one in force (over the settings' signing_key) after a restart. The private key stays
-- in its file; only where it is, and the public key, are stored.
CREATE TABLE gateway_signing_keys (
    id {serial},
    key_id TEXT NOT NULL UNIQUE,
    algorithm TEXT NOT NULL,
    key_file TEXT NOT NULL,
    public_key TEXT NOT NULL,
    actor TEXT NOT NULL,
    activated_at BIGINT NOT NULL
);
