# Makefile - one non-recursive build for Vigil: library, programs, tests, fuzz harnesses and benchmarks.
#
#   make                 build build/vigil
#   make test            build and run the whole suite (last line: "N passed, N failed")
#   make fuzz            build libFuzzer harnesses (clang) into build/fuzz/
#   make bench           build the benchmarks into build/bench/
#   make SANITIZE=address,undefined test    sanitizer build (separate build folder)
#   make V=1             show full commands
#   make WERROR=1        warnings are errors (CI)

CC      ?= cc
CLANG   ?= clang
BUILD   ?= build
PKGS    := libevtx yaml-0.1 expat libpcre2-8 libcrypto libcjson libbpf
PKGS    += libelf   # src/linux: ELF facts
PKGS    += libmicrohttpd sqlite3 zlib libcurl   # vigil-cloud
PKGS    += xgboost   # src/ml: tree training (XGBoost C API)

ifeq ($(V),1)
Q :=
else
Q := @
endif

ifneq ($(SANITIZE),)
BUILD   := $(BUILD)-san
SANFLAGS := -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=undefined
endif

WARN    := -Wall -Wextra -Wshadow -Wno-unused-parameter -Wstrict-prototypes -Wmissing-prototypes
ifeq ($(WERROR),1)
WARN    += -Werror
endif
OPT     ?= -O2 -g
CPPFLAGS += -Iinclude -Isrc -D_GNU_SOURCE -DVIGIL_SOURCE_DIR=\"$(CURDIR)\"
CFLAGS  += -std=c11 $(OPT) $(WARN) $(SANFLAGS) $(shell pkg-config --cflags $(PKGS))
LDLIBS  += $(shell pkg-config --libs $(PKGS)) -lm -lpthread
LDFLAGS += $(SANFLAGS)

# Objects depend on a stamp named after the flags, so changing flags (WERROR=1,
# OPT=...) rebuilds instead of silently reusing objects built another way.
FLAGS_HASH := $(shell echo '$(CC) $(CPPFLAGS) $(CFLAGS)' | md5sum | cut -c1-12)
FLAGS_STAMP := $(BUILD)/flags-$(FLAGS_HASH)

