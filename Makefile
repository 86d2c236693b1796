# One build for everything: libraries per folder, thin programs, Criterion unit tests, e2e scripts.
#
#   make               build mda, newaliases, mail into $(BUILD)/
#   make test          unit tests (one Criterion binary) + end-to-end scripts
#   make check-asan    the same tests built with AddressSanitizer + UBSan in build-asan/
#   make unit-MODULE   build and run only tests/unit/test_MODULE*.c (MODULE = mbox, aliases, ...)
#   make install       PREFIX=/usr/local DESTDIR=
#   make bench | torture | fuzz   evidence that is not part of `make test` (torture QUICK=1: CI sizes)

# The project's version: --version of every program and the man pages' footer
# (tests/e2e/mda_manpages.sh checks that they agree).
VERSION  = 1.1.0
CC      ?= gcc
BUILD   ?= build
PREFIX  ?= /usr/local
# Debian's layout: /etc for a package (PREFIX=/usr), PREFIX/etc for a local install.
SYSCONFDIR ?= $(if $(filter /usr,$(PREFIX)),/etc,$(PREFIX)/etc)
DESTDIR ?=
SAN     ?= 0
# Objects live apart from the programs: $(BUILD)/mda is the program, so the object
# directory cannot also be $(BUILD)/mda/.
OBJ      = $(BUILD)/obj

CFLAGS  ?= -O2 -g
CFLAGS  += -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -I.
LOCKFILE_VERSION := $(shell dpkg-query -W -f='$${Version}' liblockfile-dev 2>/dev/null | sed 's/-[^-]*$$//')
VERSION_DEFS = -DMDA_VERSION='"$(VERSION)"' -DMDA_LOCKFILE_VERSION='"$(or $(LOCKFILE_VERSION),unknown)"'
CFLAGS  += $(shell pkg-config --cflags libpcre2-8 2>/dev/null)
LDLIBS  += $(shell pkg-config --libs libpcre2-8 2>/dev/null || echo -lpcre2-8) -lgdbm -llockfile
CRITERION_LIBS = $(shell pkg-config --libs criterion 2>/dev/null || echo -lcriterion)

ifeq ($(SAN),1)
CFLAGS  += -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
LDFLAGS += -fsanitize=address,undefined
endif
# libFuzzer build (clang): libraries instrumented for coverage, targets linked by tests/fuzz/run.sh.
ifeq ($(SAN),fuzz)
CFLAGS  += -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

MODULES  = common mbox aliases forward mda mailcmd sieve
# Library dependencies of each module, in link order.
DEPS_common  = common
DEPS_mbox    = mbox common
DEPS_aliases = aliases mbox common
DEPS_forward = forward common
DEPS_mda     = mda sieve aliases forward mbox common
DEPS_mailcmd = mailcmd mbox common
DEPS_sieve   = sieve mbox common

