-- ipwarn schema, version 1.
--
-- The data path reads top to bottom: a flagged IP (target) is enqueued
-- 'new', resolved to an abuse contact ('resolved' or 'unresolved'), grouped
-- with the other IPs of its contact into one letter per (campaign, contact),
-- and the letter is sent ('queued' -> 'sending' -> 'sent' | 'deferred' |
-- 'failed', later maybe 'bounced').  Work is claimed with a lease
-- (locked_by, locked_until) so several daemons can share the database and a
-- crashed daemon's work returns to the queue.

CREATE TABLE campaign (
	id          bigserial PRIMARY KEY,
	name        text NOT NULL UNIQUE,
	created_at  timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE letter (
	id               bigserial PRIMARY KEY,
	campaign_id      bigint NOT NULL REFERENCES campaign (id),
	contact_email    text NOT NULL,
	-- 1 for the campaign's letter to this contact; 2.. only for IPs that
	-- were resolved after that letter had already gone out.
	seq              integer NOT NULL DEFAULT 1,
	locale           text NOT NULL,
	state            text NOT NULL DEFAULT 'queued' CHECK (state IN
	    ('queued', 'sending', 'deferred', 'sent', 'failed', 'bounced')),
	message_id       text NOT NULL UNIQUE,
	created_at       timestamptz NOT NULL DEFAULT now(),
	next_attempt_at  timestamptz NOT NULL DEFAULT now(),
	attempts         integer NOT NULL DEFAULT 0,
	locked_by        text,
	locked_until     timestamptz,
	sent_at          timestamptz,
	last_code        integer,
	last_reply       text,
	fail_reason      text,
	bounce_class     text,
	bounce_status    text,
	bounce_diagnostic text,
	UNIQUE (campaign_id, contact_email, seq)
);
CREATE INDEX letter_due ON letter (next_attempt_at)
	WHERE state IN ('queued', 'deferred');
CREATE INDEX letter_leased ON letter (locked_until) WHERE state = 'sending';

CREATE TABLE target (
	id               bigserial PRIMARY KEY,
	campaign_id      bigint NOT NULL REFERENCES campaign (id),
	ip               inet NOT NULL,
	evidence         text,
	observed_at      timestamptz,
	state            text NOT NULL DEFAULT 'new' CHECK (state IN
	    ('new', 'resolved', 'unresolved', 'notified', 'held')),
	enqueued_at      timestamptz NOT NULL DEFAULT now(),
	next_attempt_at  timestamptz NOT NULL DEFAULT now(),
	attempts         integer NOT NULL DEFAULT 0,
	locked_by        text,
	locked_until     timestamptz,
	country          text,
	locale           text,
	contact_email    text,
	contact_source   text,
	whois_server     text,
	whois_network    text,
	whois_chain      text,
	reason           text,
	-- the registry's answer, kept for review when it could not be used
	raw_answer       text,
	resolved_at      timestamptz,
	letter_id        bigint REFERENCES letter (id),
	UNIQUE (campaign_id, ip)
);
CREATE INDEX target_due ON target (next_attempt_at) WHERE state = 'new';
CREATE INDEX target_unlettered ON target (campaign_id, contact_email)
	WHERE state = 'resolved' AND letter_id IS NULL;
CREATE INDEX target_letter ON target (letter_id);

-- Every SMTP attempt and the relay's reply, for the record.
CREATE TABLE attempt (
	id          bigserial PRIMARY KEY,
	letter_id   bigint NOT NULL REFERENCES letter (id),
	at          timestamptz NOT NULL DEFAULT now(),
	daemon      text,
	relay       text,
	outcome     text NOT NULL CHECK (outcome IN
	    ('sent', 'deferred', 'failed')),
	stage       text,
	code        integer,
	enhanced    text,
	reply       text
);
CREATE INDEX attempt_letter ON attempt (letter_id);

-- Operator overrides: beat WHOIS for every IP in the network.
CREATE TABLE contact_override (
	network     cidr PRIMARY KEY,
	email       text NOT NULL,
	created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX contact_override_net ON contact_override
	USING gist (network inet_ops);

-- Addresses that get no more letters (hard bounces, complaints, operator).
CREATE TABLE suppression (
	email       text PRIMARY KEY,
	reason      text,
	source      text NOT NULL DEFAULT 'operator',
	created_at  timestamptz NOT NULL DEFAULT now()
);
