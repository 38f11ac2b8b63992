# Userspace live patching with RPM delivery.  `make` builds into build/.
VERSION := 0.2.0
PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
LIBDIR ?= $(PREFIX)/lib64
MANDIR ?= $(PREFIX)/share/man
# Where rpm looks: its plugin and macro directories, the libdir packages use.
RPM_EVAL = $(shell rpm --eval '$(1)' 2>/dev/null)
RPM_LIBDIR ?= $(or $(call RPM_EVAL,%{_libdir}),/usr/lib64)
RPM_PLUGINDIR ?= $(or $(call RPM_EVAL,%{__plugindir}),/usr/lib64/rpm-plugins)
RPM_MACRODIR ?= $(or $(call RPM_EVAL,%{_rpmmacrodir}),/usr/lib/rpm/macros.d)
RPM_LIBEXECDIR ?= $(or $(call RPM_EVAL,%{_libexecdir}),/usr/libexec)
DESTDIR ?=

CC ?= gcc
CFLAGS ?= -O2 -g
STRICT := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror
CPPFLAGS += -Ilibpulp/include -Ilibpulp/lib -DULP_VERSION='"$(VERSION)"'
B := build
SHELL := /bin/bash

LIB_SRC := $(wildcard libpulp/lib/*.c)
TOOL_SRC := $(wildcard libpulp/tool/*.c)
LIB_OBJ := $(LIB_SRC:libpulp/%.c=$(B)/obj/%.o)
TOOL_OBJ := $(TOOL_SRC:libpulp/%.c=$(B)/obj/%.o)
HEADERS := $(wildcard libpulp/lib/*.h libpulp/tool/*.h libpulp/include/ulp/*.h)

BUILD_DEPS := gcc make libelf-dev libssl-dev librpm-dev rpm libsolv-dev libsolvext-dev \
  libarchive-dev libcurl4-openssl-dev libjson-c-dev
TEST_DEPS := bats bats-assert bats-support python3 binutils gdb procps groff-base openssl \
  zypper createrepo-c rpm2cpio gnupg curl xz-utils file dpkg-dev patch perl \
  ansible iproute2
FUZZ_DEPS := clang libclang-rt-14-dev

.PHONY: all deps test-deps fixtures check demo demo-tool bench fuzz install rpm clean format

all: $(B)/ulp $(B)/libpulp.so.0 $(B)/libulp.a $(B)/ulp_post_hook $(B)/rpm-plugin/ulp.so \
  $(B)/macros.ulp $(B)/ulp-catalog

$(B)/obj/%.o: libpulp/%.c $(HEADERS)
	@mkdir -p $(dir $@)
	@echo "  CC $<"; $(CC) $(STRICT) $(CFLAGS) $(CPPFLAGS) -fPIC -c -o $@ $<

$(B)/libulp.a: $(LIB_OBJ)
	rm -f $@
	ar rcs $@ $^

$(B)/ulp: $(TOOL_OBJ) $(B)/libulp.a
	$(CC) $(CFLAGS) -o $@ $(TOOL_OBJ) $(B)/libulp.a -lelf -lcrypto -ljson-c

# The %post helper and the rpm plugin: the same library as the tool.
HELPER_SRC := $(wildcard helpers/*.c)
$(B)/ulp_post_hook: $(HELPER_SRC) helpers/post_hook.h $(B)/libulp.a $(HEADERS)
	$(CC) $(STRICT) $(CFLAGS) $(CPPFLAGS) -DULP_LIBDIR='"$(RPM_LIBDIR)"' \
	  -o $@ $(HELPER_SRC) $(B)/libulp.a -lelf -lcrypto

# Only ulp_hooks is exported: the library's symbols stay out of rpm's way.
PLUGIN_SRC := $(wildcard rpm-plugin/*.c)
$(B)/rpm-plugin/ulp.so: $(PLUGIN_SRC) $(wildcard rpm-plugin/*.h) $(B)/libulp.a $(HEADERS)
	@mkdir -p $(dir $@)
	$(CC) $(STRICT) $(CFLAGS) $(CPPFLAGS) -fPIC -shared -fvisibility=hidden \
	  -Wl,--exclude-libs,ALL -Wl,-z,defs -o $@ $(PLUGIN_SRC) $(B)/libulp.a \
	  -lrpm -lrpmio -lelf -lcrypto

# The catalog tool: libsolv for metadata, libcurl to fetch, libarchive for
# payloads and tarballs, librpm for versions and signatures.
CATALOG_SRC := $(wildcard catalog/*.c)
$(B)/ulp-catalog: $(CATALOG_SRC) catalog/tool.h $(B)/libulp.a $(HEADERS)
	$(CC) $(STRICT) $(CFLAGS) $(CPPFLAGS) -o $@ $(CATALOG_SRC) $(B)/libulp.a \
	  -lsolvext -lsolv -lcurl -larchive -lrpm -lrpmio -lelf -lcrypto

$(B)/macros.ulp: macros.ulp
	@mkdir -p $(B)
	cp $< $@

# The runtime: no dependencies beyond libc, nothing exported but its API.
$(B)/libpulp.so.0: libpulp/runtime/runtime.c libpulp/include/ulp/state.h
	@mkdir -p $(B)
	$(CC) $(STRICT) $(CFLAGS) -Ilibpulp/include -fPIC -shared \
	  -fvisibility=hidden -Wl,-soname,libpulp.so.0 -o $@ $<
	ln -sf libpulp.so.0 $(B)/libpulp.so

# Installs what is missing with apt-get (needs root); quiet when all is there.
define need
	@missing=""; for p in $(1); do dpkg -s $$p >/dev/null 2>&1 || missing="$$missing $$p"; done; \
	if [ -n "$$missing" ]; then echo "installing:$$missing"; \
	  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $$missing >/dev/null; fi
endef

deps:
	$(call need,$(BUILD_DEPS))

test-deps: deps
	$(call need,$(TEST_DEPS))

# The Bats suite's fixtures (libraries, programs, containers) from
# tests/targets, and the rpm packages, under $(B)/tests.
fixtures: all
	$(MAKE) -C tests/targets OUT=$(CURDIR)/$(B)/tests ULPLIB=$(CURDIR)/$(B)/libulp.a
	$(MAKE) $(B)/tests/rpm/.built

# Packages of the rpm and zypper tests, built with rpmbuild.
RPM_FIXTURE_SRC := $(wildcard tests/rpm/*) $(wildcard spec-templates/*) macros.ulp \
  packaging/ulp.spec tests/targets/libdemo.c tests/pki.bash catalog/libdemo.catalog
$(B)/tests/rpm/.built: $(RPM_FIXTURE_SRC) $(B)/ulp $(B)/libpulp.so.0 $(B)/ulp-catalog
	tests/rpm/build-fixtures.sh $(CURDIR)/$(B)/tests/rpm $(CURDIR)/$(B)
	touch $@

# Bats prints TAP; the last line counts the results for CI.
check: test-deps
	$(MAKE) all
	$(MAKE) fixtures
	@set -o pipefail; ULP_BUILD=$(CURDIR)/$(B) bats --tap tests/ | tee $(B)/check.tap; \
	  rc=$$?; \
	  echo "$$(grep -c '^ok ' $(B)/check.tap) passed, $$(grep -c '^not ok ' $(B)/check.tap) failed"; \
	  exit $$rc

# zypper installs a livepatch package into a throwaway root; running
# processes are patched, then unpatched by zypper remove.  Act 2: the same
# with real OpenSSL fixes in a TLS server and client.
demo: test-deps
	$(MAKE) fixtures
	ULP_BUILD=$(CURDIR)/$(B) tests/demo/zypper.sh
	ULP_BUILD=$(CURDIR)/$(B) tests/demo/openssl.sh

# The same with the ulp tool alone: pack, trigger, revert.
demo-tool: deps
	$(MAKE) all
	ULP_BUILD=$(CURDIR)/$(B) tests/demo/run.sh

bench: test-deps
	$(MAKE) fixtures
	ULP_BUILD=$(CURDIR)/$(B) BENCH_BASELINE='$(BENCH_BASELINE)' tests/bench/run.sh
	ULP_BUILD=$(CURDIR)/$(B) tests/bench/kills.sh
	ULP_BUILD=$(CURDIR)/$(B) tests/bench/killsweep.sh
	ULP_BUILD=$(CURDIR)/$(B) tests/bench/zypper.sh
	ULP_BUILD=$(CURDIR)/$(B) tests/bench/catalog.sh
	ULP_BUILD=$(CURDIR)/$(B) tests/bench/openssl.sh
	ULP_BUILD=$(CURDIR)/$(B) tests/bench/fleet.sh

FUZZ_SECONDS ?= 60
fuzz:
	$(call need,$(FUZZ_DEPS) $(BUILD_DEPS))
	$(MAKE) -C tests/fuzz SECONDS=$(FUZZ_SECONDS)

install: all
	install -D -m 0755 $(B)/ulp $(DESTDIR)$(BINDIR)/ulp
	install -D -m 0755 $(B)/libpulp.so.0 $(DESTDIR)$(LIBDIR)/libpulp.so.0
	ln -sf libpulp.so.0 $(DESTDIR)$(LIBDIR)/libpulp.so
	install -D -m 0644 libpulp/man/ulp.1 $(DESTDIR)$(MANDIR)/man1/ulp.1
	install -D -m 0644 libpulp/man/libpulp.7 $(DESTDIR)$(MANDIR)/man7/libpulp.7
	install -D -m 0755 $(B)/ulp_post_hook $(DESTDIR)$(RPM_LIBEXECDIR)/ulp/ulp_post_hook
	install -D -m 0755 $(B)/rpm-plugin/ulp.so $(DESTDIR)$(RPM_PLUGINDIR)/ulp.so
	install -D -m 0644 macros.ulp $(DESTDIR)$(RPM_MACRODIR)/macros.ulp
	install -D -m 0755 $(B)/ulp-catalog $(DESTDIR)$(BINDIR)/ulp-catalog
	install -D -m 0644 catalog/ulp-catalog.1 $(DESTDIR)$(MANDIR)/man1/ulp-catalog.1

# The project's own package, ulp, into $(B)/rpm.
rpm: deps
	packaging/build-rpm.sh $(abspath $(B)/rpm) $(VERSION)

format:
	clang-format -i $(LIB_SRC) $(TOOL_SRC) libpulp/runtime/*.c $(HEADERS) \
	  helpers/*.c rpm-plugin/*.[ch] catalog/*.[ch]

clean:
	rm -rf $(B)
