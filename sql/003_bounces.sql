-- Bounces: every returned message ipwarn was given (pipe, Maildir) and every
-- synchronous rejection at RCPT, kept whether or not it matched a letter.
--
-- verified: the VERP token (envelope recipient or DSN ENVID) checked out
-- under sender.verp_secret; only a verified bounce changes a letter or the
-- suppression list.  letter_id is NULL for unmatched ones (forged, foreign,
-- or for a letter no longer in the database).  raw keeps the message as
-- received (bytea: bounces need not be UTF-8) when it was not understood or
-- not matched, for the operator to review; NULL otherwise.
CREATE TABLE bounce (
	id           bigserial PRIMARY KEY,
	received_at  timestamptz NOT NULL DEFAULT now(),
	via          text NOT NULL CHECK (via IN ('pipe', 'maildir', 'smtp')),
	verified     boolean NOT NULL,
	letter_id    bigint REFERENCES letter (id),
	email        text,		-- the letter's contact (verified only)
	class        text NOT NULL CHECK (class IN ('hard', 'soft',
	    'transient', 'ours', 'complaint', 'autoreply', 'delivered',
	    'undetermined')),
	kind         text,		-- dsn, body, arf, autoreply, smtp, unknown
	status       text,
	diagnostic   text,
	envelope     text,		-- the address it was delivered to
	recipients   jsonb NOT NULL DEFAULT '[]',
	effect       text,		-- what it did: bounced, suppressed, ...
	raw          bytea
);
CREATE INDEX bounce_letter ON bounce (letter_id);
-- bounces.soft_limit: soft bounces of one address within 30 days.
CREATE INDEX bounce_soft ON bounce (email, received_at)
	WHERE verified AND class = 'soft';
CREATE INDEX bounce_unmatched ON bounce (received_at)
	WHERE letter_id IS NULL;
