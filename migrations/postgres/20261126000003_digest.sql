-- The daily digest, coaching nudges, job claims and the outbox. Same conventions as the first
-- migration: UTC text timestamps, ISO text dates, integer money in minor units, a tenant on every
-- row. The PostgreSQL twin of migrations/sqlite/20261126000003_digest.sql: integers are BIGINT
-- (sqlx's Any driver reads them as i64), keys are identities, text compares byte-wise (COLLATE
-- "C") so that timestamps and dates order as they do on SQLite, and the image is BYTEA.

-- One row per workspace, written by `/digest setup` and `/nudges setup`. Times are local
-- wall-clock `HH:MM` in `timezone` (an IANA name), so 08:30 stays 08:30 across DST changes.
CREATE TABLE schedules (
    tenant_id          BIGINT PRIMARY KEY REFERENCES tenants (id),
    digest_channel     TEXT,                        -- platform channel id; NULL: no digest
    digest_time        TEXT COLLATE "C"    NOT NULL DEFAULT '08:30',
    timezone           TEXT COLLATE "C"    NOT NULL DEFAULT 'UTC',
    weekdays_only      BIGINT NOT NULL DEFAULT 1,  -- 1: nothing on Saturdays and Sundays
    fiscal_start_month BIGINT NOT NULL DEFAULT 1 CHECK (fiscal_start_month BETWEEN 1 AND 12),
    nudges_enabled     BIGINT NOT NULL DEFAULT 0,
    nudges_time        TEXT COLLATE "C"    NOT NULL DEFAULT '09:00',
    nudges_to_reps     BIGINT NOT NULL DEFAULT 0,
    nudge_repeat_days  BIGINT NOT NULL DEFAULT 7 CHECK (nudge_repeat_days >= 0),
    updated_at         TEXT COLLATE "C"    NOT NULL
);

-- A deal a manager asked not to be nudged about until (and including) `until_date`.
CREATE TABLE snoozes (
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id),
    deal_id    BIGINT NOT NULL REFERENCES deals (id),
    until_date TEXT COLLATE "C"    NOT NULL,
    member_id  BIGINT NOT NULL REFERENCES members (id),
    at         TEXT COLLATE "C"    NOT NULL,
    PRIMARY KEY (tenant_id, deal_id)
);

-- A scheduled job runs only after inserting its row here: the unique key is what makes a digest
-- happen once per local day across restarts and replicas.
CREATE TABLE job_claims (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id  BIGINT NOT NULL REFERENCES tenants (id),
    job        TEXT COLLATE "C"    NOT NULL,                    -- digest | nudges
    local_date TEXT COLLATE "C"    NOT NULL,                    -- the day in the workspace's timezone
    claimed_at TEXT COLLATE "C"    NOT NULL,
    UNIQUE (tenant_id, job, local_date)
);

-- Messages waiting to be delivered, written in the same transaction as what they announce.
-- A row is never deleted by the worker: `sent` rows are the delivery log, `failed` rows wait for
-- a person to look.
CREATE TABLE outbox (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id       BIGINT NOT NULL REFERENCES tenants (id),
    claim_id        BIGINT REFERENCES job_claims (id),
    target_kind     TEXT COLLATE "C"    NOT NULL CHECK (target_kind IN ('channel', 'dm')),
    target          TEXT COLLATE "C"    NOT NULL,               -- channel id, or the member's user key
    payload         TEXT COLLATE "C"    NOT NULL,               -- the Reply as JSON, image left out
    image_name      TEXT,
    image           BYTEA,
    nonce           TEXT COLLATE "C"    NOT NULL UNIQUE,        -- Discord's message nonce (enforce_nonce)
    status          TEXT COLLATE "C"    NOT NULL DEFAULT 'pending' CHECK (status IN ('pending', 'sent', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    next_attempt_at TEXT COLLATE "C"    NOT NULL,
    last_error      TEXT,
    remote_id       TEXT,                           -- the platform's message id once sent
    created_at      TEXT COLLATE "C"    NOT NULL,
    sent_at         TEXT COLLATE "C"
);
CREATE INDEX outbox_due ON outbox (status, next_attempt_at);

-- One forecast snapshot per workspace and local day: the totals, and each open deal as it stood,
-- so forecast accuracy can be measured later.
CREATE TABLE forecast_snapshots (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    tenant_id     BIGINT NOT NULL REFERENCES tenants (id),
    local_date    TEXT COLLATE "C"    NOT NULL,
    taken_at      TEXT COLLATE "C"    NOT NULL,
    open_count    BIGINT NOT NULL,
    open_amount   BIGINT NOT NULL,
    weighted      BIGINT NOT NULL,
    commit_amount BIGINT NOT NULL,
    best_case     BIGINT NOT NULL,
    won_amount    BIGINT NOT NULL,                 -- won so far this quarter
    UNIQUE (tenant_id, local_date)
);

CREATE TABLE snapshot_deals (
    snapshot_id BIGINT NOT NULL REFERENCES forecast_snapshots (id),
    tenant_id   BIGINT NOT NULL REFERENCES tenants (id),
    deal_id     BIGINT NOT NULL REFERENCES deals (id),
    stage       TEXT COLLATE "C"    NOT NULL,
    amount      BIGINT NOT NULL,
    close_date  TEXT COLLATE "C"    NOT NULL,
    PRIMARY KEY (snapshot_id, deal_id)
);

-- What each nudge was about, so the same one is not repeated within the repeat window.
CREATE TABLE nudges_sent (
    tenant_id BIGINT NOT NULL REFERENCES tenants (id),
    deal_id   BIGINT NOT NULL REFERENCES deals (id),
    reason    TEXT COLLATE "C"    NOT NULL,                     -- stalled | coverage | slipped | override
    sent_on   TEXT COLLATE "C"    NOT NULL,                     -- local date
    PRIMARY KEY (tenant_id, deal_id, reason, sent_on)
);
