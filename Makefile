# rless — rootless containers.  `make`, `make check`, `make install`, `make bench`, `make demo`.
PREFIX     ?= /usr/local
BINDIR     ?= $(PREFIX)/bin
LIBEXECDIR ?= $(PREFIX)/libexec/rless
DESTDIR    ?=
CC         ?= cc
PKG_CONFIG ?= pkg-config
# SANITIZE=address,undefined: everything but the static helpers built with those sanitizers,
# in a tree of its own (build/san-address-undefined) so the normal build is untouched.
comma      := ,
SANITIZE   ?=
BUILD      ?= $(if $(SANITIZE),build/san-$(subst $(comma),-,$(SANITIZE)),build)

PKGS     := libcap jansson libcurl libarchive libcrypto libseccomp
CFLAGS   ?= -O2 -g
WARN     := -Wall -Wextra -Werror -Wformat=2 -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
            -Wno-unused-parameter
VERSION  := 0.1.0
CPPFLAGS += -D_GNU_SOURCE -Iinclude -DRL_VERSION='"$(VERSION)"' -DRL_LIBEXECDIR='"$(LIBEXECDIR)"'
ALL_CFLAGS = -std=gnu11 $(WARN) $(CFLAGS) $(shell $(PKG_CONFIG) --cflags $(PKGS)) -MMD -MP $(SAN_FLAGS)
# --as-needed with a static archive: each binary gets only the objects and
# shared libraries its own call graph reaches, so `rless run` never loads
# libcurl, libarchive or libcrypto (they cost ~10 ms of start-up).
# libsubid is dlopen()ed for the lookup only (src/idmap.c): not linked.
# -z now (with -z relro: full RELRO): every symbol is bound at start, so the GOT is read-only and
# a forked monitor never enters ld.so or libc's symbol tables again (its memory, src/memtrim.c).
# STATIC_PKGS: the small libraries every start needs, linked from their archives: each shared
# object costs a start ~0.1 ms on this kind of VM (its mappings, relocations and page faults),
# a third of the way to bubblewrap's start time. `make STATIC_PKGS=` links them all shared
# (distributions that rebuild on a library's security update either way may prefer that).
STATIC_PKGS ?= libcap jansson libseccomp
LIBS     := -Wl,--as-needed -Wl,-z,relro,-z,now \
            $(if $(STATIC_PKGS),-Wl$(comma)-Bstatic $(shell $(PKG_CONFIG) --libs-only-l $(STATIC_PKGS)) -Wl$(comma)-Bdynamic) \
            $(shell $(PKG_CONFIG) --libs $(filter-out $(STATIC_PKGS),$(PKGS)))
# UBSan fatal like ASan: a finding fails the test that hit it instead of scrolling by. The
# runtime options are compiled in (tests/fuzz/san_defaults.c): the integration tests run rless
# under `env -i`, and detached monitors have no stderr, so reports go to files in SAN_REPORTS
# that fail the step (tests/fuzz/san-run.sh). LeakSanitizer stays on: it only runs at exit() of
# the commands' own processes, in the host's namespaces (the ones forked into a container's
# namespaces exec or _exit), so it never meets a namespace it cannot stop the world in.
SAN_FLAGS := $(if $(SANITIZE),-fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer)
LDFLAGS  += $(SAN_FLAGS)

