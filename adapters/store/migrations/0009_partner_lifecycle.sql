-- Partner onboarding (issue 10). partner_lifecycle: each partner's history, append-only, never
-- updated: kind transition (state: the state entered) or test (a test message exchanged in
-- direction inbound or outbound; passed 1 when it verified; state: the state it ran in). The
-- current state is derived from the rows in id order. actor: the caller's certificate subject
-- or the CLI user. entry_id: unique per event, so a retried transaction records it once.
CREATE TABLE partner_lifecycle (
    id {serial},
    entry_id TEXT NOT NULL UNIQUE,
    partner TEXT NOT NULL,
    kind TEXT NOT NULL,
    state TEXT NOT NULL,
    actor TEXT NOT NULL,
    reason TEXT NOT NULL,
    at BIGINT NOT NULL,
    direction TEXT,
    passed INTEGER NOT NULL,
    detail TEXT NOT NULL
);

-- Partners created through Admin (OnboardPartner with a definition): the TOML text, as a
-- partner file would hold it, for every replica's directory.
CREATE TABLE partner_definitions (
    partner TEXT PRIMARY KEY,
    definition {blob} NOT NULL,
    actor TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);

-- The trust material a stored definition names (CA certificates, signing public keys), by the
-- name the definition gives it.
CREATE TABLE partner_attachments (
    partner TEXT NOT NULL,
    name TEXT NOT NULL,
    content {blob} NOT NULL,
    PRIMARY KEY (partner, name)
);
