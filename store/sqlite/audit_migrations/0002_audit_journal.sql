-- How far the sequencer has moved each journal's events into the log
-- (store/journal): updated in the transaction that inserts them, so each
-- queued event enters the log exactly once.
CREATE TABLE audit_journal (
    journal     TEXT PRIMARY KEY,
    segment     INTEGER NOT NULL,
    byte_offset INTEGER NOT NULL
) STRICT;
