-- Campaigns an operator controls and can prove.
--
-- A campaign is created as a 'draft': its IPs are resolved and its letters
-- built (and may be rendered for review), but nothing of it is sent until
-- an operator approves it.  'approved' <-> 'paused'; 'cancelled' is final.
-- Campaigns that existed before this version were being sent without an
-- approval step, so they start out 'approved'; new ones start as drafts.
ALTER TABLE campaign
	ADD COLUMN state text NOT NULL DEFAULT 'approved' CHECK (state IN
	    ('draft', 'approved', 'paused', 'cancelled')),
	ADD COLUMN letters_dir text,		-- its own templates, if any
	ADD COLUMN vars jsonb NOT NULL DEFAULT '{}',	-- {var.KEY} values
	ADD COLUMN renotify boolean NOT NULL DEFAULT false,
	ADD COLUMN state_at timestamptz NOT NULL DEFAULT now();
ALTER TABLE campaign ALTER COLUMN state SET DEFAULT 'draft';

-- Who changed a campaign's state, and when: the sign-off is on record.
CREATE TABLE campaign_event (
	id           bigserial PRIMARY KEY,
	campaign_id  bigint NOT NULL REFERENCES campaign (id),
	at           timestamptz NOT NULL DEFAULT now(),
	action       text NOT NULL,	-- create, approve, pause, resume, cancel
	actor        text NOT NULL,	-- the operator's login
	detail       text
);
CREATE INDEX campaign_event_campaign ON campaign_event (campaign_id, at);

-- A letter's reference, shown to the recipient ({ref}, X-Ipwarn-Ref).
-- 'cancelled': never sent, by order of the operator.
ALTER TABLE letter ADD COLUMN ref text;
ALTER TABLE letter DROP CONSTRAINT IF EXISTS letter_state_check;
ALTER TABLE letter ADD CONSTRAINT letter_state_check CHECK (state IN
	('queued', 'sending', 'deferred', 'sent', 'failed', 'bounced',
	 'cancelled'));
UPDATE letter l SET ref = 'ipwarn-' || lpad(l.id::text, 6, '0')
	WHERE ref IS NULL;

-- The audit record of a letter: the exact bytes handed to the relay (every
-- retry sends these; 7-bit MIME with CRLF line ends, so text), their
-- SHA-256, the envelope sender and the locale of the template used.  A row
-- of its own, written once: the letter row, rewritten at every state
-- change and scanned by the claims, stays narrow.  No foreign key: its
-- check would lock the letter row of every stored message, in the send
-- path; only the sender writes here, for a letter it has claimed.
CREATE TABLE letter_message (
	letter_id     bigint PRIMARY KEY,
	locale        text NOT NULL,
	reverse_path  text NOT NULL,
	message       text NOT NULL,
	sha256        text NOT NULL,
	rendered_at   timestamptz NOT NULL DEFAULT now()
);
-- lz4 compresses a letter in a fraction of pglz's time; servers built
-- without it keep the default.
DO $$ BEGIN
	ALTER TABLE letter_message ALTER COLUMN message SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported OR invalid_parameter_value THEN
	NULL;
END $$;
-- Append-only: nothing to clean, so no vacuum after every 20 % of
-- inserts (it rereads the whole table, kilobytes a letter); the
-- anti-wraparound vacuum still freezes it.
ALTER TABLE letter_message SET (autovacuum_vacuum_insert_threshold = -1);

-- Which IPs a letter carried, for ever: target.letter_id is the IP's
-- current letter and changes when an operator releases a held IP; this
-- keeps every (letter, IP) pair for the audit export.
CREATE TABLE letter_target (
	letter_id  bigint NOT NULL REFERENCES letter (id),
	target_id  bigint NOT NULL REFERENCES target (id),
	PRIMARY KEY (letter_id, target_id)
);
INSERT INTO letter_target (letter_id, target_id)
	SELECT letter_id, id FROM target WHERE letter_id IS NOT NULL;
