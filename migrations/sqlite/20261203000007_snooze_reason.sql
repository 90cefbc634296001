-- Why a manager silenced a deal's nudges: kept with the snooze and shown with it, so the team
-- reads "on it: the CFO is away until the 20th" rather than a silence. Snoozes from before have
-- none.
ALTER TABLE snoozes ADD COLUMN reason TEXT;
