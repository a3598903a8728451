-- Bounces carry a reason, and each returned message counts once.
--
-- reason: Sisimai's name for why the message bounced (userunknown,
-- mailboxfull, blocked, ...; 'undefined' when nothing fits), next to class,
-- which says what it means for the contact.
--
-- A bounce may reach us twice (an MTA that pipes it to `ipwarn bounce` and
-- also stores it in bounces.maildir; a retried pipe).  message_id is the
-- bounce's own Message-ID, sha256 the digest of its bytes as received; a
-- second message with either already recorded is not recorded again, so it
-- counts once toward bounces.soft_limit.  The unique indexes settle two
-- deliveries that race; synchronous RCPT rejections have neither.
ALTER TABLE bounce ADD COLUMN reason text;
ALTER TABLE bounce ADD COLUMN message_id text;
ALTER TABLE bounce ADD COLUMN sha256 bytea;
CREATE UNIQUE INDEX bounce_message_id ON bounce (message_id)
	WHERE message_id IS NOT NULL;
CREATE UNIQUE INDEX bounce_sha256 ON bounce (sha256) WHERE sha256 IS NOT NULL;
