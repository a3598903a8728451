# ipwarn — build, test, demo.
#
#   make              build bin/ipwarnd and bin/ipwarn
#   make check        install missing Debian packages, build, run every test
#   make check-asan   the same under AddressSanitizer + UndefinedBehaviorSanitizer
#   make demo         run a small campaign end to end on loopback stand-ins
#   make report-png   the report of a demo campaign, rendered to doc/report.png
#   make fuzz         build the libFuzzer targets (clang); make check runs
#                     them on the real inputs through tests/fuzz/replay.c
#   make bench        delivery: ipwarnd vs smtp-source vs a Python baseline
#   make bench-whois  contact resolution: cached vs one query per IP
#   make bench-bounces  the bounce parser against the labelled corpus
#   make install      PREFIX=/usr/local DESTDIR= SYSCONFDIR=/etc: programs,
#                     man pages, locales, systemd unit, sysusers.d and
#                     tmpfiles.d; the configuration only if absent
#   make uninstall    all of that but the configuration
#   make deb          a Debian package (dpkg-buildpackage -b) in build/deb
#   make check-deb    build it, lintian, install here, check, purge (root)
#
# Library modules are lib/*.c (one .h each) collected into libipwarn.a;
# every tests/unit/test_*.c becomes one cmocka test program.

PKGS     := libesmtp-1.0 libpq libconfig libmaxminddb openssl libmicrohttpd
CC       ?= cc
BUILD    ?= build
BIN      ?= bin
SAN      ?=
OPT      ?= -O2

PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null)

CFLAGS_BASE := -std=c11 -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE \
	-Wall -Wextra -Werror -Wshadow -Wvla -Wformat=2 -Wstrict-prototypes \
	-Wmissing-prototypes -g $(OPT) -Ilib -I$(BUILD) $(PKG_CFLAGS)
ifeq ($(SAN),1)
CFLAGS_BASE += -fsanitize=address,undefined -fno-omit-frame-pointer \
	-fno-sanitize-recover=undefined
LDFLAGS_SAN := -fsanitize=address,undefined
endif
VERSION  := $(shell cat VERSION 2>/dev/null || echo 0.0.0)
CFLAGS_ALL = $(CFLAGS_BASE) -DIW_VERSION='"$(VERSION)"' $(CPPFLAGS) $(CFLAGS)
LDLIBS_ALL = $(PKG_LIBS) -lpthread -lm $(LDLIBS)

