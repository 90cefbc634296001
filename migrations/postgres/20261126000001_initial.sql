-- dealgate's first schema on PostgreSQL: the same tables, columns and constraints as
-- migrations/sqlite/20261126000001_initial.sql, so every query is written once.
--
-- Timestamps are UTC text `YYYY-MM-DDTHH:MM:SS.ffffffZ` and dates `YYYY-MM-DD`, exactly as on
-- SQLite; they are `COLLATE "C"` so that comparing and sorting them as text is comparing and
-- sorting them as time whatever the database's locale (a locale collation may weigh `-`, `:` and
-- `.` differently from digits). Money is an integer in minor units. Every integer column is
-- BIGINT: sqlx's Any driver decodes an int4 column into the code's i64 as an error, not a value.
-- Every row carries its tenant.

CREATE TABLE tenants (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    platform         TEXT   NOT NULL,             -- console | discord | slack
    external_id      TEXT   NOT NULL,             -- guild id, team id, or a console workspace name
    name             TEXT   NOT NULL,
    playbook_ref     TEXT   NOT NULL,             -- the template name or file it came from
    playbook_toml    TEXT   NOT NULL,             -- the playbook in force, kept so a restart cannot change it
    next_deal_number BIGINT NOT NULL DEFAULT 1,
    created_at       TEXT   COLLATE "C" NOT NULL,
    UNIQUE (platform, external_id)
);

CREATE TABLE members (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id    BIGINT NOT NULL REFERENCES tenants (id),
    user_key     TEXT   NOT NULL,                 -- platform user id, or the console name
    display_name TEXT   NOT NULL,
    role         TEXT   NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
    manager_id   BIGINT REFERENCES members (id),
    created_at   TEXT   COLLATE "C" NOT NULL,
    UNIQUE (tenant_id, user_key)
);
CREATE INDEX members_by_name ON members (tenant_id, display_name);
CREATE INDEX members_by_manager ON members (tenant_id, manager_id);

CREATE TABLE deals (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id        BIGINT NOT NULL REFERENCES tenants (id),
    number           BIGINT NOT NULL,
    name             TEXT   NOT NULL,
    owner_id         BIGINT NOT NULL REFERENCES members (id),
    amount           BIGINT NOT NULL CHECK (amount >= 0),
    close_date       TEXT   COLLATE "C" NOT NULL,
    stage            TEXT   NOT NULL,
    stage_entered_at TEXT   COLLATE "C" NOT NULL,
    status           TEXT   NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    fields           TEXT   NOT NULL DEFAULT '{}', -- custom fields, a JSON object of strings
    version          BIGINT NOT NULL DEFAULT 1,
    created_at       TEXT   COLLATE "C" NOT NULL,
    updated_at       TEXT   COLLATE "C" NOT NULL,
    closed_at        TEXT   COLLATE "C",
    UNIQUE (tenant_id, number)
);
CREATE INDEX deals_by_status_stage ON deals (tenant_id, status, stage);
CREATE INDEX deals_by_owner ON deals (tenant_id, owner_id, status);
CREATE INDEX deals_by_close ON deals (tenant_id, status, close_date);

CREATE TABLE activities (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id),
    deal_id    BIGINT NOT NULL REFERENCES deals (id),
    member_id  BIGINT NOT NULL REFERENCES members (id),
    activity   TEXT   NOT NULL,
    note       TEXT,
    stage      TEXT   NOT NULL,                   -- the deal's stage when it was logged
    at         TEXT   COLLATE "C" NOT NULL
);
CREATE INDEX activities_by_deal ON activities (deal_id, at);
CREATE INDEX activities_by_tenant_time ON activities (tenant_id, at);

CREATE TABLE stage_changes (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id),
    deal_id     BIGINT NOT NULL REFERENCES deals (id),
    actor_id    BIGINT NOT NULL REFERENCES members (id),
    from_stage  TEXT,                              -- NULL when the deal was created
    to_stage    TEXT   NOT NULL,
    kind        TEXT   NOT NULL CHECK (kind IN ('create', 'advance', 'back', 'won', 'lost')),
    overridden  BIGINT NOT NULL DEFAULT 0,         -- 1 when a manager passed unmet gates
    gates       TEXT,                              -- the overridden requirements, one per line
    reason      TEXT,
    at          TEXT   COLLATE "C" NOT NULL
);
CREATE INDEX stage_changes_by_deal ON stage_changes (deal_id, at);
CREATE INDEX stage_changes_by_tenant_time ON stage_changes (tenant_id, at);

CREATE TABLE approvals (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id),
    deal_id     BIGINT NOT NULL REFERENCES deals (id),
    approver_id BIGINT NOT NULL REFERENCES members (id),
    role        TEXT   NOT NULL,                  -- the approver's role when approving
    stage       TEXT   NOT NULL,
    note        TEXT,
    at          TEXT   COLLATE "C" NOT NULL
);
CREATE INDEX approvals_by_deal ON approvals (deal_id);

CREATE TABLE field_changes (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id),
    deal_id    BIGINT NOT NULL REFERENCES deals (id),
    actor_id   BIGINT NOT NULL REFERENCES members (id),
    field      TEXT   NOT NULL,
    old_value  TEXT,
    new_value  TEXT   NOT NULL,
    at         TEXT   COLLATE "C" NOT NULL
);
CREATE INDEX field_changes_by_tenant_time ON field_changes (tenant_id, at);
