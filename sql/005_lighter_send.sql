-- Sending writes as little as it must: every index a letter row carries is
-- written again at each of its state changes (claim, result), so the send
-- path pays for each one twice per letter.
--
-- The Message-ID is '<ipwarn.LETTER-ID.RANDOM@domain>': the letter's
-- primary key is part of it, so it is unique by construction and its own
-- unique index only cost writes (nothing looks letters up by it; bounces
-- are matched by their VERP token).
ALTER TABLE letter DROP CONSTRAINT IF EXISTS letter_message_id_key;

-- An IP is notified when its letter has been sent; that is now read from
-- the letter (see iw_db_status) instead of being copied onto every target
-- row at send time.  Rows copied by earlier versions go back to the state
-- they had before the copy.
UPDATE target SET state = 'resolved' WHERE state = 'notified';
