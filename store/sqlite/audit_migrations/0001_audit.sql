-- The audit log. Events hold the canonical JSON the Merkle tree commits
-- to; the other columns are copies for queries. Times are Unix nanoseconds.

CREATE TABLE audit_events (
    idx        INTEGER PRIMARY KEY,
    data       BLOB    NOT NULL,
    time_ns    INTEGER NOT NULL,
    request_id TEXT    NOT NULL,
    actor_kind TEXT    NOT NULL,
    actor_id   TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    model      TEXT    NOT NULL,
    outcome    TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_events_time ON audit_events (time_ns);
CREATE INDEX audit_events_actor ON audit_events (actor_id, idx);
CREATE INDEX audit_events_request ON audit_events (request_id) WHERE request_id <> '';

-- Stored hashes of the RFC 6962 tree, numbered as golang.org/x/mod/sumdb/tlog does.
CREATE TABLE audit_hashes (
    idx  INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
) STRICT;

CREATE TABLE audit_payloads (
    idx  INTEGER NOT NULL,
    kind TEXT    NOT NULL,
    salt BLOB    NOT NULL,
    data BLOB,
    PRIMARY KEY (idx, kind)
) STRICT, WITHOUT ROWID;

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
