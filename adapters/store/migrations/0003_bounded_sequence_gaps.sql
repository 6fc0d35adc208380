-- Open sequence gaps are bounded (the max_open_gaps setting): when a partner's gaps exceed it,
-- the oldest are written off, needs_snapshot is set (1) until a snapshot message arrives, and
-- written_off counts the sequence numbers given up since the last snapshot. Rows stored before
-- this migration keep their gaps until the partner's next message trims them to the bound.
ALTER TABLE partner_sequences ADD COLUMN needs_snapshot INTEGER NOT NULL DEFAULT 0;
ALTER TABLE partner_sequences ADD COLUMN written_off BIGINT NOT NULL DEFAULT 0;
