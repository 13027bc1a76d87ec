-- Access-control state: API keys, routes and IP rules. Times are Unix
-- nanoseconds (UTC); a NULL time means "never".

CREATE TABLE api_keys (
    id               TEXT PRIMARY KEY,
    name             TEXT NOT NULL,
    secret_hash      BLOB NOT NULL,
    prev_secret_hash BLOB,
    prev_valid_until INTEGER,
    scopes           TEXT NOT NULL, -- JSON array of scope names
    models           TEXT NOT NULL, -- JSON array of public model names
    rpm              INTEGER NOT NULL DEFAULT 0,
    tpm              INTEGER NOT NULL DEFAULT 0,
    burst            INTEGER NOT NULL DEFAULT 0,
    max_concurrent   INTEGER NOT NULL DEFAULT 0,
    created_at       INTEGER NOT NULL,
    expires_at       INTEGER,
    revoked_at       INTEGER,
    rotated_at       INTEGER
) STRICT;

CREATE TABLE routes (
    model      TEXT PRIMARY KEY,
    protocol   TEXT NOT NULL,
    upstream   TEXT NOT NULL, -- JSON of store.Upstream
    source     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;

CREATE TABLE ip_rules (
    id         TEXT PRIMARY KEY,
    cidr       TEXT NOT NULL,
    action     TEXT NOT NULL CHECK (action IN ('allow', 'deny')),
    key_id     TEXT NOT NULL DEFAULT '',
    comment    TEXT NOT NULL DEFAULT '',
    created_at INTEGER NOT NULL
) STRICT;

-- generation counts changes to the tables above, so that a gateway can
-- tell with one cheap read whether its caches are stale, whoever wrote.
CREATE TABLE generation (
    id    INTEGER PRIMARY KEY CHECK (id = 1),
    value INTEGER NOT NULL
) STRICT;
INSERT INTO generation (id, value) VALUES (1, 0);

CREATE TRIGGER api_keys_ins AFTER INSERT ON api_keys BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER api_keys_upd AFTER UPDATE ON api_keys BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER api_keys_del AFTER DELETE ON api_keys BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER routes_ins   AFTER INSERT ON routes   BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER routes_upd   AFTER UPDATE ON routes   BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER routes_del   AFTER DELETE ON routes   BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER ip_rules_ins AFTER INSERT ON ip_rules BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER ip_rules_upd AFTER UPDATE ON ip_rules BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER ip_rules_del AFTER DELETE ON ip_rules BEGIN UPDATE generation SET value = value + 1; END;