# Files holding a program's main() are not part of the module's library.
MAINS = mda/main.c aliases/newaliases.c mailcmd/main.c sieve/sievec.c sieve/sieve_test.c
lib_srcs = $(filter-out $(MAINS),$(wildcard $(1)/*.c))
lib_objs = $(patsubst %.c,$(OBJ)/%.o,$(call lib_srcs,$(1)))
lib_file = $(BUILD)/lib$(1).a
libs_for = $(foreach m,$(DEPS_$(1)),$(call lib_file,$(m)))

PROGRAMS = $(BUILD)/mda $(BUILD)/newaliases $(BUILD)/mail $(BUILD)/mda-sievec $(BUILD)/mda-sieve-test

.PHONY: all test check-asan install uninstall clean bench torture fuzz unit e2e
all: $(PROGRAMS)

$(OBJ)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -MMD -MP -c $< -o $@

# Only config.o knows SYSCONFDIR; the stamp's name carries the value, so another PREFIX
# rebuilds it (and the programs) before `make install` copies them.
SYSCONF_STAMP = $(BUILD)/gen/sysconfdir$(subst /,_,$(SYSCONFDIR))
$(SYSCONF_STAMP):
	@mkdir -p $(dir $@)
	@rm -f $(BUILD)/gen/sysconfdir_*
	@touch $@
$(OBJ)/common/config.o: common/config.c $(SYSCONF_STAMP)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -DMDA_SYSCONFDIR='"$(SYSCONFDIR)"' -MMD -MP -c $< -o $@

# Only this object knows the version: a new VERSION rebuilds one file.
$(OBJ)/common/version.o: common/version.c Makefile
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(VERSION_DEFS) -MMD -MP -c $< -o $@

define module_lib
$(call lib_file,$(1)): $(call lib_objs,$(1))
	@mkdir -p $$(dir $$@)
	rm -f $$@
	$$(AR) rcs $$@ $$^
endef
$(foreach m,$(MODULES),$(eval $(call module_lib,$(m))))

$(BUILD)/mda: $(OBJ)/mda/main.o $(call libs_for,mda)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/newaliases: $(OBJ)/aliases/newaliases.o $(call libs_for,aliases)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/mail: $(OBJ)/mailcmd/main.o $(call libs_for,mailcmd)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/mda-sievec: $(OBJ)/sieve/sievec.o $(call libs_for,sieve)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)
$(BUILD)/mda-sieve-test: $(OBJ)/sieve/sieve_test.o $(call libs_for,sieve)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

# Unit tests: tests/unit/test_MODULE*.c. `make test` links them all into one Criterion binary so
# there is one summary; unit-MODULE builds only that module's tests (handy while others are mid-edit).
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_OBJS = $(patsubst %.c,$(OBJ)/%.o,$(UNIT_SRCS)) $(OBJ)/tests/unit/helpers.o
$(BUILD)/tests/unit/all: $(UNIT_OBJS) $(call libs_for,mailcmd) $(call libs_for,mda) $(call libs_for,sieve)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(UNIT_OBJS) $(foreach m,mailcmd mda sieve aliases forward mbox common,$(call lib_file,$(m))) $(LDLIBS) $(CRITERION_LIBS)

define module_unit
$(BUILD)/tests/unit/only-$(1): $(patsubst %.c,$(OBJ)/%.o,$(wildcard tests/unit/test_$(1)*.c)) $(OBJ)/tests/unit/helpers.o $(call libs_for,$(1))
	@mkdir -p $$(dir $$@)
	$$(CC) $$(LDFLAGS) -o $$@ $$^ $$(LDLIBS) $$(CRITERION_LIBS)
.PHONY: unit-$(1)
unit-$(1): $(BUILD)/tests/unit/only-$(1) $(PROGRAMS_$(1))
	$(BUILD)/tests/unit/only-$(1) $$(CRITERION_FLAGS)
endef
$(foreach m,$(MODULES),$(eval $(call module_unit,$(m))))

# unit-lmtp: the LMTP state machine's tests link only mda/lmtp_proto.o and libcommon (the
# protocol is tested with a fake delivery, so it does not need the rest of mda to link).
LMTP_UNIT_OBJS = $(patsubst %.c,$(OBJ)/%.o,$(wildcard tests/unit/test_mda_lmtp*.c)) $(OBJ)/tests/unit/helpers.o
$(BUILD)/tests/unit/only-lmtp: $(LMTP_UNIT_OBJS) $(OBJ)/mda/lmtp_proto.o $(OBJ)/mda/lmtp_params.o $(call lib_file,common)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CRITERION_LIBS)
.PHONY: unit-lmtp
unit-lmtp: $(BUILD)/tests/unit/only-lmtp
	$(BUILD)/tests/unit/only-lmtp $(CRITERION_FLAGS)

# unit-expand: the expansion engine's tests link only mda/expand*.o and the libraries they use,
# so they run while the rest of mda/ is being written.
EXPAND_UNIT_OBJS = $(patsubst %.c,$(OBJ)/%.o,$(wildcard tests/unit/test_mda_expand*.c)) $(OBJ)/tests/unit/helpers.o
$(BUILD)/tests/unit/only-expand: $(EXPAND_UNIT_OBJS) $(OBJ)/mda/expand.o $(OBJ)/mda/expand_list.o $(foreach m,aliases forward mbox common,$(call lib_file,$(m)))
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS) $(CRITERION_LIBS)
.PHONY: unit-expand
unit-expand: $(BUILD)/tests/unit/only-expand
	$(BUILD)/tests/unit/only-expand $(CRITERION_FLAGS)

# The fuzz targets linked with tests/fuzz/replay.c instead of libFuzzer (any compiler): `make
# test` replays each seed corpus and kept crash input through them (tests/e2e/fuzz_replay.sh).
FUZZ_REPLAYS = $(patsubst tests/fuzz/%.c,$(BUILD)/tests/fuzz/%,$(wildcard tests/fuzz/fuzz_*.c))
$(BUILD)/tests/fuzz/fuzz_%: $(OBJ)/tests/fuzz/fuzz_%.o $(OBJ)/tests/fuzz/replay.o $(call libs_for,mailcmd) $(call libs_for,mda) $(call libs_for,sieve)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) -o $@ $(filter %.o,$^) $(foreach m,mailcmd mda sieve aliases forward mbox common,$(call lib_file,$(m))) $(LDLIBS)

unit: $(BUILD)/tests/unit/all $(PROGRAMS)
	BUILD=$(BUILD) $(BUILD)/tests/unit/all $(CRITERION_FLAGS)

e2e: $(PROGRAMS) $(FUZZ_REPLAYS)
	BUILD=$(BUILD) tests/run-e2e.sh

test: $(BUILD)/tests/unit/all $(PROGRAMS) $(FUZZ_REPLAYS)
	@BUILD=$(BUILD) tests/run-all.sh

check-asan:
	$(MAKE) BUILD=build-asan SAN=1 test

install: all
	BUILD=$(BUILD) PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) SYSCONFDIR=$(SYSCONFDIR) scripts/install.sh install

uninstall:
	BUILD=$(BUILD) PREFIX=$(PREFIX) DESTDIR=$(DESTDIR) SYSCONFDIR=$(SYSCONFDIR) scripts/install.sh uninstall

bench: all
	BUILD=$(BUILD) bench/run.sh

torture: all
	BUILD=$(BUILD) tests/torture/run.sh

# FUZZ_SECONDS per target (default 60); CI runs `make fuzz FUZZ_SECONDS=10` as a smoke test.
fuzz:
	tests/fuzz/run.sh

clean:
	rm -rf build build-asan build-fuzz

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)
