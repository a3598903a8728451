-- Claims take due work in (next_attempt_at, id) order with LIMIT and
-- SKIP LOCKED; an index in exactly that order lets PostgreSQL stop after
-- the batch instead of sorting every due row on each claim.
DROP INDEX letter_due;
CREATE INDEX letter_due ON letter (next_attempt_at, id)
	WHERE state IN ('queued', 'deferred');
DROP INDEX target_due;
CREATE INDEX target_due ON target (next_attempt_at, id) WHERE state = 'new';
