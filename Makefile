# mqttsim - top-level Makefile.
#
#   make            build build/mqttsim
#   make test       unit tests (Check) + command-line tests; results under reports/out/
#   make asan       the same tests built with -fsanitize=address,undefined
#   make valgrind   the unit tests under valgrind (leak check)
#   make coverage   line, function and branch coverage (gcov/lcov), HTML in reports/coverage/
#   make bench      benchmarks, printing figures
#   make fuzz       every libFuzzer target for FUZZ_SECONDS (60) each; make fuzz-build only builds
#   make deps       install the Debian packages (as root)
#   make install    PREFIX=/usr/local by default; DESTDIR honoured

CC      ?= cc
PREFIX  ?= /usr/local
BUILD   ?= build
OPT     ?= -O2 -g
SAN     ?=
CFLAGS_EXTRA ?=

APT_PKGS := build-essential pkg-config check libyaml-dev lcov valgrind libxml2-utils tshark mosquitto-clients \
            python3-paho-mqtt python3-yaml mosquitto chromium clang libclang-rt-dev libssl-dev openssl
PKGS     := check yaml-0.1 openssl

# Stop early, and say how to fix it, when a library is missing.
NODEPS_GOALS := deps clean help
ifeq ($(filter-out $(NODEPS_GOALS),$(or $(MAKECMDGOALS),all)),)
else
  PKG_OK := $(shell pkg-config --exists $(PKGS) 2>/dev/null && echo yes)
  ifneq ($(PKG_OK),yes)
    $(error missing build dependencies (pkg-config could not find: $(PKGS)). \
Install them with:  apt-get install -y $(APT_PKGS)   -- or run `make deps` as root)
  endif
  PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS))
  CHECK_LIBS := $(shell pkg-config --libs check)
  YAML_LIBS  := $(shell pkg-config --libs yaml-0.1)
  # OpenSSL for TLS (harness/tls.c): the clients of mqtts:// targets and the broker's --listen-tls.
  SSL_LIBS   := $(shell pkg-config --libs openssl)
endif

WARN   := -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
          -Wpointer-arith -Wformat=2 -Wno-format-nonliteral -Wvla -Wundef
CFLAGS := -std=c11 -D_POSIX_C_SOURCE=200809L $(OPT) $(WARN) $(SAN) $(CFLAGS_EXTRA) \
          -I. $(PKG_CFLAGS) -MMD -MP
LDFLAGS_ALL := $(SAN) $(CFLAGS_EXTRA) -pthread