LIB_SRC  := $(wildcard lib/*.c)
LIB_OBJ  := $(patsubst %.c,$(BUILD)/%.o,$(LIB_SRC)) $(BUILD)/sql_embed.o
LIB_A    := $(BUILD)/libipwarn.a
D_SRC    := $(wildcard daemon/*.c)
D_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(D_SRC))
C_SRC    := $(wildcard cli/*.c)
C_OBJ    := $(patsubst %.c,$(BUILD)/%.o,$(C_SRC))
UT_SRC   := $(wildcard tests/unit/test_*.c)
UT_BIN   := $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UT_SRC))
IT_SRC   := $(wildcard tests/integration/test_*.c)
IT_BIN   := $(patsubst tests/integration/%.c,$(BUILD)/tests/it_%,$(IT_SRC))
# The libFuzzer targets, built with tests/fuzz/replay.c as their main():
# make check runs them on the real inputs (tests/fixtures, ../shared/corpus).
FZ_SRC   := $(wildcard tests/fuzz/fuzz_*.c)
FZ_BIN   := $(patsubst tests/fuzz/%.c,$(BUILD)/tests/%,$(FZ_SRC))
SQL      := $(sort $(wildcard sql/[0-9][0-9][0-9]_*.sql))

.PHONY: all check check-unit check-integration check-asan demo deps clean \
	report-png \
	fuzz bench bench-whois bench-bounces install uninstall deb check-deb
all: $(BIN)/ipwarnd $(BIN)/ipwarn

$(BUILD)/%.o: %.c $(wildcard lib/*.h daemon/*.h cli/*.h) | $(BUILD)/sql_embed.h
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

# One run makes both files (a grouped target: make -j runs it once).
$(BUILD)/sql_embed.c $(BUILD)/sql_embed.h &: $(SQL) tools/embed-sql
	@mkdir -p $(BUILD)
	sh tools/embed-sql $(BUILD)/sql_embed $(SQL)

$(BUILD)/sql_embed.o: $(BUILD)/sql_embed.c
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(LIB_A): $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(BIN)/ipwarnd: $(D_OBJ) $(LIB_A)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_SAN) $(LDFLAGS) -o $@ $(D_OBJ) $(LIB_A) $(LDLIBS_ALL)

$(BIN)/ipwarn: $(C_OBJ) $(LIB_A)
	@mkdir -p $(BIN)
	$(CC) $(LDFLAGS_SAN) $(LDFLAGS) -o $@ $(C_OBJ) $(LIB_A) $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit $(LDFLAGS_SAN) -o $@ $< $(LIB_A) \
		$(LDLIBS_ALL) -lcmocka

$(BUILD)/tests/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/replay.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_SAN) -o $@ $< tests/fuzz/replay.c \
		$(LIB_A) $(LDLIBS_ALL)

$(BUILD)/tests/it_%: tests/integration/%.c $(LIB_A)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS_ALL) -Itests/unit $(LDFLAGS_SAN) -o $@ $< $(LIB_A) \
		$(LDLIBS_ALL) -lcmocka

deps:
	@sh tools/deps

check: deps
	@$(MAKE) --no-print-directory all $(UT_BIN) $(FZ_BIN) $(IT_BIN)
	@IW_BUILD=$(BUILD) IW_BIN=$(BIN) sh tests/run $(UT_BIN) $(FZ_BIN) \
		$(IT_BIN)

check-unit: all $(UT_BIN) $(FZ_BIN)
	@IW_BUILD=$(BUILD) IW_BIN=$(BIN) IW_ONLY=unit sh tests/run $(UT_BIN) \
		$(FZ_BIN)

check-integration: all $(IT_BIN)
	@IW_BUILD=$(BUILD) IW_BIN=$(BIN) IW_ONLY=integration sh tests/run $(IT_BIN)

check-asan: deps
	@$(MAKE) --no-print-directory BUILD=build/asan BIN=build/asan/bin \
		SAN=1 OPT=-O1 check

demo: deps
	@$(MAKE) --no-print-directory all
	@IW_BIN=$(BIN) $(PYTHON) tools/demo

# The README's picture: `ipwarn report --format html` of a demo campaign
# (control group, three simulated later scans) in headless Chromium.
report-png: deps
	@$(MAKE) --no-print-directory all
	@IW_BIN=$(BIN) $(PYTHON) tools/report-demo doc/report.png

# Benchmarks print ipwarn's figures next to a baseline measured in the same
# run; they assert nothing.  N= sets the number of letters for `make bench`.
N       ?= 50000
CORPUS  ?= ../shared/corpus/bounces
PYTHON  := $(shell command -v /usr/bin/python3 || command -v python3)

bench: deps
	@$(MAKE) --no-print-directory all
	@IW_BIN=$(BIN) $(PYTHON) bench/delivery.py $(N)

bench-whois: deps
	@$(MAKE) --no-print-directory all
	@IW_BIN=$(BIN) $(PYTHON) bench/whois.py

bench-bounces: $(BUILD)/bench_bounces
	@$(BUILD)/bench_bounces $(CORPUS)

$(BUILD)/bench_bounces: bench/bench_bounces.c $(LIB_A)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS_SAN) -o $@ $< $(LIB_A) $(LDLIBS_ALL)

fuzz:
	@sh tests/fuzz/build $(BUILD)/fuzz

# --- installation (layout: ../shared/CONTRACT.md, "Installed layout") ---
PREFIX      ?= /usr/local
SYSCONFDIR  ?= /etc
BINDIR      ?= $(PREFIX)/bin
SBINDIR     ?= $(PREFIX)/sbin
DATADIR     ?= $(PREFIX)/share
MANDIR      ?= $(DATADIR)/man
# Debian (bookworm) keeps packaged units in /lib; elsewhere under PREFIX.
ifeq ($(PREFIX),/usr)
UNITDIR     ?= /lib/systemd/system
else
UNITDIR     ?= $(PREFIX)/lib/systemd/system
endif
SYSUSERSDIR ?= $(PREFIX)/lib/sysusers.d
TMPFILESDIR ?= $(PREFIX)/lib/tmpfiles.d
CONF        := $(DESTDIR)$(SYSCONFDIR)/ipwarn/ipwarn.conf
LOCALES     := $(wildcard locales/*)

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(SBINDIR) \
		$(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man8 \
		$(DESTDIR)$(DATADIR)/ipwarn/locales $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR) \
		$(DESTDIR)$(SYSCONFDIR)/ipwarn
	install -m 755 $(BIN)/ipwarnd $(DESTDIR)$(SBINDIR)/ipwarnd
	install -m 755 $(BIN)/ipwarn $(DESTDIR)$(BINDIR)/ipwarn
	install -m 644 man/ipwarn.1 $(DESTDIR)$(MANDIR)/man1/ipwarn.1
	install -m 644 man/ipwarnd.8 $(DESTDIR)$(MANDIR)/man8/ipwarnd.8
	install -m 644 $(LOCALES) $(DESTDIR)$(DATADIR)/ipwarn/locales/
	sed -e 's|@SBINDIR@|$(SBINDIR)|g' -e 's|@SYSCONFDIR@|$(SYSCONFDIR)|g' \
		etc/systemd/ipwarnd.service.in > $(DESTDIR)$(UNITDIR)/ipwarnd.service
	chmod 644 $(DESTDIR)$(UNITDIR)/ipwarnd.service
	install -m 644 etc/sysusers.d/ipwarn.conf $(DESTDIR)$(SYSUSERSDIR)/ipwarn.conf
	install -m 644 etc/tmpfiles.d/ipwarn.conf $(DESTDIR)$(TMPFILESDIR)/ipwarn.conf
	@# The operator's file is never overwritten.  Mode 640: it holds
	@# secrets; group ipwarn (when it exists) so the service can read it.
	@if [ -e $(CONF) ]; then \
		echo "keeping $(CONF)"; \
	else \
		sed 's|^\(  directory *= *\)"\.\./locales";|\1"$(DATADIR)/ipwarn/locales";|' \
			etc/ipwarn.conf > $(CONF).tmp && \
		chmod 640 $(CONF).tmp && \
		{ getent group ipwarn >/dev/null && [ -z "$(DESTDIR)" ] && \
			chgrp ipwarn $(CONF).tmp || true; } && \
		mv $(CONF).tmp $(CONF) && echo "installed $(CONF)"; \
	fi

uninstall:
	rm -f $(DESTDIR)$(SBINDIR)/ipwarnd $(DESTDIR)$(BINDIR)/ipwarn \
		$(DESTDIR)$(MANDIR)/man1/ipwarn.1 $(DESTDIR)$(MANDIR)/man8/ipwarnd.8 \
		$(DESTDIR)$(UNITDIR)/ipwarnd.service \
		$(DESTDIR)$(SYSUSERSDIR)/ipwarn.conf \
		$(DESTDIR)$(TMPFILESDIR)/ipwarn.conf
	rm -rf $(DESTDIR)$(DATADIR)/ipwarn
	@echo "kept $(CONF) (yours; remove it by hand)"

# A Debian package of the same layout, built from a copy of the tree in
# $(BUILD)/deb so that dpkg-buildpackage's output (../*.deb) stays there.
DEB_DIR := $(BUILD)/deb
deb:
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/ipwarn-$(VERSION)
	tar --exclude=./build --exclude=./bin --exclude=./.git --exclude=./tmp \
		-cf - . | tar -C $(DEB_DIR)/ipwarn-$(VERSION) -xf -
	cd $(DEB_DIR)/ipwarn-$(VERSION) && dpkg-buildpackage -b -us -uc
	@ls $(DEB_DIR)/*.deb

# Build the package, lint it, install it on this machine, check the user
# and files, purge it (tests/package/check-deb; a few minutes).
check-deb: deps
	@$(MAKE) --no-print-directory deb
	@sh tests/package/check-deb $(DEB_DIR)

clean:
	rm -rf build bin
