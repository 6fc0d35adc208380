-- Declaration outcomes (facilitation tracking): one row per declaration and reporter (the home
-- administration, or a partner abroad), never updated: a duplicate declaration id changes
-- nothing. Times in microseconds; release_minutes (arrival to release, rounded down) is its own
-- column so reports group by it in SQL (a histogram) rather than reading rows. Booleans are
-- 0/1 integers, which both databases sum.
CREATE TABLE outcomes (
    reporter TEXT NOT NULL,
    declaration_id TEXT NOT NULL,
    declared_code TEXT NOT NULL,
    operator TEXT NOT NULL,
    direction TEXT NOT NULL,
    mode TEXT NOT NULL,
    arrived_at BIGINT NOT NULL,
    released_at BIGINT NOT NULL,
    release_minutes BIGINT NOT NULL,
    document_review INTEGER NOT NULL,
    inspected INTEGER NOT NULL,
    jurisdiction TEXT NOT NULL,
    partner TEXT NOT NULL,
    administration TEXT NOT NULL,
    grade TEXT NOT NULL,
    aeo INTEGER NOT NULL,
    before_recognition INTEGER NOT NULL,
    reason TEXT NOT NULL,
    PRIMARY KEY (reporter, declaration_id)
){without_rowid};
-- A report reads one period: every outcome in it (arrived_at), or one partner's and the home
-- grades' (partner, arrived_at).
CREATE INDEX outcomes_arrived ON outcomes (arrived_at);
CREATE INDEX outcomes_partner_arrived ON outcomes (partner, arrived_at);
-- A partner's baseline as totals over a span, where it reports no single declarations.
CREATE TABLE outcome_aggregates (
    reporter TEXT NOT NULL,
    direction TEXT NOT NULL,
    start_at BIGINT NOT NULL,
    end_at BIGINT NOT NULL,
    declarations BIGINT NOT NULL,
    inspected BIGINT NOT NULL,
    document_reviews BIGINT NOT NULL,
    release_median_hours DOUBLE PRECISION NOT NULL,
    release_mean_hours DOUBLE PRECISION NOT NULL,
    release_p90_hours DOUBLE PRECISION NOT NULL,
    PRIMARY KEY (reporter, direction, start_at, end_at)
){without_rowid};
