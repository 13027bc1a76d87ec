-- The model registry: model and dataset versions and their history. A
-- version's record is JSON (registry.Model, registry.Dataset); the columns
-- beside it are what queries and the gateway's admission check select on.
-- Stage changes bump the generation so that gateways see them at once.

CREATE TABLE registry_models (
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,
    stage      TEXT NOT NULL,
    record     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (name, version)
) STRICT;

CREATE INDEX registry_models_stage ON registry_models (name, stage);

CREATE TABLE registry_datasets (
    name       TEXT NOT NULL,
    version    TEXT NOT NULL,
    record     TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (name, version)
) STRICT;

CREATE TABLE registry_events (
    id      INTEGER PRIMARY KEY AUTOINCREMENT,
    name    TEXT NOT NULL,
    version TEXT NOT NULL,
    event   TEXT NOT NULL -- JSON of registry.Event
) STRICT;

CREATE INDEX registry_events_name ON registry_events (name, id);

CREATE TRIGGER registry_models_ins AFTER INSERT ON registry_models BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER registry_models_upd AFTER UPDATE ON registry_models BEGIN UPDATE generation SET value = value + 1; END;
CREATE TRIGGER registry_models_del AFTER DELETE ON registry_models BEGIN UPDATE generation SET value = value + 1; END;
