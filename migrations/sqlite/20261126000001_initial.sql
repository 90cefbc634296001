-- dealgate's first schema. Timestamps are UTC text `YYYY-MM-DDTHH:MM:SS.ffffffZ` (sortable,
-- readable, and the same on every backend); dates are `YYYY-MM-DD`; money is an integer in minor
-- units of the playbook's currency. Every row carries its tenant.

CREATE TABLE tenants (
    id               INTEGER PRIMARY KEY,
    platform         TEXT    NOT NULL,             -- console | discord | slack
    external_id      TEXT    NOT NULL,             -- guild id, team id, or a console workspace name
    name             TEXT    NOT NULL,
    playbook_ref     TEXT    NOT NULL,             -- the template name or file it came from
    playbook_toml    TEXT    NOT NULL,             -- the playbook in force, kept so a restart cannot change it
    next_deal_number INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT    NOT NULL,
    UNIQUE (platform, external_id)
);

CREATE TABLE members (
    id           INTEGER PRIMARY KEY,
    tenant_id    INTEGER NOT NULL REFERENCES tenants (id),
    user_key     TEXT    NOT NULL,                 -- platform user id, or the console name
    display_name TEXT    NOT NULL,
    role         TEXT    NOT NULL CHECK (role IN ('rep', 'manager', 'admin')),
    manager_id   INTEGER REFERENCES members (id),
    created_at   TEXT    NOT NULL,
    UNIQUE (tenant_id, user_key)
);
CREATE INDEX members_by_name ON members (tenant_id, display_name);
CREATE INDEX members_by_manager ON members (tenant_id, manager_id);

CREATE TABLE deals (
    id               INTEGER PRIMARY KEY,
    tenant_id        INTEGER NOT NULL REFERENCES tenants (id),
    number           INTEGER NOT NULL,
    name             TEXT    NOT NULL,
    owner_id         INTEGER NOT NULL REFERENCES members (id),
    amount           INTEGER NOT NULL CHECK (amount >= 0),
    close_date       TEXT    NOT NULL,
    stage            TEXT    NOT NULL,
    stage_entered_at TEXT    NOT NULL,
    status           TEXT    NOT NULL CHECK (status IN ('open', 'won', 'lost')),
    fields           TEXT    NOT NULL DEFAULT '{}', -- custom fields, a JSON object of strings
    version          INTEGER NOT NULL DEFAULT 1,
    created_at       TEXT    NOT NULL,
    updated_at       TEXT    NOT NULL,
    closed_at        TEXT,
    UNIQUE (tenant_id, number)
);
CREATE INDEX deals_by_status_stage ON deals (tenant_id, status, stage);
CREATE INDEX deals_by_owner ON deals (tenant_id, owner_id, status);
CREATE INDEX deals_by_close ON deals (tenant_id, status, close_date);

CREATE TABLE activities (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants (id),
    deal_id    INTEGER NOT NULL REFERENCES deals (id),
    member_id  INTEGER NOT NULL REFERENCES members (id),
    activity   TEXT    NOT NULL,
    note       TEXT,
    stage      TEXT    NOT NULL,                   -- the deal's stage when it was logged
    at         TEXT    NOT NULL
);
CREATE INDEX activities_by_deal ON activities (deal_id, at);
CREATE INDEX activities_by_tenant_time ON activities (tenant_id, at);

CREATE TABLE stage_changes (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    deal_id     INTEGER NOT NULL REFERENCES deals (id),
    actor_id    INTEGER NOT NULL REFERENCES members (id),
    from_stage  TEXT,                              -- NULL when the deal was created
    to_stage    TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('create', 'advance', 'back', 'won', 'lost')),
    overridden  INTEGER NOT NULL DEFAULT 0,        -- 1 when a manager passed unmet gates
    gates       TEXT,                              -- the overridden requirements, one per line
    reason      TEXT,
    at          TEXT    NOT NULL
);
CREATE INDEX stage_changes_by_deal ON stage_changes (deal_id, at);
CREATE INDEX stage_changes_by_tenant_time ON stage_changes (tenant_id, at);

CREATE TABLE approvals (
    id          INTEGER PRIMARY KEY,
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    deal_id     INTEGER NOT NULL REFERENCES deals (id),
    approver_id INTEGER NOT NULL REFERENCES members (id),
    role        TEXT    NOT NULL,                  -- the approver's role when approving
    stage       TEXT    NOT NULL,
    note        TEXT,
    at          TEXT    NOT NULL
);
CREATE INDEX approvals_by_deal ON approvals (deal_id);

CREATE TABLE field_changes (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants (id),
    deal_id    INTEGER NOT NULL REFERENCES deals (id),
    actor_id   INTEGER NOT NULL REFERENCES members (id),
    field      TEXT    NOT NULL,
    old_value  TEXT,
    new_value  TEXT    NOT NULL,
    at         TEXT    NOT NULL
);
CREATE INDEX field_changes_by_tenant_time ON field_changes (tenant_id, at);