SRCS     := $(wildcard src/*.c)
OBJS     := $(patsubst src/%.c,$(BUILD)/obj/%.o,$(SRCS))
MAINS    := $(BUILD)/obj/main.o $(BUILD)/obj/main_image.o
LIB_OBJS := $(filter-out $(MAINS),$(OBJS))
LIBA     := $(BUILD)/librless.a
# The sanitizers' compiled-in defaults, in sanitized builds only: an object of its own, since
# nothing references them and an archive member would not be linked.
SAN_OBJ  := $(if $(SANITIZE),$(BUILD)/obj/san_defaults.o)
SAN_REPORTS := /tmp/rless-sanitizer-reports
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

# Runs before the sanitizers are set up: built without them.
$(BUILD)/obj/san_defaults.o: tests/fuzz/san_defaults.c | $(BUILD)/obj
	$(Q)$(CC) $(CPPFLAGS) -std=gnu11 $(WARN) $(CFLAGS) -DRL_SAN_REPORTS='"$(SAN_REPORTS)"' -c -o $@ $<

$(LIBA): $(LIB_OBJS)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(BUILD)/rless: $(BUILD)/obj/main.o $(LIBA) $(SAN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

$(BUILD)/rless-image: $(BUILD)/obj/main_image.o $(LIBA) $(SAN_OBJ)
	$(CC) $(LDFLAGS) -o $@ $^ $(LIBS)

# pid 1 inside containers: static so it runs in any rootfs, tiny so it costs nothing. Every
# container process executes it from a memfd copy (src/init_memfd.c): with musl it is 35 KB
# and starts in a tenth of the time of glibc's 770 KB, which is copied and initialised
# (CPU features, IRELATIVE relocations, tunables) on every start. glibc when musl-gcc is absent.
INIT_CC  ?= $(or $(shell command -v musl-gcc 2>/dev/null),$(CC))
$(BUILD)/rless-init: helpers/rless-init.c | $(BUILD)/obj
	$(INIT_CC) -std=gnu11 $(WARN) -O2 -static -s -D_GNU_SOURCE -o $@ $<

# test-only: tries every call the default seccomp profile denies (tests/integration/t_seccomp.sh).
$(BUILD)/seccomp-probe: tests/fixtures/seccomp-probe.c | $(BUILD)/obj
	$(CC) -std=gnu11 $(WARN) -O2 -static -D_GNU_SOURCE -o $@ $<
unit: $(BUILD)/seccomp-probe

$(BUILD)/tests/%: tests/unit/%.c $(LIBA) $(SAN_OBJ) | $(BUILD)/tests
	@$(if $(Q),echo "  CC      $<")
	$(Q)$(CC) $(CPPFLAGS) $(ALL_CFLAGS) $(shell $(PKG_CONFIG) --cflags cmocka) -o $@ $< $(SAN_OBJ) $(LIBA) \
	  $(LIBS) $(shell $(PKG_CONFIG) --libs cmocka)

unit: $(UNIT_BINS)
	@set -e; for t in $(UNIT_BINS); do echo "== $$t"; $$t; done

# ---- fuzzing: libFuzzer targets, one per parser of untrusted input (tests/fuzz/fuzz_*.c) ----
# Built with clang into build/fuzz/ against a librless.a of their own (coverage-instrumented,
# ASan and fatal UBSan), whatever BUILD and SANITIZE say. tests/fuzz/run.sh runs each target on
# its regression inputs (tests/fuzz/regress/NAME/), then fuzzes it from its seeds
# (tests/fuzz/corpus/NAME/, only read). `make fuzz`: FUZZ_TIME seconds each, new inputs kept in
# build/fuzz/corpus/; `make check`: FUZZ_CHECK_TIME seconds each on a throw-away corpus
# (0 under SANITIZE: the same fuzzers already ran in the plain check; seeds and regression
# inputs still run). FUZZ_JOBS targets at once.
FUZZ_CC         ?= clang
FUZZ_TIME       ?= 60
FUZZ_CHECK_TIME ?= $(if $(SANITIZE),0,10)
FUZZ_JOBS       ?= 2
FUZZ_DIR        := build/fuzz
FUZZ_SAN        := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
# clang-only warnings in src/ are shown, not fatal: gcc -Werror is the project's gate.
FUZZ_CFLAGS      = -std=gnu11 -g -O1 $(FUZZ_SAN) $(shell $(PKG_CONFIG) --cflags $(PKGS)) -MMD -MP
FUZZ_SRCS       := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_BINS       := $(patsubst tests/fuzz/%.c,$(FUZZ_DIR)/%,$(FUZZ_SRCS))
FUZZ_OBJS       := $(patsubst src/%.c,$(FUZZ_DIR)/obj/%.o,$(filter-out src/main.c src/main_image.c,$(SRCS)))
# Can $(FUZZ_CC) link a libFuzzer program? (Debian: clang and libclang-rt-14-dev.)
FUZZ_PROBE       = { mkdir -p $(FUZZ_DIR) && printf 'int LLVMFuzzerTestOneInput(const char *d, unsigned long n) { return 0; }\n' | \
                   $(FUZZ_CC) -x c -fsanitize=fuzzer,address,undefined -o $(FUZZ_DIR)/probe - >/dev/null 2>&1; }
FUZZ_MISSING     = $(FUZZ_CC) cannot build libFuzzer targets: install clang and libclang-rt-14-dev (contrib/install-deps.sh)

$(FUZZ_DIR)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(CPPFLAGS) $(filter-out -Werror,$(WARN)) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -c -o $@ $<

$(FUZZ_DIR)/librless.a: $(FUZZ_OBJS)
	$(Q)rm -f $@
	$(Q)$(AR) rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c tests/fuzz/fuzz.h $(FUZZ_DIR)/librless.a
	@$(if $(Q),echo "  FUZZCC  $<")
	$(Q)$(FUZZ_CC) $(CPPFLAGS) -Isrc $(WARN) $(FUZZ_CFLAGS) -fsanitize=fuzzer -o $@ $< \
	  $(FUZZ_DIR)/librless.a $(LIBS)

fuzz-build: $(FUZZ_BINS)

fuzz:
	@$(FUZZ_PROBE) || { echo "make fuzz: $(FUZZ_MISSING)" >&2; exit 1; }
	$(MAKE) fuzz-build
	bash tests/fuzz/run.sh -k -t $(FUZZ_TIME) -j $(FUZZ_JOBS) $(FUZZ_DIR)

# Without clang the fuzz runs of `make check` are skipped, except under CI=true (install-deps
# installs clang there).
fuzz-check:
	@if ! $(FUZZ_PROBE); then \
	  if [ "$$CI" = true ] || [ "$$CI" = 1 ]; then echo "== fuzz: FAILED: $(FUZZ_MISSING)"; exit 1; fi; \
	  echo "== fuzz: SKIPPED: $(FUZZ_MISSING)"; \
	else \
	  $(MAKE) fuzz-build && echo "== fuzz targets, $(FUZZ_CHECK_TIME) s each (tests/fuzz/run.sh)" && \
	  bash tests/fuzz/run.sh -t $(FUZZ_CHECK_TIME) -j $(FUZZ_JOBS) $(FUZZ_DIR); \
	fi

# Under SANITIZE each step runs with an empty report dir the sanitized binaries log into
# (tests/fuzz/san_defaults.c); a report there fails the step (tests/fuzz/san-run.sh).
SAN_RUN := $(if $(SANITIZE),bash tests/fuzz/san-run.sh $(SAN_REPORTS))

# check and demo install what they need first (apt-get; sudo when not root; a no-op when
# everything is there), so they pass on a fresh Debian 12 machine.
check: deps
	$(MAKE) all
	$(SAN_RUN) $(MAKE) unit
	$(MAKE) fuzz-check
	@echo "== the registry client against real registries (tests/registry/run-tests.sh)"
	$(SAN_RUN) bash tests/registry/run-tests.sh $(BUILD)/tests/test_registry
	RLESS=$(abspath $(BUILD))/rless $(SAN_RUN) bash tests/integration/run.sh

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
	clang-format -i src/*.c include/*.h helpers/*.c tests/unit/*.c tests/fuzz/*.[ch]

format-check:
	clang-format --dry-run -Werror src/*.c include/*.h helpers/*.c tests/unit/*.c tests/fuzz/*.[ch]

clean:
	rm -rf $(BUILD)

# cgroup v2 tests in a systemd VM (qemu), for hosts that cannot delegate cgroups: tests/vm/README.md.
check-vm: all
	bash tests/vm/run.sh

.PHONY: all unit check deps demo bench install format format-check clean fuzz fuzz-build fuzz-check check-vm
-include $(OBJS:.o=.d) $(FUZZ_OBJS:.o=.d) $(FUZZ_BINS:=.d)
