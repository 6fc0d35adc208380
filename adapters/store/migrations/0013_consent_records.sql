-- Consent records (gateway.domain.consent): an outbox row that tells one partner of an
-- operator's consent decision rather than queue a home record version. consent: 'withdrawn' or
-- 'granted' (NULL: an ordinary row, the home record version ``version``). basis: the home
-- record version whose content it carries; ``version`` is the version the partner is sent,
-- above every version it may hold, and no home record version.
ALTER TABLE outbox ADD COLUMN consent TEXT;
ALTER TABLE outbox ADD COLUMN basis BIGINT;

-- The highest consent record version per operator: the home registry numbers above it.
CREATE INDEX outbox_consent_versions ON outbox (identifier, version) WHERE consent IS NOT NULL;

-- A message still in flight that a consent withdrawal took an operator's changes out of: the
-- deliverer reseals it (same sequence, the changes left, possibly none) before it is sent again.
ALTER TABLE outbound_messages ADD COLUMN reseal_due INTEGER NOT NULL DEFAULT 0;
