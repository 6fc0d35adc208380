-- Operators a full snapshot left out. A row opens when a snapshot of the administration does
-- not name an operator it had sent before (absent_from: the snapshot's issued_at; message_id
-- and sequence: that snapshot) and closes when a later message names the operator again
-- (present_again, never before absent_from). Rows are only ever inserted and closed, so the
-- answer as of any past time stays what it was; record_versions is untouched.
CREATE TABLE record_absences (
    administration TEXT NOT NULL,
    identifier TEXT NOT NULL,
    absent_from BIGINT NOT NULL,
    message_id TEXT NOT NULL,
    sequence BIGINT NOT NULL,
    present_again BIGINT,
    PRIMARY KEY (administration, identifier, absent_from, message_id)
){without_rowid};

-- The open absences: whether a partner has any (the ingest hot path asks once per group),
-- which of a message's operators are absent, and the reconciliation's current set.
CREATE INDEX record_absences_open ON record_absences (administration, identifier)
    WHERE present_again IS NULL;
