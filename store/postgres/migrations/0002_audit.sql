-- The audit log, as store/sqlite keeps it: one row per group commit
-- (leaves as uvarint-length-prefixed canonical JSON, payloads apart so
-- they can be erased), tree hashes in runs, signed checkpoints, forwarder
-- cursors. Every replica appends to the same tables; appends are
-- serialised by an advisory lock, so the log stays one sequence.

CREATE TABLE audit_batches (
    first    BIGINT PRIMARY KEY,
    count    INTEGER NOT NULL CHECK (count > 0),
    min_time BIGINT NOT NULL,
    max_time BIGINT NOT NULL,
    leaves   BYTEA  NOT NULL,
    payloads BYTEA
);
CREATE INDEX audit_batches_time ON audit_batches (max_time);

CREATE TABLE audit_hashes (
    first  BIGINT PRIMARY KEY,
    hashes BYTEA NOT NULL CHECK (length(hashes) > 0 AND length(hashes) % 32 = 0)
);

CREATE TABLE audit_checkpoints (
    size       BIGINT PRIMARY KEY,
    note       BYTEA  NOT NULL,
    created_ns BIGINT NOT NULL
);

CREATE TABLE audit_cursors (
    name       TEXT PRIMARY KEY,
    next_idx   BIGINT NOT NULL,
    updated_ns BIGINT NOT NULL
);
