-- Contact cache: what the registries said about their networks, so that a
-- campaign asks once per registration, not once per IP.  See lib/cache.c
-- for the correctness rule.
--
-- whois_net: one row per registration a registry holds (first..last
-- address, so non-CIDR inetnums fit).  status 'ok' (email), 'none' (the
-- registry has no usable abuse address; reason), or 'unknown' (we know the
-- network exists, e.g. from a more-specific listing, but not its contact).
CREATE TABLE whois_net (
	registry    text NOT NULL,
	first_ip    inet NOT NULL,
	last_ip     inet NOT NULL,
	net_text    text,
	status      text NOT NULL CHECK (status IN ('ok', 'none', 'unknown')),
	email       text,
	source      text,
	chain       text,
	reason      text,
	raw_answer  text,
	fetched_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz NOT NULL,
	PRIMARY KEY (registry, first_ip, last_ip)
);
CREATE INDEX whois_net_first ON whois_net (first_ip);

-- whois_cover: ranges for which whois_net holds every registration the
-- registry has inside them (learnt from a more-specific listing, or
-- implied by a status that forbids more specifics).
CREATE TABLE whois_cover (
	registry    text NOT NULL,
	first_ip    inet NOT NULL,
	last_ip     inet NOT NULL,
	how         text NOT NULL,
	fetched_at  timestamptz NOT NULL DEFAULT now(),
	expires_at  timestamptz NOT NULL,
	PRIMARY KEY (registry, first_ip, last_ip)
);
CREATE INDEX whois_cover_first ON whois_cover (first_ip);
