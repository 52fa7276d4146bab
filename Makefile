# hotswap - GNU make.
#
#   make            ./hotswap, libhotswap.a, libhotswap.so
#   make check      build with ASan+UBSan and -Werror, run every test
#   make demo       build and run the crash demo
#   make install    PREFIX (default /usr/local) and DESTDIR honoured
#   make format     the sources to .clang-format (make check checks it)
#
# Every target that compiles first asks build-aux/deps.sh for the Debian
# packages it needs: as root it installs what is missing, otherwise it
# prints the apt-get line and stops, before any compiler runs.
#
# Sources are found by wildcard: a new .c file in one of the library's
# folders (LIB_DIRS) joins the library, a new src/cli/*.c the command
# line, a new tests/test_foo.c the unit tests.

PREFIX	?= /usr/local
BINDIR	?= $(PREFIX)/bin
LIBDIR	?= $(PREFIX)/lib
INCDIR	?= $(PREFIX)/include
MANDIR	?= $(PREFIX)/share/man
PKGDIR	?= $(LIBDIR)/pkgconfig
SHAREDIR ?= $(PREFIX)/share/hotswap

VERSION	:= 0.1.0
SOMAJOR	:= 0

CC	?= cc
CFLAGS	?= -O2 -g
WARN	:= -Wall -Wextra -Wstrict-prototypes -Wmissing-prototypes \
	   -Wpointer-arith -Wwrite-strings -Wformat=2 -Wformat-security \
	   -Wshadow -Wcast-qual -Wundef
WERROR	?=
ALL_CFLAGS := -std=gnu11 $(WARN) $(WERROR) -fPIC $(CFLAGS)
# The layers, lowest first: sys (the seam), kern (readers of kernel
# interfaces), scan (who maps, who is stale), install (one file), txn
# (many files), and on top guard (libhotswap-guard.so) and cli (the
# command).  A file in src/F/ is compiled with -I for F and the folders
# whose headers F may use (LAYER_F) and no other, so an #include that
# reaches up a layer, or across into a sibling, does not compile.
# include/hotswap.h, the public API, is open to every layer; through it
# install's --in-place asks the scanner, and the command line calls all
# of the library.  The tests, benchmarks and fuzz targets see every
# folder.
LIB_DIRS := sys kern scan install txn
LAYER_sys	:= sys
LAYER_kern	:= kern sys
LAYER_scan	:= scan kern sys
LAYER_install	:= install sys
LAYER_txn	:= txn install sys
LAYER_guard	:= guard install kern sys
LAYER_cli	:= cli
layer_inc = $(foreach d,$(LAYER_$(word 2,$(subst /, ,$(1)))),-Isrc/$(d))
SRC_CPPFLAGS = -D_GNU_SOURCE -Iinclude $(call layer_inc,$<) $(CPPFLAGS)
ALL_CPPFLAGS := -D_GNU_SOURCE -Iinclude \
		$(foreach d,$(LIB_DIRS) cli guard,-Isrc/$(d)) $(CPPFLAGS)
LDLIBS	+= -lbsd -luring -ldl

SAN_FLAGS := -fsanitize=address,undefined -fno-sanitize-recover=all \
	     -fno-omit-frame-pointer

