-- The model registry, as store/sqlite keeps it: each version's record as
-- JSON beside the columns queries select on. Stage changes count as
-- changes (the generation and the notification), so gateways follow
-- promotions, rollbacks and quarantines at once.

CREATE TABLE registry_models (
    name       TEXT   NOT NULL,
    version    TEXT   NOT NULL,
    stage      TEXT   NOT NULL,
    record     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);
CREATE INDEX registry_models_stage ON registry_models (name, stage);

CREATE TABLE registry_datasets (
    name       TEXT   NOT NULL,
    version    TEXT   NOT NULL,
    record     TEXT   NOT NULL,
    created_at BIGINT NOT NULL,
    PRIMARY KEY (name, version)
);

CREATE TABLE registry_events (
    id      BIGSERIAL PRIMARY KEY,
    name    TEXT NOT NULL,
    version TEXT NOT NULL,
    event   TEXT NOT NULL
);
CREATE INDEX registry_events_name ON registry_events (name, id);

CREATE TRIGGER registry_models_changed AFTER INSERT OR UPDATE OR DELETE ON registry_models FOR EACH STATEMENT EXECUTE FUNCTION modelgate_changed();
