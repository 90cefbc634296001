-- How many days after a playbook version is applied the members who have not acknowledged it
-- are reminded in the coaching nudges (`/nudges setup … ack-days`).
ALTER TABLE schedules ADD COLUMN ack_remind_days INTEGER NOT NULL DEFAULT 3;
