-- The audit log, one row per group commit. leaves holds the batch's events
-- (the canonical JSON the Merkle tree commits to), each as a uvarint length
-- then the bytes; payloads holds what is kept of their payloads (salts, and
-- bytes unless only digests are kept), apart so that it can be erased. The
-- time span lets queries by time skip batches. Times are Unix nanoseconds.

CREATE TABLE audit_batches (
    first    INTEGER PRIMARY KEY,
    count    INTEGER NOT NULL CHECK (count > 0),
    min_time INTEGER NOT NULL,
    max_time INTEGER NOT NULL,
    leaves   BLOB    NOT NULL,
    payloads BLOB
) STRICT;
CREATE INDEX audit_batches_time ON audit_batches (max_time);

-- Stored hashes of the RFC 6962 tree, numbered as golang.org/x/mod/sumdb/tlog
-- does. The hashes a commit adds are consecutive, so each commit stores them
-- as one row: the index of the first and the 32-byte hashes end to end.
CREATE TABLE audit_hashes (
    first  INTEGER PRIMARY KEY,
    hashes BLOB NOT NULL CHECK (length(hashes) > 0 AND length(hashes) % 32 = 0)
) STRICT;

CREATE TABLE audit_checkpoints (
    size       INTEGER PRIMARY KEY,
    note       BLOB    NOT NULL,
    created_ns INTEGER NOT NULL
) STRICT;

CREATE TABLE audit_cursors (
    name       TEXT PRIMARY KEY,
    next_idx   INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL
) STRICT;
