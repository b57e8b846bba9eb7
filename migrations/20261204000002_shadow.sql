-- Shadow mode: the model routing would have chosen for a request served as
-- asked, and what it would have cost for the same tokens.
ALTER TABLE requests ADD COLUMN shadow_model TEXT;
ALTER TABLE requests ADD COLUMN shadow_cost_nusd BIGINT;
