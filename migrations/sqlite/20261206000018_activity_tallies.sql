-- A command reads a fixed amount of a deal's history: the gates need how many times each
-- activity was logged in each stage and when first, which a GROUP BY over the deal's
-- activities answered in time that grew with them (0.26 ms at 200 on PostgreSQL, linear
-- beyond). The tally is kept as activities are written, one row per deal, activity and stage.
--
-- A trigger keeps it, so every way an activity is written (/log, an import, a test's SQL)
-- counts, and the two can never disagree. No foreign key: its rows come only from
-- `activities`, whose own keys hold, and the check would cost every /log a lookup.
CREATE TABLE activity_tallies (
    deal_id  INTEGER NOT NULL,
    activity TEXT    NOT NULL,
    stage    TEXT    NOT NULL,
    times    INTEGER NOT NULL,
    first_at TEXT    NOT NULL,
    PRIMARY KEY (deal_id, activity, stage)
) WITHOUT ROWID;

CREATE TRIGGER activity_tallies_after_insert AFTER INSERT ON activities BEGIN
    INSERT INTO activity_tallies (deal_id, activity, stage, times, first_at)
    VALUES (new.deal_id, new.activity, new.stage, 1, new.at)
    ON CONFLICT (deal_id, activity, stage)
    DO UPDATE SET times = times + 1, first_at = min(first_at, excluded.first_at);
END;

INSERT INTO activity_tallies (deal_id, activity, stage, times, first_at)
SELECT deal_id, activity, stage, COUNT(*), MIN(at) FROM activities
GROUP BY deal_id, activity, stage;