LIB_SRC   := $(filter-out src/cli/% src/tools/% src/daemon/% src/cloudd/%,$(wildcard src/*/*.c))
RULE_FILES := $(shell find rules -name '*.yml' ! -name '*.example.yml' 2>/dev/null | LC_ALL=C sort)
SYSBINS   := rules/data/windows-system-binaries.tsv
LIB_OBJ   := $(LIB_SRC:%.c=$(BUILD)/%.o) $(BUILD)/gen/embedded.o
CLI_SRC   := $(wildcard src/cli/*.c)
CLI_OBJ   := $(CLI_SRC:%.c=$(BUILD)/%.o)
DAEMON_SRC := $(wildcard src/daemon/*.c)
DAEMON_OBJ := $(DAEMON_SRC:%.c=$(BUILD)/%.o)
CLOUDD_SRC := $(wildcard src/cloudd/*.c)
CLOUDD_OBJ := $(CLOUDD_SRC:%.c=$(BUILD)/%.o)
TEST_SRC  := $(wildcard tests/unit/*.c tests/e2e/*.c)
TEST_OBJ  := $(TEST_SRC:%.c=$(BUILD)/%.o)
FUZZ_SRC  := $(wildcard tests/fuzz/fuzz_*.c)
FUZZ_NAMES := $(FUZZ_SRC:tests/fuzz/fuzz_%.c=%)
REPLAY_BIN := $(FUZZ_NAMES:%=$(BUILD)/fuzz/replay_%)
FUZZ_BIN  := $(FUZZ_NAMES:%=$(BUILD)/fuzz/fuzz_%)
BENCH_SRC := $(wildcard bench/bench_*.c)
BENCH_BIN := $(BENCH_SRC:bench/%.c=$(BUILD)/bench/%)
TOOL_SRC  := $(wildcard tests/tools/*.c)
TOOL_BIN  := $(TOOL_SRC:tests/tools/%.c=$(BUILD)/tools/%)

.PHONY: all test check fuzz fuzz-smoke bench clean tools rule-hits model
all: $(BUILD)/vigil $(BUILD)/vigild $(BUILD)/vigil-cloud

$(BUILD)/libvigil.a: $(LIB_OBJ)
	@echo "  AR      $@"
	$(Q)ar rcs $@ $^

$(BUILD)/vigil: $(CLI_OBJ) $(BUILD)/libvigil.a
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLI_OBJ) $(BUILD)/libvigil.a $(LDLIBS)

$(BUILD)/vigild: $(DAEMON_OBJ) $(BUILD)/libvigil.a
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(DAEMON_OBJ) $(BUILD)/libvigil.a $(LDLIBS)

$(BUILD)/vigil-cloud: $(CLOUDD_OBJ) $(BUILD)/libvigil.a
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(CLOUDD_OBJ) $(BUILD)/libvigil.a $(LDLIBS)

# Rules and tables compiled in (see include/vigil/embedded.h).
$(BUILD)/host/embed: src/tools/embed.c
	@mkdir -p $(@D)
	$(Q)$(CC) -O1 -o $@ $<

$(BUILD)/gen/embedded.c: $(BUILD)/host/embed $(SYSBINS) models/vigil-model.bundle $(RULE_FILES) Makefile
	@mkdir -p $(@D)
	@echo "  EMBED   $@"
	$(Q)$(BUILD)/host/embed $@ $(SYSBINS) models/vigil-model.bundle $(RULE_FILES)

$(BUILD)/gen/embedded.o: $(BUILD)/gen/embedded.c $(FLAGS_STAMP)
	$(Q)$(CC) $(CPPFLAGS) -O0 -c -o $@ $<

$(FLAGS_STAMP):
	@mkdir -p $(@D)
	@rm -f $(BUILD)/flags-*
	@touch $@

$(BUILD)/%.o: %.c $(FLAGS_STAMP)
	@mkdir -p $(@D)
	@echo "  CC      $<"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) -MMD -MP -c -o $@ $<

$(BUILD)/tests/run: $(TEST_OBJ) $(BUILD)/libvigil.a
	@echo "  LINK    $@"
	$(Q)$(CC) $(LDFLAGS) -o $@ $(TEST_OBJ) $(BUILD)/libvigil.a $(LDLIBS)

# Replay drivers: each fuzz harness linked with a main() that feeds it files (runs in the suite).
$(BUILD)/fuzz/replay_%: tests/fuzz/fuzz_%.c tests/fuzz/replay_main.c $(BUILD)/libvigil.a
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< tests/fuzz/replay_main.c $(BUILD)/libvigil.a $(LDLIBS)

# libFuzzer harnesses need clang; built separately from the library with the same sources.
FUZZ_CFLAGS := -std=c11 -O1 -g -fsanitize=fuzzer,address,undefined -Iinclude -Isrc -D_GNU_SOURCE $(shell pkg-config --cflags $(PKGS))
FUZZ_LIB_SRC := $(filter-out src/sensor/sensor%.c,$(LIB_SRC))
$(BUILD)/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $(FUZZ_LIB_SRC) $(BUILD)/gen/embedded.c
	@mkdir -p $(@D)
	@echo "  FUZZ    $@"
	$(Q)$(CLANG) $(FUZZ_CFLAGS) -o $@ $< $(FUZZ_LIB_SRC) $(BUILD)/gen/embedded.c $(LDLIBS)

$(BUILD)/bench/%: bench/%.c $(BUILD)/libvigil.a
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libvigil.a $(LDLIBS) -lcjson

$(BUILD)/tools/%: tests/tools/%.c $(BUILD)/libvigil.a
	@mkdir -p $(@D)
	@echo "  LINK    $@"
	$(Q)$(CC) $(CPPFLAGS) $(CFLAGS) $(LDFLAGS) -o $@ $< $(BUILD)/libvigil.a $(LDLIBS)

tools: $(TOOL_BIN)
fuzz: $(FUZZ_BIN)
bench: $(BENCH_BIN)

test: $(BUILD)/vigil $(BUILD)/vigild $(BUILD)/vigil-cloud $(BUILD)/tests/run $(REPLAY_BIN) $(TOOL_BIN)
	$(Q)VIGIL_BUILD=$(BUILD) ./$(BUILD)/tests/run

# The whole suite as CI runs it: the tests, the same tests under ASan+UBSan,
# and a short run of every libFuzzer harness from its corpus.
check:
	$(Q)$(MAKE) --no-print-directory fuzz-smoke
	$(Q)$(MAKE) --no-print-directory SANITIZE=address,undefined test
	$(Q)$(MAKE) --no-print-directory test

FUZZ_SECONDS ?= 20
fuzz-smoke: $(FUZZ_BIN)
	$(Q)for f in $(FUZZ_NAMES); do \
		mkdir -p $(BUILD)/fuzz/work-$$f; \
		echo "  FUZZ    $$f ($(FUZZ_SECONDS) s)"; \
		./$(BUILD)/fuzz/fuzz_$$f -max_total_time=$(FUZZ_SECONDS) -print_final_stats=0 \
			$(BUILD)/fuzz/work-$$f tests/fuzz/corpus/$$f >$(BUILD)/fuzz/fuzz_$$f.log 2>&1 \
			|| { tail -40 $(BUILD)/fuzz/fuzz_$$f.log; exit 1; }; \
	done; echo "fuzz-smoke: $(words $(FUZZ_NAMES)) harnesses ran $(FUZZ_SECONDS) s each without a crash"

# Regenerates the rule-hits expectation (docs/sigma.md, "Rule hits"): every rule against every
# regression case and generated benign events (4,000 Windows, 2,000 Linux); the e2e test uses the same.
rule-hits: $(BUILD)/vigil $(BUILD)/tools/gen_scenario
	$(Q)./$(BUILD)/tools/gen_scenario --seed 1 --benign 4000 > $(BUILD)/benign-rule-hits.json
	$(Q)./$(BUILD)/tools/gen_scenario --seed 1 --benign 2000 --linux > $(BUILD)/benign-rule-hits-linux.json
	$(Q)./$(BUILD)/vigil rules hits --benign $(BUILD)/benign-rule-hits.json \
		--benign $(BUILD)/benign-rule-hits-linux.json --resolvers 192.168.1.1 --write tests/data/rule-hits.tsv
	@echo "  wrote tests/data/rule-hits.tsv"

# The shipped model bundle (docs/ml.md): trained from the committed corpus with a fixed seed, so the same
# corpus gives the same bytes. `vigil train` exits 1 when it skipped bad lines (listed on stderr): still a model.
MODEL_CORPUS := data/corpus/linux.jsonl data/corpus/windows.jsonl
MODEL_SEED   ?= 1
model: $(BUILD)/vigil
	@mkdir -p models
	$(Q)./$(BUILD)/vigil train --seed $(MODEL_SEED) -o models/vigil-model.bundle $(MODEL_CORPUS) \
		>$(BUILD)/model-train.txt; rc=$$?; cat $(BUILD)/model-train.txt; [ $$rc -le 1 ]

# The eBPF sensor: bpf/vigil.bpf.c -> BPF object -> libbpf skeleton (embedded in src/sensor/sensor.c).
BPFTOOL ?= bpftool
$(BUILD)/bpf/vigil.bpf.o: bpf/vigil.bpf.c bpf/vigil_events.h bpf/vmlinux.h
	@mkdir -p $(@D)
	@echo "  BPF     $@"
	$(Q)$(CLANG) -g -O2 -Wall -target bpf -D__TARGET_ARCH_x86 -Ibpf -c -o $@ $<

$(BUILD)/gen/vigil.skel.h: $(BUILD)/bpf/vigil.bpf.o
	@mkdir -p $(@D)
	@echo "  SKEL    $@"
	$(Q)$(BPFTOOL) gen skeleton $< name vigil > $@.tmp && mv $@.tmp $@

$(BUILD)/src/sensor/sensor.o: $(BUILD)/gen/vigil.skel.h
$(BUILD)/src/sensor/sensor.o: CPPFLAGS += -I$(BUILD)/gen -Ibpf

clean:
	rm -rf build build-san

-include $(shell find $(BUILD) -name '*.d' 2>/dev/null)

# The simulator's fuzz harness compiles the simulator's parsers in (tests/fuzz/fuzz_sim.c).
$(BUILD)/fuzz/replay_sim $(BUILD)/fuzz/fuzz_sim: tests/tools/vigil_sim.c
# bench_cloud starts the server it measures.
bench: $(BUILD)/vigil-cloud
# The suite runs bench_sigma --quick (tests/e2e/test_sigma_bench.c).
test: $(BUILD)/bench/bench_sigma
