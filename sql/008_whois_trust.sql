-- The contact cache keeps a server's claims only inside the block its
-- referrer delegated to it (see lib/cache.c).  Rows learnt before this
-- migration carry no record of the delegation they were learnt under, so
-- none of them can be shown to respect it: a cover planted by a referred
-- or on-path server ("0.0.0.0 - 255.255.255.255", ASSIGNED PA) looks like
-- any other.  Drop them all; the cache refills at about one query per
-- registration, and nothing else refers to these tables.
DELETE FROM whois_cover;
DELETE FROM whois_net;

-- One WHOIS budget for all daemons on this database (lib/budget.c): per
-- server the earliest start of the next query any daemon may send, and
-- until when every daemon leaves it alone after it refused or throttled.
CREATE TABLE whois_budget (
	server      text PRIMARY KEY,
	next_at     timestamptz NOT NULL,
	open_until  timestamptz
);
