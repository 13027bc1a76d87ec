-- Events queued by the replicas and not yet sequenced into the log: each
-- one's canonical JSON before and after its index, and its payloads (a
-- NULL salt: no payload; a NULL data with a salt: digest only).
CREATE TABLE audit_queue (
    id       BIGSERIAL PRIMARY KEY,
    time_ns  BIGINT NOT NULL,
    head     BYTEA  NOT NULL,
    tail     BYTEA  NOT NULL,
    in_salt  BYTEA,
    in_data  BYTEA,
    out_salt BYTEA,
    out_data BYTEA
);
