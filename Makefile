# rless — rootless containers.  `make`, `make check`, `make install`, `make bench`, `make demo`.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/rless
DESTDIR    ?=
CC         ?= cc
PKG_CONFIG ?= pkg-config
BUILD      ?= build

PKGS     := libcap jansson libcurl libarchive libcrypto libseccomp
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter
VERSION  := 0.1.0
CPPFLAGS += -D_GNU_SOURCE -Iinclude -DRL_VERSION='"$(VERSION)"' -DRL_LIBEXECDIR='"$(LIBEXECDIR)"'
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags $(PKGS)) -MMD -MP
# --as-needed with a static archive: each binary gets only the objects and
# shared libraries its own call graph reaches, so `rless run` never loads
# libcurl, libarchive or libcrypto (they cost ~10 ms of start-up).
# libsubid is dlopen()ed for the lookup only (src/idmap.c): not linked.
LIBS     := -Wl,--as-needed $(shell $(PKG_CONFIG) --libs $(PKGS))

SRCS     := $(wildcard src/*.c)
OBJS     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
MAINS    := $(BUILD)/obj/main.o $(BUILD)/obj/main_image.o
LIB_OBJS := $(filter-out $(MAINS),$(OBJS))
LIBA     := $(BUILD)/librless.a
UNIT_SRCS:= $(wildcard tests/unit/test_*.c)
UNIT_BINS:= $(patsubst tests/unit/%.c,$(BUILD)/tests/%,$(UNIT_SRCS))

all: $(BUILD)/rless $(BUILD)/rless-image $(BUILD)/rless-init

# V=1 shows the whole commands.
Q := $(if $(V),,@)

$(BUILD)/obj/%.o: src/%.c | $(BUILD)/obj
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) -c -o $@ $<

$(BUILD)/obj $(BUILD)/tests:
	mkdir -p $@

$(LIBA): $(LIB_OBJS)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/rless: $(BUILD)/obj/main.o $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/rless-image: $(BUILD)/obj/main_image.o $(LIBA)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# pid 1 inside containers: static so it runs in any rootfs, tiny so it costs nothing.
$(BUILD)/rless-init: helpers/rless-init.c | $(BUILD)/obj
	$(CC) -std=gnu11 $(WARN) -O2 -static -D_GNU_SOURCE -o $@ $<

# test-only: tries every call the default seccomp profile denies (tests/integration/t_seccomp.sh).
$(BUILD)/seccomp-probe: tests/fixtures/seccomp-probe.c | $(BUILD)/obj
	$(CC) -std=gnu11 $(WARN) -O2 -static -D_GNU_SOURCE -o $@ $<
unit: $(BUILD)/seccomp-probe

$(BUILD)/tests/%: tests/unit/%.c $(LIBA) | $(BUILD)/tests
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) -o $@ $< $(LIBA) \
	  $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# check and demo install what they need first (apt-get; sudo when not root; a no-op when
# everything is there), so they pass on a fresh Debian 12 machine.
check: deps
	$(MAKE) all unit
	@echo "== the registry client against real registries (tests/registry/run-tests.sh)"
	bash tests/registry/run-tests.sh $(BUILD)/tests/test_registry
	bash tests/integration/run.sh

deps:
	bash contrib/install-deps.sh

demo: deps
	$(MAKE) all
	bash contrib/demo.sh

bench: all
	bash tests/bench/run.sh

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBEXECDIR)
	install -m 0755 $(BUILD)/rless $(DESTDIR)$(BINDIR)/rless
	install -m 0755 $(BUILD)/rless-init $(DESTDIR)$(LIBEXECDIR)/rless-init
	install -m 0755 $(BUILD)/rless-image $(DESTDIR)$(LIBEXECDIR)/rless-image

format:
	clang-format -i src/*.c include/*.h helpers/*.c tests/unit/*.c

format-check:
	clang-format --dry-run -Werror src/*.c include/*.h helpers/*.c tests/unit/*.c

clean:
	rm -rf $(BUILD)

.PHONY: all unit check deps demo bench install format format-check clean
-include $(OBJS:.o=.d)
