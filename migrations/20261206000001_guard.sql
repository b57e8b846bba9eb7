-- Guardrails: what a request carried that may not leave the machine, and
-- what was done (`redact: aws_access_key_id 1a2b3c4d5e6f, …`); never the
-- secret itself.
ALTER TABLE requests ADD COLUMN guard TEXT;
