-- Outcomes: did the notified servers get fixed, compared with a control
-- group that got no letter?
--
-- campaign.holdout: the percentage of the campaign's contacts held back as
-- a control group (campaign create --holdout).  Whether a contact is in it
-- is a pure function of the campaign's name and the contact's address
-- (lib/outcome.h, IW_OUTCOME_HOLDOUT_SQL), so the same contacts give the
-- same group on a rerun or in another database.  Their IPs get state
-- 'control' when the campaign's letters are built, and no letter.
ALTER TABLE campaign ADD COLUMN holdout numeric(5, 2) NOT NULL DEFAULT 0
	CHECK (holdout >= 0 AND holdout < 100);
ALTER TABLE target DROP CONSTRAINT IF EXISTS target_state_check;
ALTER TABLE target ADD CONSTRAINT target_state_check CHECK (state IN
	('new', 'resolved', 'unresolved', 'notified', 'held', 'control'));

-- A later scan (ipwarn observe): at TIME these of the campaign's IPs were
-- still flagged, the others were not.  Every round keeps, for every IP the
-- campaign had when it was recorded, whether the scan listed it, so an
-- IP's first fixed time, its relapses and the fixed-over-time series are
-- derived from the rounds and never overwritten.
CREATE TABLE observation (
	id           bigserial PRIMARY KEY,
	campaign_id  bigint NOT NULL REFERENCES campaign (id),
	at           timestamptz NOT NULL,		-- when the scan saw it
	recorded_at  timestamptz NOT NULL DEFAULT now(),
	source       text,				-- the file's name
	actor        text,
	listed       integer NOT NULL,		-- records read from the file
	foreign_ips  integer NOT NULL		-- listed, not of the campaign
);
CREATE INDEX observation_campaign ON observation (campaign_id, at);

CREATE TABLE observation_target (
	observation_id  bigint NOT NULL REFERENCES observation (id),
	target_id       bigint NOT NULL REFERENCES target (id),
	flagged         boolean NOT NULL,
	PRIMARY KEY (observation_id, target_id)
);
CREATE INDEX observation_target_target ON observation_target (target_id);
