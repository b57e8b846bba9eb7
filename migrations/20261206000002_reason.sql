-- Why routing sent a request where it went (the `x-switchyard-reason` the
-- client saw): shown on the dashboard's request page.
ALTER TABLE requests ADD COLUMN reason TEXT;
