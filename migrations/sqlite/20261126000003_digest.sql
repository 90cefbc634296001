-- The daily digest, coaching nudges, job claims and the outbox. Same conventions as the first
-- migration: UTC text timestamps, ISO text dates, integer money in minor units, a tenant on every
-- row. Only portable SQL, so the PostgreSQL port is a matter of INTEGER PRIMARY KEY → BIGSERIAL
-- and BLOB → BYTEA.

-- One row per workspace, written by `/digest setup` and `/nudges setup`. Times are local
-- wall-clock `HH:MM` in `timezone` (an IANA name), so 08:30 stays 08:30 across DST changes.
CREATE TABLE schedules (
    tenant_id          INTEGER PRIMARY KEY REFERENCES tenants (id),
    digest_channel     TEXT,                        -- platform channel id; NULL: no digest
    digest_time        TEXT    NOT NULL DEFAULT '08:30',
    timezone           TEXT    NOT NULL DEFAULT 'UTC',
    weekdays_only      INTEGER NOT NULL DEFAULT 1,  -- 1: nothing on Saturdays and Sundays
    fiscal_start_month INTEGER NOT NULL DEFAULT 1 CHECK (fiscal_start_month BETWEEN 1 AND 12),
    nudges_enabled     INTEGER NOT NULL DEFAULT 0,
    nudges_time        TEXT    NOT NULL DEFAULT '09:00',
    nudges_to_reps     INTEGER NOT NULL DEFAULT 0,
    nudge_repeat_days  INTEGER NOT NULL DEFAULT 7 CHECK (nudge_repeat_days >= 0),
    updated_at         TEXT    NOT NULL
);

-- A deal a manager asked not to be nudged about until (and including) `until_date`.
CREATE TABLE snoozes (
    tenant_id  INTEGER NOT NULL REFERENCES tenants (id),
    deal_id    INTEGER NOT NULL REFERENCES deals (id),
    until_date TEXT    NOT NULL,
    member_id  INTEGER NOT NULL REFERENCES members (id),
    at         TEXT    NOT NULL,
    PRIMARY KEY (tenant_id, deal_id)
);

-- A scheduled job runs only after inserting its row here: the unique key is what makes a digest
-- happen once per local day across restarts and replicas.
CREATE TABLE job_claims (
    id         INTEGER PRIMARY KEY,
    tenant_id  INTEGER NOT NULL REFERENCES tenants (id),
    job        TEXT    NOT NULL,                    -- digest | nudges
    local_date TEXT    NOT NULL,                    -- the day in the workspace's timezone
    claimed_at TEXT    NOT NULL,
    UNIQUE (tenant_id, job, local_date)
);

-- Messages waiting to be delivered, written in the same transaction as what they announce.
-- A row is never deleted by the worker: `sent` rows are the delivery log, `failed` rows wait for
-- a person to look.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY,
    tenant_id       INTEGER NOT NULL REFERENCES tenants (id),
    claim_id        INTEGER REFERENCES job_claims (id),
    target_kind     TEXT    NOT NULL CHECK (target_kind IN ('channel', 'dm')),
    target          TEXT    NOT NULL,               -- channel id, or the member's user key
    payload         TEXT    NOT NULL,               -- the Reply as JSON, image left out
    image_name      TEXT,
    image           BLOB,
    nonce           TEXT    NOT NULL UNIQUE,        -- Discord's message nonce (enforce_nonce)
    status          TEXT    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at TEXT    NOT NULL,
    last_error      TEXT,
    remote_id       TEXT,                           -- the platform's message id once sent
    created_at      TEXT    NOT NULL,
    sent_at         TEXT
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- One forecast snapshot per workspace and local day: the totals, and each open deal as it stood,
-- so forecast accuracy can be measured later.
CREATE TABLE forecast_snapshots (
    id            INTEGER PRIMARY KEY,
    tenant_id     INTEGER NOT NULL REFERENCES tenants (id),
    local_date    TEXT    NOT NULL,
    taken_at      TEXT    NOT NULL,
    open_count    INTEGER NOT NULL,
    open_amount   INTEGER NOT NULL,
    weighted      INTEGER NOT NULL,
    commit_amount INTEGER NOT NULL,
    best_case     INTEGER NOT NULL,
    won_amount    INTEGER NOT NULL,                 -- won so far this quarter
    UNIQUE (tenant_id, local_date)
);

CREATE TABLE snapshot_deals (
    snapshot_id INTEGER NOT NULL REFERENCES forecast_snapshots (id),
    tenant_id   INTEGER NOT NULL REFERENCES tenants (id),
    deal_id     INTEGER NOT NULL REFERENCES deals (id),
    stage       TEXT    NOT NULL,
    amount      INTEGER NOT NULL,
    close_date  TEXT    NOT NULL,
    PRIMARY KEY (snapshot_id, deal_id)
);

-- What each nudge was about, so the same one is not repeated within the repeat window.
CREATE TABLE nudges_sent (
    tenant_id INTEGER NOT NULL REFERENCES tenants (id),
    deal_id   INTEGER NOT NULL REFERENCES deals (id),
    reason    TEXT    NOT NULL,                     -- stalled | coverage | slipped | override
    sent_on   TEXT    NOT NULL,                     -- local date
    PRIMARY KEY (tenant_id, deal_id, reason, sent_on)
);