# The command line is src/cli/; the library is the folders of LIB_DIRS;
# src/guard/ is libhotswap-guard.so.
CLI_SRC	:= $(sort $(wildcard src/cli/*.c))
LIB_SRC	:= $(sort $(foreach d,$(LIB_DIRS),$(wildcard src/$(d)/*.c)))
TEST_SRC := $(sort $(wildcard tests/test_*.c))
# tests/helpers/lib*.c become shared libraries, the rest programs.
HELPER_LIB_SRC := $(sort $(wildcard tests/helpers/lib*.c))
HELPER_SRC := $(sort $(filter-out $(HELPER_LIB_SRC), \
		$(wildcard tests/helpers/*.c)))

REL	:= build/rel
SAN	:= build/san
HLP	:= build/helpers

rel_obj  = $(patsubst src/%.c,$(REL)/%.o,$(1))
san_obj  = $(patsubst src/%.c,$(SAN)/%.o,$(1))

# demo/lib*.c become shared libraries, the other demo/*.c programs.
DEMO_LIB_SRC := $(sort $(wildcard demo/lib*.c))
DEMO_SRC := $(sort $(filter-out $(DEMO_LIB_SRC), $(wildcard demo/*.c)))
DEMO_BIN := $(patsubst demo/%.c,build/demo/%,$(DEMO_SRC)) \
	    $(patsubst demo/%.c,build/demo/%.so,$(DEMO_LIB_SRC))

TESTS	:= $(patsubst tests/%.c,$(SAN)/%,$(TEST_SRC))
HELPERS	:= $(patsubst tests/helpers/%.c,$(HLP)/%,$(HELPER_SRC)) \
	   $(patsubst tests/helpers/%.c,$(HLP)/%.so,$(HELPER_LIB_SRC))

.PHONY: all check check-build check-exports check-layers demo deps-build deps-check \
	deps-demo deps-fuzz install uninstall clean bench fuzz

all: hotswap libhotswap.a libhotswap.so

# --- release build -------------------------------------------------------

# Every compile waits for deps-build (order-only: it never makes an object
# out of date), so a missing library is one apt-get line, not a compiler
# error.
$(REL)/%.o: src/%.c | deps-build
	@mkdir -p $(@D)
	$(CC) $(SRC_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -c -o $@ $<

libhotswap.a: $(call rel_obj,$(LIB_SRC))
	rm -f $@
	$(AR) rcs $@ $^

# src/libhotswap.map exports the API of include/hotswap.h and hides the
# rest; --no-undefined-version: a name in it that the library does not
# define is an error, not ignored.  check-exports (make check) holds the
# library's exports to the header's declarations.
LIB_MAP	:= src/libhotswap.map

libhotswap.so.$(VERSION): $(call rel_obj,$(LIB_SRC)) $(LIB_MAP)
	$(CC) $(ALL_CFLAGS) -shared -Wl,-soname,libhotswap.so.$(SOMAJOR) \
	    -Wl,--version-script=$(LIB_MAP) -Wl,--no-undefined-version \
	    $(LDFLAGS) -o $@ $(filter %.o,$^) $(LDLIBS)

check-exports: libhotswap.so.$(VERSION) include/hotswap.h \
	build-aux/check-exports.sh
	@CC='$(CC)' build-aux/check-exports.sh include/hotswap.h \
	    libhotswap.so.$(VERSION)

libhotswap.so: libhotswap.so.$(VERSION)
	ln -sf $< libhotswap.so.$(SOMAJOR)
	ln -sf $< $@

# Linked under a temporary name and renamed into place, so that a test or
# demo running ./hotswap during a rebuild never finds it half-written.
hotswap: $(call rel_obj,$(CLI_SRC)) libhotswap.a
	$(CC) $(ALL_CFLAGS) $(LDFLAGS) -o $@.tmp $^ $(LDLIBS)
	mv -f $@.tmp $@

# --- sanitizer build, unit tests, test helpers ---------------------------

$(SAN)/%.o: src/%.c | deps-build
	@mkdir -p $(@D)
	$(CC) $(SRC_CPPFLAGS) $(ALL_CFLAGS) $(SAN_FLAGS) -MMD -MP -c -o $@ $<

$(SAN)/libhotswap.a: $(call san_obj,$(LIB_SRC))
	rm -f $@
	$(AR) rcs $@ $^

$(SAN)/hotswap: $(call san_obj,$(CLI_SRC)) $(SAN)/libhotswap.a
	$(CC) $(ALL_CFLAGS) $(SAN_FLAGS) $(LDFLAGS) -o $@.tmp $^ $(LDLIBS)
	mv -f $@.tmp $@

$(SAN)/test_%: tests/test_%.c $(wildcard tests/testutil.*) $(SAN)/libhotswap.a \
	| deps-check
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) $(SAN_FLAGS) -o $@ $< \
	    $(wildcard tests/testutil.c) $(TEST_OBJ) $(SAN)/libhotswap.a \
	    $(LDLIBS) -lcmocka

# The guard's --fix engine, tested without the interposers of guard.c.
$(SAN)/test_guard: TEST_OBJ = $(SAN)/guard/fix.o
$(SAN)/test_guard: $(SAN)/guard/fix.o src/guard/guard.h src/sys/sys.h
# hotswap restart's deny list, a part of the command line.
$(SAN)/test_restart: TEST_OBJ = $(SAN)/cli/restart_deny.o
$(SAN)/test_restart: $(SAN)/cli/restart_deny.o src/cli/restart.h

# Helpers are the victims of the end-to-end tests: plain builds, no
# sanitizer runtime in the processes whose crashes we count.
$(HLP)/%: tests/helpers/%.c | deps-build
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -o $@ $< -ldl

$(HLP)/%.so: tests/helpers/%.c | deps-build
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP -shared -o $@ $<

# The demo's programs: plain builds, like the test helpers.  Extra flags
# for one file can be given in a comment line "// CFLAGS: ..." in it.
build/demo/%: demo/%.c | deps-build
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP \
	    $$(sed -n 's|^// CFLAGS: ||p' $<) -o $@ $< -ldl

build/demo/%.so: demo/%.c | deps-build
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -MMD -MP \
	    $$(sed -n 's|^// CFLAGS: ||p' $<) -shared -o $@ $<

check-build: $(SAN)/hotswap $(TESTS) $(HELPERS) $(DEMO_BIN) all check-exports

deps-build:
	@build-aux/deps.sh build

deps-check:
	@build-aux/deps.sh check

deps-demo:
	@build-aux/deps.sh demo

deps-fuzz:
	@build-aux/deps.sh fuzz

# make check always builds with -Werror and the sanitizers.
check: deps-check check-layers check-format
	$(MAKE) WERROR=-Werror check-build
	tests/run.sh

# The -I of each layer keeps its includes down; a path that climbs out of
# the folder ("../") would get round it, so none may.
check-layers:
	@if grep -rn '^[[:space:]]*#[[:space:]]*include[[:space:]]*"[^"]*\.\./' src; \
	then echo "hotswap: an #include climbs out of its layer" >&2; exit 1; fi

demo: deps-demo
	$(MAKE) all $(DEMO_BIN)
	demo/run.sh

# --- install -------------------------------------------------------------

# Every path under $(DESTDIR); uninstall removes exactly these.
INSTALLED := $(BINDIR)/hotswap $(LIBDIR)/libhotswap.a \
	     $(LIBDIR)/libhotswap.so.$(VERSION) \
	     $(LIBDIR)/libhotswap.so.$(SOMAJOR) $(LIBDIR)/libhotswap.so \
	     $(INCDIR)/hotswap.h $(PKGDIR)/hotswap.pc \
	     $(MANDIR)/man1/hotswap.1 $(MANDIR)/man3/libhotswap.3 \
	     $(SHAREDIR)/stale-hook

install: all
	install -d $(DESTDIR)$(BINDIR) $(DESTDIR)$(LIBDIR) \
	    $(DESTDIR)$(INCDIR) $(DESTDIR)$(PKGDIR) \
	    $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man3 \
	    $(DESTDIR)$(SHAREDIR)
	install -m 755 hotswap $(DESTDIR)$(BINDIR)/hotswap
	install -m 755 contrib/hotswap-stale-hook $(DESTDIR)$(SHAREDIR)/stale-hook
	install -m 644 libhotswap.a $(DESTDIR)$(LIBDIR)/libhotswap.a
	install -m 755 libhotswap.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/libhotswap.so.$(VERSION)
	ln -sf libhotswap.so.$(VERSION) \
	    $(DESTDIR)$(LIBDIR)/libhotswap.so.$(SOMAJOR)
	ln -sf libhotswap.so.$(VERSION) $(DESTDIR)$(LIBDIR)/libhotswap.so
	install -m 644 include/hotswap.h $(DESTDIR)$(INCDIR)/hotswap.h
	sed -e 's|@PREFIX@|$(PREFIX)|' -e 's|@LIBDIR@|$(LIBDIR)|' \
	    -e 's|@INCDIR@|$(INCDIR)|' -e 's|@VERSION@|$(VERSION)|' \
	    hotswap.pc.in >$(DESTDIR)$(PKGDIR)/hotswap.pc
	chmod 644 $(DESTDIR)$(PKGDIR)/hotswap.pc
	install -m 644 man/hotswap.1 $(DESTDIR)$(MANDIR)/man1/hotswap.1
	install -m 644 man/libhotswap.3 $(DESTDIR)$(MANDIR)/man3/libhotswap.3

uninstall:
	rm -f $(addprefix $(DESTDIR),$(INSTALLED))

clean:
	rm -rf build hotswap libhotswap.a libhotswap.so libhotswap.so.*

-include $(wildcard $(REL)/*/*.d $(SAN)/*/*.d $(HLP)/*.d build/demo/*.d)

# --- scanner: fuzzing (clang + libFuzzer) and test prerequisites ---------
#
#   make fuzz        build/fuzz/fuzz_maps, fuzz_manifest, fuzz_btf,
#                    fuzz_journal, fuzz_proc
#   make fuzz-run    15 (maps), 12 (manifest), 8 (btf), 10 (journal), 5 (proc)
#                    seconds over the seeds in tests/fuzz/corpus_*;
#                    what it finds goes to build/fuzz/corpus_maps, so the
#                    seeds in the tree stay as they are
#   make fuzz-check  fuzz-run if $(FUZZ_CC) is installed, else say so

FUZZ_CC	?= clang
FUZZ	:= build/fuzz
FUZZ_FLAGS := -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all \
	      -g -O1

.PHONY: fuzz-run fuzz-check

fuzz: $(FUZZ)/fuzz_maps $(FUZZ)/fuzz_manifest $(FUZZ)/fuzz_btf \
	$(FUZZ)/fuzz_journal $(FUZZ)/fuzz_proc

$(FUZZ)/fuzz_btf: tests/fuzz/fuzz_btf.c src/kern/btf.c src/kern/btf.h \
	| deps-fuzz
	@mkdir -p $(@D)
	$(FUZZ_CC) $(ALL_CPPFLAGS) -std=gnu11 $(WARN) $(WERROR) $(FUZZ_FLAGS) \
	    -o $@ tests/fuzz/fuzz_btf.c src/kern/btf.c

$(FUZZ)/fuzz_manifest: tests/fuzz/fuzz_manifest.c src/txn/manifest.c \
	include/hotswap.h | deps-fuzz
	@mkdir -p $(@D)
	$(FUZZ_CC) $(ALL_CPPFLAGS) -std=gnu11 $(WARN) $(WERROR) $(FUZZ_FLAGS) \
	    -o $@ tests/fuzz/fuzz_manifest.c src/txn/manifest.c

$(FUZZ)/fuzz_maps: tests/fuzz/fuzz_maps.c src/kern/maps.c src/kern/maps.h \
	| deps-fuzz
	@mkdir -p $(@D)
	$(FUZZ_CC) $(ALL_CPPFLAGS) -std=gnu11 $(WARN) $(WERROR) $(FUZZ_FLAGS) \
	    -o $@ tests/fuzz/fuzz_maps.c src/kern/maps.c

# The journal parser lives with its writer; the target stubs the seam.
$(FUZZ)/fuzz_proc: tests/fuzz/fuzz_proc.c src/scan/class.c src/scan/cmdline.c \
	src/scan/kversion.c src/scan/scan.h include/hotswap.h | deps-fuzz
	@mkdir -p $(@D)
	$(FUZZ_CC) $(ALL_CPPFLAGS) -std=gnu11 $(WARN) $(WERROR) $(FUZZ_FLAGS) \
	    -o $@ tests/fuzz/fuzz_proc.c src/scan/class.c src/scan/cmdline.c \
	    src/scan/kversion.c

$(FUZZ)/fuzz_journal: tests/fuzz/fuzz_journal.c src/txn/journal.c \
	src/txn/txn.h src/sys/sys.h | deps-fuzz
	@mkdir -p $(@D)
	$(FUZZ_CC) $(ALL_CPPFLAGS) -std=gnu11 $(WARN) $(WERROR) $(FUZZ_FLAGS) \
	    -o $@ tests/fuzz/fuzz_journal.c src/txn/journal.c -lbsd

fuzz-run: $(FUZZ)/fuzz_maps $(FUZZ)/fuzz_manifest $(FUZZ)/fuzz_btf \
	$(FUZZ)/fuzz_journal $(FUZZ)/fuzz_proc
	@mkdir -p $(FUZZ)/corpus_maps $(FUZZ)/corpus_manifest \
	    $(FUZZ)/corpus_btf $(FUZZ)/corpus_journal $(FUZZ)/corpus_proc
	$(FUZZ)/fuzz_maps -max_total_time=15 $(FUZZ)/corpus_maps \
	    tests/fuzz/corpus_maps
	$(FUZZ)/fuzz_manifest -max_total_time=12 $(FUZZ)/corpus_manifest \
	    tests/fuzz/corpus_manifest
	$(FUZZ)/fuzz_btf -max_total_time=8 $(FUZZ)/corpus_btf \
	    tests/fuzz/corpus_btf
	$(FUZZ)/fuzz_journal -max_total_time=10 $(FUZZ)/corpus_journal \
	    tests/fuzz/corpus_journal
	$(FUZZ)/fuzz_proc -max_total_time=5 $(FUZZ)/corpus_proc \
	    tests/fuzz/corpus_proc

fuzz-check:
	@if command -v $(FUZZ_CC) >/dev/null 2>&1; then \
	    $(MAKE) fuzz-run; \
	else \
	    echo "fuzz: $(FUZZ_CC) not installed, parser fuzzing skipped"; \
	fi

# The unit tests are not built with -MMD: name the headers they use.
$(SAN)/test_maps: src/kern/maps.h
$(SAN)/test_scan: src/kern/maps.h src/kern/procmap.h src/scan/scan.h \
	src/sys/sys.h src/kern/bpfwho.h src/kern/bpfrec.h src/kern/pmaps.h \
	src/kern/procwalk.h tests/testutil_scan.h
$(SAN)/test_class: src/scan/scan.h include/hotswap.h
$(SAN)/test_kernel: src/scan/scan.h include/hotswap.h tests/testutil_scan.h
$(SAN)/test_btf: src/kern/btf.h src/kern/bpfwho.h src/sys/sys.h
$(SAN)/test_kern: src/kern/procwalk.h src/kern/pmaps.h src/kern/bpfrec.h \
	src/kern/bpfwho.h src/kern/maps.h src/sys/sys.h include/hotswap.h
$(SAN)/test_txn: src/install/install.h src/txn/txn.h src/sys/sys.h
$(SAN)/test_replace: src/install/install.h src/sys/sys.h
$(SAN)/test_free: src/install/install.h src/sys/sys.h

# Scanner benchmark (never pass/fail): who by PROCMAP_QUERY and by text,
# and stale, over every process; BENCH_ARGS e.g. "-s 500 /usr/bin/bash".
BENCH_ARGS ?= -s 200 /usr/lib/x86_64-linux-gnu/libc.so.6

.PHONY: bench-scan

$(REL)/bench_scan: tests/bench/bench_scan.c libhotswap.a | deps-bench
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $< libhotswap.a $(LDLIBS)

bench-scan: $(REL)/bench_scan
	$(REL)/bench_scan $(BENCH_ARGS)

# --- guard: libhotswap-guard.so, the preload library of `hotswap guard` --
#
# Preloaded into arbitrary programs (cp, install, sh), so built without
# the sanitizers, -fPIC, hidden by default; guard.map exports only the
# interposed calls.  It links the few library objects it needs, not all
# of libhotswap: replace.o would bring the engine and libbsd into every
# guarded program.

GUARD_SRC := $(sort $(wildcard src/guard/*.c))
GUARD_OBJ := $(patsubst src/guard/%.c,$(REL)/guard/%.o,$(GUARD_SRC))
GUARD_LIBOBJ := $(addprefix $(REL)/,install/meta.o install/fail.o sys/sys.o \
		kern/procmap.o kern/maps.o kern/fileid.o kern/bpfwho.o kern/btf.o \
		kern/procwalk.o kern/pmaps.o kern/bpfrec.o)
GUARD_CFLAGS := -std=gnu11 $(WARN) $(WERROR) -fPIC -fvisibility=hidden \
		$(CFLAGS)
# The seam inside the guard: sys.c compiled again with HS_SYS_NEXT, so
# that its calls of what the guard exports go to the next definitions
# (src/guard/next.c), not to the guard's own interposers (sys.h).
GUARD_SYSOBJ := $(REL)/guard-sys/sys.o
GUARD_LINK := $(filter-out $(REL)/sys/sys.o,$(GUARD_LIBOBJ)) $(GUARD_SYSOBJ)

$(REL)/guard/%.o: src/guard/%.c | deps-build
	@mkdir -p $(@D)
	$(CC) $(SRC_CPPFLAGS) -DHS_SYS_NEXT $(GUARD_CFLAGS) -MMD -MP -c -o $@ $<

$(GUARD_SYSOBJ): src/sys/sys.c | deps-build
	@mkdir -p $(@D)
	$(CC) $(SRC_CPPFLAGS) -DHS_SYS_NEXT $(GUARD_CFLAGS) -MMD -MP -c -o $@ $<

# --wrap: the allocations of the guard's code go to src/guard/alloc.c,
# which a signal handler may call.
GUARD_WRAP := $(foreach f,malloc calloc realloc reallocarray free,\
		-Wl,--wrap=$(f))

guard_link = $(CC) $(GUARD_CFLAGS) -shared $(GUARD_WRAP) \
	    -Wl,--version-script=src/guard/guard.map -Wl,-z,defs \
	    $(LDFLAGS) -o $@ $(1) -ldl -lpthread

libhotswap-guard.so: $(GUARD_OBJ) $(GUARD_LINK) src/guard/guard.map
	$(call guard_link,$(GUARD_OBJ) $(GUARD_LINK))

# The control of tests/e2e/guard_seam.bats: the guard linked with the
# library's own sys.o, the binding HS_SYS_NEXT replaced, whose seam
# calls the guard's exports by name; the test must find those calls.
# That sys.o names the io_uring layer (ring.o, liburing) as well.
GUARD_OLDSEAM := $(HLP)/oldseam/libhotswap-guard.so
GUARD_OLDLINK := $(filter-out $(GUARD_SYSOBJ),$(GUARD_LINK)) \
		$(REL)/sys/sys.o $(REL)/sys/ring.o

$(GUARD_OLDSEAM): $(GUARD_OBJ) $(GUARD_OLDLINK) src/guard/guard.map
	@mkdir -p $(@D)
	$(call guard_link,$(GUARD_OBJ) $(GUARD_OLDLINK) -luring)

# No code of the guard but its interposers may name a call the guard
# exports: that name binds to the guard's own interposer, and the call
# enters the guard again.  GUARD_NAMEFREE are the objects held to it:
# the library's (GUARD_LINK) and the guard's own but for guard.o and
# exec.o, whose interposers pass calls on to each other on purpose
# (creat to open, execv to execve).
GUARD_EXPORTS := $(shell sed -n '/global:/,/local:/p' src/guard/guard.map | \
		tr -d ';' | tr -s ' \t' '\n' | grep -v ':')
GUARD_BYNAME := $(addprefix $(REL)/guard/,guard.o exec.o)
GUARD_NAMEFREE := $(GUARD_LINK) $(filter-out $(GUARD_BYNAME),$(GUARD_OBJ))

check-guard-seam: $(GUARD_NAMEFREE) src/guard/guard.map
	@nm -A -u $(GUARD_NAMEFREE) | awk -v list="$(GUARD_EXPORTS)" ' \
	    BEGIN { n = split(list, x, " "); \
		for (i = 1; i <= n; i++) e[x[i]]; \
		if (n < 10) { print "hotswap: no exports read from" \
		    " guard.map" >"/dev/stderr"; bad = 1; exit } } \
	    $$NF in e { print "hotswap: " $$1 " calls " $$NF ", which the" \
		" guard exports: it would enter the guard again" \
		>"/dev/stderr"; bad = 1 } \
	    END { exit bad }'

all: libhotswap-guard.so
check-build: libhotswap-guard.so $(GUARD_OLDSEAM) check-guard-seam

.PHONY: install-guard uninstall-guard clean-guard bench-guard \
	check-guard-seam

install: install-guard
install-guard: libhotswap-guard.so
	install -d $(DESTDIR)$(LIBDIR)
	install -m 755 libhotswap-guard.so \
	    $(DESTDIR)$(LIBDIR)/libhotswap-guard.so

uninstall: uninstall-guard
uninstall-guard:
	rm -f $(DESTDIR)$(LIBDIR)/libhotswap-guard.so

clean: clean-guard
clean-guard:
	rm -f libhotswap-guard.so

# The guard benchmark (never pass/fail): tests/bench/bench_guard.sh.
bench-guard: deps-bench hotswap libhotswap-guard.so $(HELPERS)
	tests/bench/bench_guard.sh


# --- fortify: the sources compiled as the Debian build compiles them ----
#
# make deb builds with dpkg-buildflags' -D_FORTIFY_SOURCE=2 -O2, under
# which glibc marks more calls warn_unused_result (write(2) among them)
# and checks buffer sizes; make check compiles the library, the command
# and the guard that way once more, objects only (build/fort, never
# linked), so that such a warning fails it under -Werror as the others
# do.  -U first: a compiler that defines _FORTIFY_SOURCE itself would
# otherwise warn of the redefinition.

FORT	:= build/fort
FORT_SRC := $(LIB_SRC) $(CLI_SRC) $(GUARD_SRC)
FORT_OBJ := $(patsubst src/%.c,$(FORT)/%.o,$(FORT_SRC))
FORT_FLAGS := -U_FORTIFY_SOURCE -D_FORTIFY_SOURCE=2 -O2 -g0

$(FORT)/%.o: src/%.c | deps-build
	@mkdir -p $(@D)
	$(CC) $(SRC_CPPFLAGS) $(FORT_DEFS) $(ALL_CFLAGS) $(FORT_FLAGS) \
	    -MMD -MP -c -o $@ $<

# The guard's files as the guard compiles them (the seam's binding).
$(FORT)/guard/%.o: FORT_DEFS := -DHS_SYS_NEXT

check-build: $(FORT_OBJ)

-include $(wildcard $(FORT)/*/*.d)

# --- who and stale against fuser, lsof and cat (never pass/fail) -------
#
#   make bench   BENCH_PROCS (default 1000) processes map a test library;
#                times hotswap who (default, text, ioctl, one CPU), hotswap
#                stale, fuser, lsof and cat /proc/[0-9]*/maps, BENCH_RUNS
#                times; BENCH_FLAGS=-R runs them all under SCHED_FIFO

BENCH_PROCS ?= 1000
BENCH_RUNS ?= 11
BENCH_FLAGS ?=

# Every benchmark needs its packages first: deps-bench is their common
# prerequisite, so 'make bench' installs them before either script runs.
deps-bench:
	@build-aux/deps.sh bench

bench: deps-bench
	$(MAKE) all $(HLP)/who_mapper $(HLP)/libvictim_v1.so
	tests/bench/bench_who.sh -n $(BENCH_PROCS) -r $(BENCH_RUNS) $(BENCH_FLAGS)

# --- stale with classes and descriptors, against needrestart and -------
# --- checkrestart (never pass/fail) --------------------------------------
#
#   make bench-stale  tests/bench/bench_stale.sh: BENCH_PROCS helpers run
#                     a replaced library; times hotswap stale (all
#                     checks, batch, maps only), needrestart -b and
#                     checkrestart, and says what each found

.PHONY: bench-stale
bench: bench-stale

bench-stale: deps-bench
	$(MAKE) all $(HLP)/who_mapper $(HLP)/libvictim_v1.so \
	    $(HLP)/libvictim_v2.so
	tests/bench/bench_stale.sh -n $(BENCH_PROCS)

# --- many files as one transaction, against cp, install, rsync ----------
#
#   make bench-txn   tests/bench/bench_txn.sh (never pass/fail): 1,000
#                    files and one 1 GiB file by cp -r, GNU install,
#                    rsync --fsync, a temp+fsync+rename loop and hotswap
#                    install -r; reflinks on XFS and btrfs loop images;
#                    the barrier (fsync each or syncfs).  BENCH_TXN_FLAGS
#                    is passed on, e.g. -K to leave the page cache alone.

BENCH_TXN_FLAGS ?=

.PHONY: bench-txn deps-bench
bench: bench-txn

$(REL)/seqinstall: tests/bench/seqinstall.c | deps-bench
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $<

bench-txn: deps-bench hotswap $(REL)/seqinstall
	tests/bench/bench_txn.sh $(BENCH_TXN_FLAGS)

# --- a tree deployed, against cp -r, the durable floor, install, rsync --
#
#   make bench-tree  tests/bench/bench_tree.sh (never pass/fail): install
#                    -r of 1,000, 10,000 and 100,000 files (the last once
#                    a row; about four hours in all) and install (with and
#                    without --free-later) of one 1 GiB file on tmpfs,
#                    fresh ext4, XFS and btrfs loop images and the tree's
#                    own filesystem, warm and cold cache, next to cp -r,
#                    cp -r && sync -f, GNU install -t and rsync -a
#                    --fsync (for the GiB: cp && sync -f, and then mv
#                    over DEST): time, CPU, system calls per file, peak
#                    memory.  BENCH_TREE_FLAGS is passed on, e.g.
#                    BENCH_TREE_FLAGS='-n "1000 10000" -r 7'.

BENCH_TREE_FLAGS ?=

.PHONY: bench-tree
bench: bench-tree

bench-tree: deps-bench hotswap
	tests/bench/bench_tree.sh $(BENCH_TREE_FLAGS)

# --- staging on two threads and by io_uring: the potential (issue 18) ---
#
#   make bench-threads  tests/bench/bench_stage.sh with
#                       tests/bench/stage_threads.c (never pass/fail):
#                       install -r's per-file kernel work on one thread,
#                       on two (same directory, different directories)
#                       and as a read/write pipeline, on tmpfs, a fresh
#                       ext4 image and the tree's own filesystem.
#   make bench-uring    the same with tests/bench/stage_uring.c: staging
#                       and commit by plain calls and by io_uring batches
#                       of 16 and 256 files.
#   make bench-free-held
#                       the same with tests/bench/free_held.c: the
#                       commit's unlinks of small old files, and the same
#                       with a descriptor held on each (what --free-later
#                       would move off the path for them).
#                       Not part of 'make bench' (they say what was
#                       decided, once).  BENCH_THREADS_FLAGS,
#                       BENCH_URING_FLAGS and BENCH_FREE_FLAGS are passed
#                       on, e.g. '-r 21'.

BENCH_THREADS_FLAGS ?=
BENCH_URING_FLAGS ?=
BENCH_FREE_FLAGS ?=

.PHONY: bench-threads bench-uring bench-free-held

STAGE_COMMON := tests/bench/stage_common.c tests/bench/stage_common.h

$(REL)/stage_threads: tests/bench/stage_threads.c $(STAGE_COMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -pthread -o $@ $(filter %.c,$^)

$(REL)/stage_uring: tests/bench/stage_uring.c $(STAGE_COMMON) | deps-bench
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $(filter %.c,$^) -luring

bench-threads: $(REL)/stage_threads
	tests/bench/bench_stage.sh $(REL)/stage_threads $(BENCH_THREADS_FLAGS)

bench-uring: $(REL)/stage_uring
	tests/bench/bench_stage.sh $(REL)/stage_uring $(BENCH_URING_FLAGS)

$(REL)/free_held: tests/bench/free_held.c $(STAGE_COMMON)
	@mkdir -p $(@D)
	$(CC) $(ALL_CPPFLAGS) $(ALL_CFLAGS) -o $@ $(filter %.c,$^)

bench-free-held: $(REL)/free_held
	tests/bench/bench_stage.sh $(REL)/free_held $(BENCH_FREE_FLAGS)

# --- formatting: .clang-format (clang-format 14) ------------------------
#
#   make format         rewrite FORMAT_SRC in place to .clang-format
#   make check-format   list the files of FORMAT_SRC that `make format`
#                       would change, and fail if there is one
#   make deps-format    install clang-format (build-aux/deps.sh format)
#
# Both first ask build-aux/deps.sh for clang-format, as every target asks
# for what it needs.  The options are tuned for clang-format 14; another
# version may break lines differently, so check-format (which make check
# runs) checks only with version 14 and otherwise says it skipped.

CLANG_FORMAT ?= clang-format
FORMAT_SRC := $(sort $(wildcard src/*/*.c src/*/*.h include/*.h \
		tests/*.c tests/*.h tests/helpers/*.c tests/helpers/*.h \
		tests/fuzz/*.c tests/bench/*.c tests/bench/*.h tests/powercut/*.c \
		tests/powercut/*.h tests/powercut/block/*.c \
		tests/powercut/block/*.h demo/*.c demo/*.h))
CLANG_FORMAT_FLAGS := --style=file --fallback-style=none

.PHONY: format check-format deps-format

deps-format:
	@build-aux/deps.sh format

format: deps-format
	@$(CLANG_FORMAT) $(CLANG_FORMAT_FLAGS) -i $(FORMAT_SRC)

# A first run without -Werror fails only if .clang-format itself is bad,
# so that a broken configuration is not reported as every file differing.
check-format: deps-format
	@case "$$($(CLANG_FORMAT) --version)" in *" version 14."*) ;; *) \
	    echo "check-format: skipped, .clang-format is tuned for" \
	        "clang-format 14, not $$($(CLANG_FORMAT) --version)"; \
	    exit 0 ;; esac; \
	$(CLANG_FORMAT) $(CLANG_FORMAT_FLAGS) --dry-run include/hotswap.h \
	    2>/dev/null || { echo "check-format: $(CLANG_FORMAT) cannot" \
	    "use .clang-format" >&2; exit 2; }; \
	bad=; \
	for f in $(FORMAT_SRC); do \
	    $(CLANG_FORMAT) $(CLANG_FORMAT_FLAGS) --dry-run -Werror "$$f" \
	        >/dev/null 2>&1 || bad="$$bad $$f"; \
	done; \
	if [ -n "$$bad" ]; then \
	    echo "check-format: not formatted as .clang-format says" \
	        "($$($(CLANG_FORMAT) --version | sed 's/.*version //');" \
	        "make format rewrites them):" >&2; \
	    for f in $$bad; do echo "	$$f" >&2; done; \
	    exit 1; \
	fi

# --- powercut: the power-cut file system of the tests (issue 15) ---------
#
#   build/powercut/powercut   a FUSE (libfuse3) file system that logs every
#                             change and sync of a command, then hands each
#                             state a power cut could leave to a checker;
#                             tests/e2e/powercut.bats puts every install
#                             path through it
#   build/powercut/blockcut   the block-level power cut: a real ext4 on
#                             a loop device backed by a FUSE file that
#                             logs every block write and flush;
#                             tests/e2e/powercut_block.bats puts O_TMPFILE
#                             and the syncfs commit through it
#   make bench-powercut       tests/bench/bench_powercut.sh (never
#                             pass/fail): cp, install, rsync, cp+mv and
#                             hotswap replacing a file, states tallied,
#                             through both
#
# A plain build with the warnings of the rest, like the test helpers.

PC	:= build/powercut
# nodirsync.so: the preload of an inverted case, fsync of a directory
# made a no-op.
PC_SRC	:= $(sort $(filter-out tests/powercut/nodirsync.c, \
		$(wildcard tests/powercut/*.c)))
PC_CFLAGS = -std=gnu11 $(WARN) $(WERROR) $(CFLAGS) \
	    $$(pkg-config --cflags fuse3) -Itests/powercut
PC_LIBS	= $$(pkg-config --libs fuse3) -lpthread

$(PC)/powercut: $(PC_SRC) tests/powercut/powercut.h | deps-check
	@mkdir -p $(@D)
	$(CC) -D_GNU_SOURCE $(PC_CFLAGS) -o $@.tmp $(PC_SRC) $(PC_LIBS)
	mv -f $@.tmp $@

$(PC)/nodirsync.so: tests/powercut/nodirsync.c | deps-build
	@mkdir -p $(@D)
	$(CC) -D_GNU_SOURCE -std=gnu11 $(WARN) $(WERROR) -fPIC $(CFLAGS) \
	    -shared -o $@ $< -ldl

BC_SRC	:= $(sort $(wildcard tests/powercut/block/*.c))

$(PC)/blockcut: $(BC_SRC) tests/powercut/block/blockcut.h | deps-check
	@mkdir -p $(@D)
	$(CC) -D_GNU_SOURCE $(PC_CFLAGS) -Itests/powercut/block -o $@.tmp \
	    $(BC_SRC) $(PC_LIBS)
	mv -f $@.tmp $@

check-build: $(PC)/powercut $(PC)/nodirsync.so $(PC)/blockcut

# The demo's scene 7 cuts the power under install(1) and hotswap.
demo: demo-powercut
demo-powercut: deps-demo
	$(MAKE) $(PC)/powercut

.PHONY: bench-powercut

bench-powercut: deps-bench deps-check hotswap $(PC)/powercut $(PC)/blockcut
	tests/bench/bench_powercut.sh

# --- the Debian packages (debian/) ----------------------------------------
#
#   make deb   dpkg-buildpackage -us -uc -b in a copy of the tree under
#              build/deb/src, so that it writes its .deb, .changes and
#              .buildinfo files there and not beside the tree; they are
#              moved to build/deb/, the log to build/deb/build.log.
#              DEB_BUILD_OPTIONS defaults to "nocheck parallel=2".

DEB_DIR	:= build/deb
DEB_BUILD_OPTIONS ?= nocheck parallel=2

.PHONY: deb

deb: deps-check
	rm -rf $(DEB_DIR)
	mkdir -p $(DEB_DIR)/src/hotswap-$(VERSION)
	tar -cf - --exclude=./build --exclude=./.git --exclude='./*.deb' . | \
	    tar -C $(DEB_DIR)/src/hotswap-$(VERSION) -xf -
	cd $(DEB_DIR)/src/hotswap-$(VERSION) && \
	    env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL \
	    DEB_BUILD_OPTIONS='$(DEB_BUILD_OPTIONS)' \
	    dpkg-buildpackage -us -uc -b >../../build.log 2>&1 || \
	    { tail -n 40 ../../build.log >&2; exit 1; }
	mv $(DEB_DIR)/src/*.deb $(DEB_DIR)/src/*.changes \
	    $(DEB_DIR)/src/*.buildinfo $(DEB_DIR)/
	rm -rf $(DEB_DIR)/src
