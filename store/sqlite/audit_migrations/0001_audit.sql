-- The audit log. Events hold the canonical JSON the Merkle tree commits
-- to; the other columns are copies for queries, and the payload columns
-- hold what is kept of the payloads the event commits to (salt, and bytes
-- unless only the digest is kept), outside the leaf so they can be erased.
-- Times are Unix nanoseconds.

CREATE TABLE audit_events (
    idx        INTEGER PRIMARY KEY,
    data       BLOB    NOT NULL,
    time_ns    INTEGER NOT NULL,
    request_id TEXT    NOT NULL,
    actor_kind TEXT    NOT NULL,
    actor_id   TEXT    NOT NULL,
    action     TEXT    NOT NULL,
    model      TEXT    NOT NULL,
    outcome    TEXT    NOT NULL,
    in_salt    BLOB,
    in_data    BLOB,
    out_salt   BLOB,
    out_data   BLOB
) STRICT;
CREATE INDEX audit_events_time ON audit_events (time_ns);
CREATE INDEX audit_events_actor ON audit_events (actor_id, idx);
CREATE INDEX audit_events_request ON audit_events (request_id) WHERE request_id <> '';

-- Stored hashes of the RFC 6962 tree, numbered as golang.org/x/mod/sumdb/tlog does.
CREATE TABLE audit_hashes (
    idx  INTEGER PRIMARY KEY,
    hash BLOB NOT NULL
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
