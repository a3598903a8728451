-- The send path writes each letter's row twice (claim, result) and its
-- stored message once; these make the first write and the message cheap.
--
-- A claim is a lease, as it is for targets: locked_by/locked_until and
-- attempts change, the state stays 'queued' or 'deferred'.  No index
-- covers those columns, so with room on the page PostgreSQL updates the
-- row in place (a HOT update) instead of writing a new entry into every
-- index of the letter.  Half of each page is kept free for that: a letter
-- row is a few hundred bytes, and a claimed batch's rows share pages.
-- A letter is "sending" while its lease runs (status and the listings
-- show it so); when the lease runs out without a result (its daemon
-- died) the letter is simply due again.
UPDATE letter l SET state = CASE WHEN l.campaign_id IN (SELECT id FROM
	campaign WHERE state = 'cancelled') THEN 'cancelled' WHEN EXISTS
	(SELECT 1 FROM attempt x WHERE x.letter_id = l.id) THEN 'deferred'
	ELSE 'queued' END
	WHERE state = 'sending';
ALTER TABLE letter DROP CONSTRAINT IF EXISTS letter_state_check;
ALTER TABLE letter ADD CONSTRAINT letter_state_check CHECK (state IN
	('queued', 'deferred', 'sent', 'failed', 'bounced', 'cancelled'));
DROP INDEX IF EXISTS letter_leased;
ALTER TABLE letter SET (fillfactor = 50);

-- The attempt log is append-only and letters are never deleted; its
-- foreign key only added a lookup and a lock of the letter row per
-- attempt, in the send path.
ALTER TABLE attempt DROP CONSTRAINT IF EXISTS attempt_letter_id_fkey;

-- A stored letter (a few KiB) stays in its row, uncompressed, unless it
-- is larger than a page can hold: compressing it and moving it to the
-- TOAST table cost more CPU than the rest of storing it.
ALTER TABLE letter_message SET (toast_tuple_target = 8160);
