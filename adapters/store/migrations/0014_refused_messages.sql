-- Partners' status messages the gateway refused (gateway.app.refusals), for the admin console's
-- overview: GetPartnerState counts a partner's last 24 hours and shows its last refusal. Rows
-- older than 30 days are deleted as new ones are written (adapters/store/refusals.py). reason:
-- the error's stable reason ("signature.invalid"); status: its gRPC status name. refused_at:
-- microseconds since the epoch.
CREATE TABLE refused_messages (
    id {serial},
    partner TEXT NOT NULL,
    refused_at BIGINT NOT NULL,
    reason TEXT NOT NULL,
    status TEXT NOT NULL
);

-- A partner's count over a window and its latest refusal.
CREATE INDEX refused_messages_partner_time ON refused_messages (partner, refused_at);
-- Pruning: one range of the oldest rows.
CREATE INDEX refused_messages_time ON refused_messages (refused_at);
