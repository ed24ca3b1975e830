# fuzz.mk — libFuzzer targets for the MLS decoders (test/fuzz/fuzz_*.c), built with clang
# against src/base and src/mls (the pure library parts) with ASan+UBSan, in build/fuzz/.
#   make fuzz                 build every target and run each for FUZZ_SECONDS (default 20)
#   make fuzz-build           build only
# A crash leaves its input in build/fuzz/ (crash-*) and fails the run.

FUZZ_SECONDS ?= 20
FUZZ_CC ?= clang
FUZZ_OUT := build/fuzz
FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
FUZZ_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -D_GNU_SOURCE $(FUZZ_SAN) -fsanitize=fuzzer-no-link
# base/workers.c needs libevent and base/wal_checkpointer.c, base/walbuf.c sqlite, which the pure
# MLS library does not
FUZZ_LIB_SRC := $(filter-out src/base/workers.c src/base/wal_checkpointer.c src/base/walbuf.c,\
                  $(wildcard src/base/*.c src/mls/*.c))
FUZZ_LIB_OBJ := $(FUZZ_LIB_SRC:%.c=$(FUZZ_OUT)/obj/%.o)
FUZZ_NAMES := $(patsubst test/fuzz/fuzz_%.c,%,$(wildcard test/fuzz/fuzz_*.c))
FUZZ_BINS := $(FUZZ_NAMES:%=$(FUZZ_OUT)/fuzz_%)

.PHONY: fuzz fuzz-build
fuzz-build: $(FUZZ_BINS)

$(FUZZ_OUT)/obj/%.o: %.c
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Isrc -Itest/fuzz -MMD -MP -c $< -o $@

$(FUZZ_OUT)/fuzz_%: $(FUZZ_OUT)/obj/test/fuzz/fuzz_%.o $(FUZZ_LIB_OBJ)
	$(FUZZ_CC) $(FUZZ_SAN) -fsanitize=fuzzer $^ $(shell pkg-config --libs openssl) -o $@

fuzz: $(FUZZ_BINS)
	@python3 test/fuzz/seed.py $(FUZZ_OUT)/seeds
	@set -e; for t in $(FUZZ_NAMES); do \
	  mkdir -p $(FUZZ_OUT)/corpus/$$t; \
	  echo "fuzz_$$t: $(FUZZ_SECONDS)s"; \
	  (cd $(FUZZ_OUT) && ./fuzz_$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	     corpus/$$t seeds/$$t 2>fuzz_$$t.log) || { tail -n 40 $(FUZZ_OUT)/fuzz_$$t.log; exit 1; }; \
	  grep -E '^(stat::number_of_executed_units|#[0-9]+.*DONE)' $(FUZZ_OUT)/fuzz_$$t.log | tail -n 2; \
	done; echo "fuzz: all targets ran $(FUZZ_SECONDS)s without a finding"

-include $(shell find $(FUZZ_OUT)/obj -name '*.d' 2>/dev/null)
