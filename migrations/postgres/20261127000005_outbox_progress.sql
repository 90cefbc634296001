-- What a delivery that takes several platform calls had already done when an attempt failed
-- (Slack: the chart was shared, or the message was posted), so the retry does not do it again.
ALTER TABLE outbox ADD COLUMN progress TEXT;
