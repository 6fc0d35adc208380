-- Programme-level states of each partner's mutual recognition, as administrators set them:
-- notice of suspension (suspends_at: when the suspension takes effect by itself), suspended,
-- active again. History, never updated: the state at a time is the latest entry effective then.
-- Few rows (a handful per partner over years): every reader keeps them all in memory.
-- entry_id: unique per decision, so a transaction retried after a commit whose answer was
-- lost stores the decision (and its change event) once.
CREATE TABLE programme_states (
    id {serial},
    entry_id TEXT NOT NULL UNIQUE,
    partner TEXT NOT NULL,
    state TEXT NOT NULL,
    effective_from BIGINT NOT NULL,
    suspends_at BIGINT,
    reason TEXT NOT NULL,
    actor TEXT NOT NULL,
    recorded_at BIGINT NOT NULL
);
