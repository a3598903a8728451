-- The fallback contact chain (lib/fallback.c).  When a letter's contact
-- hard-bounces, is refused with 5.1.x at RCPT, or is suppressed, its IPs
-- are not held: in the same transaction they go back to 'new' with
-- fallback_step raised, and the daemon's fallback stage gives them the
-- next contact -- the abuse contact of the enclosing, less specific
-- registration (step 1), then the national CERT of letters.escalation
-- (step 2) -- and they get a letter of their own in the same campaign.
-- Only when the chain is exhausted are they held.
--
-- fallback_chain: what happened so far, e.g. "abuse-c ... abuse@x: hard
--   bounce 5.1.1"; the new contact's contact_source starts with it, so
--   `targets` and `export` show the whole chain.
-- fallback_tried: every address the IP was given to; none is used twice.
-- fallback_why: the address the IP left (the one that did not work); the
--   letter built for these IPs carries it (letter.fallback, {previous} in
--   the templates' {fallback} block) and is built apart from the contact's
--   other IPs, so it holds exactly the moved ones.
-- fallback_level: where the current contact sits in the chain: 0 the
--   registry's, 1 the enclosing registration's, 2 the CERT; a move goes
--   on from there, so no step is taken twice.
ALTER TABLE target
	ADD COLUMN fallback_step   integer NOT NULL DEFAULT 0,
	ADD COLUMN fallback_chain  text,
	ADD COLUMN fallback_tried  text[] NOT NULL DEFAULT '{}',
	ADD COLUMN fallback_why    text,
	ADD COLUMN fallback_level  integer NOT NULL DEFAULT 0;

ALTER TABLE letter ADD COLUMN fallback text;

-- The fallback stage's claim: moved IPs only.
CREATE INDEX target_fallback_due ON target (next_attempt_at)
	WHERE state = 'new' AND fallback_step > 0;
