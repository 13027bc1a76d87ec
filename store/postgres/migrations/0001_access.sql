-- Access-control state: API keys, routes and IP rules. Times are Unix
-- nanoseconds (UTC); a NULL time means "never".

CREATE TABLE api_keys (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    secret_hash      BYTEA NOT NULL,
    prev_secret_hash BYTEA,
    prev_valid_until BIGINT,
    scopes           TEXT NOT NULL, -- JSON array of scope names
    models           TEXT NOT NULL, -- JSON array of public model names
    rpm              BIGINT NOT NULL DEFAULT 0,
    tpm              BIGINT NOT NULL DEFAULT 0,
    burst            BIGINT NOT NULL DEFAULT 0,
    max_concurrent   BIGINT NOT NULL DEFAULT 0,
    created_at       BIGINT NOT NULL,
    expires_at       BIGINT,
    revoked_at       BIGINT,
    rotated_at       BIGINT
);

CREATE TABLE routes (
    model      TEXT PRIMARY KEY,
    protocol   TEXT NOT NULL,
    upstream   TEXT NOT NULL, -- JSON: upstream, capture, guards, registry
    source     TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE ip_rules (
    id         TEXT PRIMARY KEY,
    cidr       TEXT NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('allow', 'deny')),
    key_id     TEXT NOT NULL DEFAULT '',
    comment    TEXT NOT NULL DEFAULT '',
    created_at BIGINT NOT NULL
);

-- generation counts changes to the tables above. Every change also
-- notifies the channel modelgate_changes, so that every replica learns of
-- it at once instead of polling; replicas still poll now and then, which
-- covers a notification missed while a listener reconnected.
CREATE TABLE generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value BIGINT NOT NULL
);
INSERT INTO generation (id, value) VALUES (1, 0);

CREATE FUNCTION modelgate_changed() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    UPDATE generation SET value = value + 1 WHERE id = 1;
    PERFORM pg_notify('modelgate_changes', current_schema());
    RETURN NULL;
END
$$;

CREATE TRIGGER api_keys_changed AFTER INSERT OR UPDATE OR DELETE ON api_keys FOR EACH STATEMENT EXECUTE FUNCTION modelgate_changed();
CREATE TRIGGER routes_changed   AFTER INSERT OR UPDATE OR DELETE ON routes   FOR EACH STATEMENT EXECUTE FUNCTION modelgate_changed();
CREATE TRIGGER ip_rules_changed AFTER INSERT OR UPDATE OR DELETE ON ip_rules FOR EACH STATEMENT EXECUTE FUNCTION modelgate_changed();