# Library sources: every module but the command-line entry point.
MODULES  := mqtt sim broker conformance reports harness
LIB_SRC  := $(filter-out harness/main.c,$(foreach m,$(MODULES),$(wildcard $(m)/*.c)))
# The suite built into the binary (harness/suite.h): catalogs, expected-failure lists and every
# scenario, generated from the tree's files into build/gen/suite_data.c.
SUITE_FILES := $(sort $(wildcard conformance/*.yaml conformance/expected-failures/*.txt)) \
               $(sort $(shell find scenarios -name '*.yaml' 2>/dev/null))
SUITE_GEN   := build/gen/suite_data.c
LIB_OBJ  := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/suite_data.o
MAIN_OBJ := $(BUILD)/harness/main.o
TEST_SRC := $(filter-out tests/bench_%.c,$(wildcard tests/*.c))
TEST_OBJ := $(TEST_SRC:%.c=$(BUILD)/%.o)
BENCH_SRC := $(wildcard tests/bench_*.c)
BENCH_BIN := $(BENCH_SRC:tests/%.c=$(BUILD)/%)

LIB   := $(BUILD)/libmqttsim.a
BIN   := $(BUILD)/mqttsim
EXEC_LIB := $(BUILD)/libmqttsim_exec.so
TESTS := $(BUILD)/check_mqttsim
OUT   := reports/out

.PHONY: all exec test unit cli lint interop interop5 scenarios trace_hashes golden install_test credentials window ci_recipes conform aedes reports pcap badinput html progress explore abuse_topics abuse_acl abuse_shell tls ws scram proxy tcpfaults lang50 v5_scenarios variants asan valgrind coverage bench deps install clean help
all: $(BIN) $(EXEC_LIB)

# Target exec: the interposition library preloaded into an external broker (exec/README.md).
# Built without the sanitizers: it runs inside a program that is not built with them.
$(EXEC_LIB): exec/interpose.c exec/protocol.h
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(OPT) $(WARN) -fPIC -shared -I. -o $@ exec/interpose.c -ldl

# A broker that starts a thread, which target exec must refuse (tests/exec.sh).
$(BUILD)/exec_threaded: tests/exec/threaded.c
	@mkdir -p $(dir $@)
	$(CC) -std=c11 $(OPT) $(WARN) -o $@ $< -pthread

# mosquitto in virtual time: conform, determinism, the refusals.
exec: $(BIN) $(EXEC_LIB) $(BUILD)/exec_threaded
	$(call bounded,exec,env MQTTSIM=$(BIN) EXEC_THREADED=$(BUILD)/exec_threaded sh tests/exec.sh)

$(BUILD)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

# The list of files is a prerequisite too, so adding or removing a scenario regenerates it.
build/gen/suite.list: FORCE
	@mkdir -p $(dir $@)
	@echo '$(SUITE_FILES)' | cmp -s - $@ 2>/dev/null || echo '$(SUITE_FILES)' >$@

$(SUITE_GEN): harness/embed.sh build/gen/suite.list $(SUITE_FILES)
	@echo "embed $(words $(SUITE_FILES)) files of the suite -> $@"
	@sh harness/embed.sh $(SUITE_FILES) >$@.tmp && mv $@.tmp $@

$(BUILD)/gen/suite_data.o: $(SUITE_GEN)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -c $< -o $@

.PHONY: FORCE
FORCE:

$(LIB): $(LIB_OBJ)
	@mkdir -p $(dir $@)
	rm -f $@
	ar rcs $@ $^

$(BIN): $(MAIN_OBJ) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(YAML_LIBS) $(SSL_LIBS) -lm

$(TESTS): $(TEST_OBJ) $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(CHECK_LIBS) $(YAML_LIBS) $(SSL_LIBS) -lm

$(BUILD)/bench_%: $(BUILD)/tests/bench_%.o $(LIB)
	$(CC) $(LDFLAGS_ALL) -o $@ $^ $(YAML_LIBS) $(SSL_LIBS) -lm

test: unit cli lint exec interop interop5 scenarios lang50 v5_scenarios variants trace_hashes golden install_test credentials window ci_recipes conform aedes reports pcap badinput html progress explore abuse_topics abuse_acl abuse_shell tls ws scram proxy tcpfaults

# Every test target is bounded in wall time: a hang fails its target with a message naming it
# instead of stalling CI. $(call bounded,NAME,COMMAND)
TEST_TIMEOUT ?= 900
bounded = @echo '$(2)'; timeout -k 10 $(TEST_TIMEOUT) $(2) || { rc=$$?; \
	if [ $$rc -eq 124 ] || [ $$rc -eq 137 ]; then echo "$(1): stopped after $(TEST_TIMEOUT) s (timeout exit $$rc)"; fi; exit $$rc; }

# CK_FORK=no runs every check in one process. `make asan` uses it: each forked check would pay
# a sanitizer's exit work (about 45 ms here, far more on some machines).
UNIT_ENV ?=

# The determinism and I/O rules over the sources; the broker's symbol prefixes over $(LIB).
# lint_plants.sh shows the lint failing on planted calls, includes and symbols (in a copy).
lint: $(LIB)
	$(call bounded,lint,sh tests/determinism_lint.sh $(LIB))
	$(call bounded,lint,sh tests/lint_plants.sh)

interop: $(BIN)
	$(call bounded,interop,env MQTTSIM=$(BIN) sh tests/interop.sh)

# MQTT.js comes from npm: tests/interop5.sh installs the pinned version into build/mqttjs.
interop5: $(BIN)
	$(call bounded,interop5,env MQTTSIM=$(BIN) sh tests/interop5.sh)

# The socket shell under abuse: a never-reading subscriber, EMFILE, a wrong-password flood.
abuse_shell: $(BIN)
	$(call bounded,abuse_shell,env MQTTSIM=$(BIN) sh tests/abuse_shell.sh)

scenarios: $(BIN)
	$(call bounded,scenarios,env MQTTSIM=$(BIN) sh tests/scenarios.sh)

# The scenario language in MQTT 5.0: tests/scenarios/v5 passes, and each of its checks can fail.
lang50: $(BIN)
	$(call bounded,lang50,env MQTTSIM=$(BIN) sh tests/lang50.sh)
v5_scenarios: $(BIN)
	$(call bounded,v5_scenarios,env MQTTSIM=$(BIN) sh tests/v5_scenarios.sh)

# Every scenario's trace hash and event count as recorded (the fleet only in make bench).
trace_hashes: $(BIN)
	$(call bounded,trace_hashes,env MQTTSIM=$(BIN) sh tests/trace_hashes.sh)

# What run, conform and explore print, compared with outputs recorded in tests/golden/.
golden: $(BIN)
	$(call bounded,golden,env MQTTSIM=$(BIN) sh tests/golden.sh)

# make install into a temporary DESTDIR, then the installed binary from /.
install_test: $(BIN)
	$(call bounded,install_test,env MQTTSIM=$(BIN) sh tests/install.sh)

# The suite against a mosquitto that wants a user name and allows topics under a prefix.
credentials: $(BIN)
	$(call bounded,credentials,env MQTTSIM=$(BIN) sh tests/credentials.sh)

# SCRAM-SHA-256 enhanced authentication against `mqttsim broker`, by a Python client.
scram: $(BIN)
	$(call bounded,scram,env MQTTSIM=$(BIN) sh tests/scram.sh)

# A negative check over TCP sees what arrived while an earlier check waited.
window: $(BIN)
	$(call bounded,window,env MQTTSIM=$(BIN) sh tests/window.sh)

# The CI recipes in README parse, and their commands pass against mosquitto.
ci_recipes: $(BIN)
	$(call bounded,ci_recipes,env MQTTSIM=$(BIN) sh tests/ci_recipes.sh)

# The permitted-variant matrix: every --broker-variant passes the 3.1.1 suite in simulation and
# over TCP, and each changes behaviour (issue 13).
variants: $(BIN) $(TESTS)
	$(call bounded,variants,env MQTTSIM=$(BIN) CHECK=$(TESTS) sh tests/variants.sh)

conform: $(BIN)
	$(call bounded,conform,env MQTTSIM=$(BIN) sh tests/conform.sh)

# The suite over mqtts:// (certificates made at test time) against the reference broker's TLS
# listener and mosquitto's: the verdicts of plain TCP; TLS errors are exit 2 with the reason.
tls: $(BIN)
	$(call bounded,tls,env MQTTSIM=$(BIN) sh tests/tls.sh)

# The suite over ws:// and wss:// against the reference broker's WebSocket listeners and aedes
# behind npm's ws: the verdicts of plain TCP, section 6 tested; bad handshakes are exit 2.
ws: $(BIN)
	$(call bounded,ws,env MQTTSIM=$(BIN) sh tests/ws.sh)

reports: $(BIN)
	$(call bounded,reports,env MQTTSIM=$(BIN) sh tests/reports.sh)

aedes: $(BIN)
	$(call bounded,aedes,env MQTTSIM=$(BIN) sh tests/aedes.sh)

pcap: $(BIN)
	$(call bounded,pcap,env MQTTSIM=$(BIN) sh tests/pcap.sh)

badinput: $(BIN)
	$(call bounded,badinput,env MQTTSIM=$(BIN) sh tests/badinput.sh)

html: $(BIN)
	$(call bounded,html,env MQTTSIM=$(BIN) sh tests/html.sh)

progress: $(BIN)
	$(call bounded,progress,env MQTTSIM=$(BIN) sh tests/progress.sh)

explore: $(BIN)
	$(call bounded,explore,env MQTTSIM=$(BIN) sh tests/explore.sh)

abuse_topics: $(BIN)
	$(call bounded,abuse_topics,env MQTTSIM=$(BIN) sh tests/abuse_topics.sh)

# mqttsim proxy in front of mosquitto: every fault kind it applies, seen by the client.
proxy: $(BIN)
	$(call bounded,proxy,env MQTTSIM=$(BIN) sh tests/proxy.sh)

# Every network fault of a scenario over TCP (the tcp engine, the proxy's link model in-process)
# against mosquitto: one scenario per fault kind, controls, random_faults by seed, refusals.
tcpfaults: $(BIN)
	$(call bounded,tcpfaults,env MQTTSIM=$(BIN) sh tests/tcpfaults.sh)

# One user taking another's session, 10,000 retained messages to a QoS 1 subscriber.
abuse_acl: $(BIN)
	$(call bounded,abuse_acl,env MQTTSIM=$(BIN) sh tests/abuse_acl.sh)

unit: $(TESTS)
	@mkdir -p $(OUT)
	$(call bounded,unit,env $(UNIT_ENV) CK_XML_LOG_FILE_NAME=$(OUT)/unit.xml CK_TAP_LOG_FILE_NAME=$(OUT)/unit.tap $(TESTS))

cli: $(BIN)
	@mkdir -p $(OUT)
	$(call bounded,cli,env MQTTSIM=$(BIN) sh tests/cli.sh)

# Memory errors and undefined behaviour under the sanitizers; leaks are `make valgrind`'s job.
# LeakSanitizer's stop-the-world (ptrace) at every process exit now and then spun forever on a
# loaded 2-core machine (seen on a broker stopped by SIGTERM), which made CI hang; valgrind's
# leak check is slower but has no such failure mode.
asan:
	ASAN_OPTIONS=detect_leaks=0$${ASAN_OPTIONS:+:$$ASAN_OPTIONS} $(MAKE) BUILD=build/asan OPT="-O1 -g" UNIT_ENV=CK_FORK=no \
		SAN="-fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all" test

valgrind: $(TESTS)
	$(call bounded,valgrind,env CK_FORK=no CRASHSWEEP_STEP=4 valgrind --child-silent-after-fork=yes --error-exitcode=3 --leak-check=full --errors-for-leak-kinds=all --show-leak-kinds=all -q $(TESTS))

# Coverage of the project's code (mqtt/ sim/ broker/ conformance/ reports/ harness/) by the
# whole of `make test`: HTML in reports/coverage/, one summary line, and a floor on lines.
# lcov 1.x takes --rc lcov_branch_coverage=1, lcov 2.x --rc branch_coverage=1 (and is stricter
# about patterns that match nothing, hence its --ignore-errors).
COV_DIR      := reports/coverage
COVERAGE_MIN ?= 85
LCOV_MAJOR    = $(shell lcov --version 2>/dev/null | sed -n 's/.*version \([0-9]*\).*/\1/p')
LCOV_RC       = $(if $(filter 1,$(LCOV_MAJOR)),--rc lcov_branch_coverage=1,--rc branch_coverage=1 --ignore-errors unused,inconsistent,mismatch)

coverage:
	@command -v lcov >/dev/null && command -v genhtml >/dev/null || { echo "make coverage needs lcov: apt-get install -y lcov"; exit 2; }
	rm -rf build/cov $(COV_DIR)
	$(MAKE) BUILD=build/cov OPT="-O0 -g" CFLAGS_EXTRA="--coverage" test
	@mkdir -p $(COV_DIR)
	lcov -q $(LCOV_RC) --capture --directory build/cov --output-file build/cov/all.info
	lcov -q $(LCOV_RC) --extract build/cov/all.info $(foreach m,$(MODULES),'$(CURDIR)/$(m)/*') --output-file $(COV_DIR)/coverage.info
	genhtml -q $(LCOV_RC) --branch-coverage --title "mqttsim" $(COV_DIR)/coverage.info --output-directory $(COV_DIR)
	@lcov $(LCOV_RC) --summary $(COV_DIR)/coverage.info 2>&1 | awk -v min=$(COVERAGE_MIN) ' \
		/lines\.*:/ { l = $$2; lr = $$3 " of " $$5 ")" } /functions\.*:/ { f = $$2; fr = $$3 " of " $$5 ")" } \
		/branches\.*:/ { b = $$2; br = $$3 " of " $$5 ")" } \
		END { printf "coverage: lines %s %s, functions %s %s, branches %s %s\n", l, lr, f, fr, b, br; \
		      v = l; sub(/%/, "", v); if (v + 0 < min) { printf "coverage: lines below %s%%\n", min; exit 1 } }'
	@lcov -q $(LCOV_RC) --extract $(COV_DIR)/coverage.info '$(CURDIR)/mqtt/*' --output-file build/cov/mqtt.info && \
		lcov $(LCOV_RC) --summary build/cov/mqtt.info 2>&1 | awk '/lines\.*:/ { print "coverage of mqtt/ (the codec; target 95%): lines " $$2 " " $$3 " of " $$5 ")" }'
	@echo "HTML report: $(COV_DIR)/index.html"

bench: $(BENCH_BIN) $(BIN)
	@for b in $(BENCH_BIN); do MQTTSIM=$(BIN) $$b || exit 1; done
	@MQTTSIM=$(BIN) sh tests/bench_conform.sh
	@TRACE_HASHES_FLEET=1 MQTTSIM=$(BIN) sh tests/trace_hashes.sh

deps:
	@if [ "$$(id -u)" != 0 ]; then echo "make deps installs Debian packages and must run as root; or run: apt-get install -y $(APT_PKGS)"; exit 2; fi
	apt-get update
	DEBIAN_FRONTEND=noninteractive apt-get install -y $(APT_PKGS)

# The binary carries its suite (harness/suite.h): nothing else is needed at run time.
install: $(BIN) $(EXEC_LIB)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man1 \
		$(DESTDIR)$(PREFIX)/share/bash-completion/completions $(DESTDIR)$(PREFIX)/lib/mqttsim
	install -m 755 $(BIN) $(DESTDIR)$(PREFIX)/bin/mqttsim
	install -m 644 $(EXEC_LIB) $(DESTDIR)$(PREFIX)/lib/mqttsim/libmqttsim_exec.so
	install -m 644 harness/mqttsim.1 $(DESTDIR)$(PREFIX)/share/man/man1/mqttsim.1
	install -m 644 harness/mqttsim.bash $(DESTDIR)$(PREFIX)/share/bash-completion/completions/mqttsim

clean:
	rm -rf build $(OUT) reports/coverage

help:
	@sed -n '2,11p' Makefile | sed 's/^# \{0,1\}//'

-include $(LIB_OBJ:.o=.d) $(MAIN_OBJ:.o=.d) $(TEST_OBJ:.o=.d)

# Coverage-guided fuzzing with libFuzzer (clang): one target per input surface, each in
# tests/fuzz/fuzz_NAME.c with its seeds in tests/fuzz/seeds/NAME/. The library is compiled
# again with clang, coverage instrumentation and ASan+UBSan under build/fuzz/. `make fuzz`
# runs every target for FUZZ_SECONDS one after the other (the small hex and timeline
# surfaces for a sixth of that) and fails on a crash, leak or timeout; the corpora grow
# under build/fuzz/corpus/ (out of git).
FUZZ_SECONDS ?= 60
FUZZ_TARGETS ?= decode broker scenario catalog acl passwd hexdecode timeline ws
FUZZ_DIR     := build/fuzz
FUZZ_CC      ?= clang
FUZZ_CFLAGS  := -std=c11 -D_POSIX_C_SOURCE=200809L -g -O1 -I. $(PKG_CFLAGS) \
                -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_OBJ     := $(LIB_SRC:%.c=$(FUZZ_DIR)/obj/%.o) $(FUZZ_DIR)/obj/gen/suite_data.o
FUZZ_LIB     := $(FUZZ_DIR)/libmqttsim.a
FUZZ_BIN     := $(FUZZ_TARGETS:%=$(FUZZ_DIR)/fuzz_%)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BIN)

# clang and its libFuzzer runtime, checked once, with the packages to install when absent.
$(FUZZ_DIR)/.cc-ok:
	@mkdir -p $(FUZZ_DIR)
	@printf 'int LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n);\nint LLVMFuzzerTestOneInput(const unsigned char *d, unsigned long n) { (void)d; (void)n; return 0; }\n' >$(FUZZ_DIR)/cc-check.c
	@$(FUZZ_CC) -fsanitize=fuzzer $(FUZZ_DIR)/cc-check.c -o $(FUZZ_DIR)/cc-check 2>$(FUZZ_DIR)/cc-check.log || \
		{ echo "make fuzz needs clang with libFuzzer ('$(FUZZ_CC) -fsanitize=fuzzer' fails, see $(FUZZ_DIR)/cc-check.log): apt-get install -y clang libclang-rt-dev"; exit 2; }
	@touch $@

$(FUZZ_DIR)/obj/%.o: %.c | $(FUZZ_DIR)/.cc-ok
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -fsanitize=fuzzer-no-link -MMD -MP -c $< -o $@

$(FUZZ_DIR)/obj/gen/suite_data.o: $(SUITE_GEN) | $(FUZZ_DIR)/.cc-ok
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -c $< -o $@

$(FUZZ_LIB): $(FUZZ_OBJ)
	rm -f $@
	ar rcs $@ $^

$(FUZZ_DIR)/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(WARN) -fsanitize=fuzzer -MMD -MP -MF $@.d $< $(FUZZ_LIB) $(YAML_LIBS) $(SSL_LIBS) -lm -o $@

fuzz: fuzz-build
	@FUZZ_SECONDS=$(FUZZ_SECONDS) FUZZ_DIR=$(FUZZ_DIR) sh tests/fuzz/run.sh $(FUZZ_TARGETS)

-include $(FUZZ_OBJ:.o=.d) $(FUZZ_BIN:%=%.d)
