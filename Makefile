# spacepanda — build, test and run. See README.md for the commands and docs/architecture.md for the layout.
#
#   make            build build/spacepandad, build/spacepanda, build/mls-vectors
#   make run        install deps, build, run the daemon (ARGS="--log-level debug" to pass flags)
#   make check      install deps, build, run every test (SANITIZE=1: all under ASan+UBSan, in build/san/)
#   make bench      benchmarks that print figures
#   make fuzz       libFuzzer targets with clang, a short run of each (FUZZ_SECONDS, default 20)
#   make deps       install the Debian packages building and testing need (idempotent)

O := build
SAN_FLAGS :=
ifeq ($(SANITIZE),1)
O := build/san
SAN_FLAGS := -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

CC ?= cc
PKGS := libevent libevent_pthreads libnghttp2 libprotobuf-c openssl sqlite3 libargon2
PKG_CFLAGS = $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS = $(shell pkg-config --libs $(PKGS) 2>/dev/null)
OPT ?= -O2
CFLAGS := -std=gnu11 $(OPT) -g -Wall -Wextra -Werror -D_GNU_SOURCE -MMD -MP $(SAN_FLAGS)
CPPFLAGS := -Isrc -I$(O)/gen -Itest/lib
LDFLAGS := $(SAN_FLAGS)
LDLIBS = $(PKG_LIBS) -lpthread -lm

# ---- sources -------------------------------------------------------------------------
PROTOS := $(wildcard proto/*.proto)
GEN_C := $(patsubst proto/%.proto,$(O)/gen/%.pb-c.c,$(PROTOS))
GEN_H := $(GEN_C:.c=.h)
LIB_SRC := $(filter-out src/main.c,$(shell find src -name '*.c' | sort))
LIB_OBJ := $(LIB_SRC:%.c=$(O)/obj/%.o) $(GEN_C:$(O)/gen/%.c=$(O)/obj/gen/%.o)
LIB := $(O)/libspacepanda.a
TESTLIB_OBJ := $(patsubst %.c,$(O)/obj/%.o,$(wildcard test/lib/*.c))
CLI_OBJ := $(patsubst %.c,$(O)/obj/%.o,$(wildcard tools/*.c))
UNIT_SRC := $(wildcard test/unit/*.c)
UNIT_BIN := $(patsubst test/unit/%.c,$(O)/test/%,$(UNIT_SRC))
VEC_OBJ := $(patsubst %.c,$(O)/obj/%.o,$(wildcard test/mls-vectors/*.c))
BENCH_BIN := $(patsubst bench/%.c,$(O)/bench/%,$(wildcard bench/*.c))

.PHONY: all deps run check bench fuzz clean
.SECONDARY:
all: $(O)/spacepandad $(O)/spacepanda $(O)/mls-vectors $(UNIT_BIN)

deps:
	@bash tools/deps.sh

# ---- generated protobuf-c code -------------------------------------------------------
$(O)/gen/%.pb-c.c $(O)/gen/%.pb-c.h: proto/%.proto
	@mkdir -p $(O)/gen
	protoc-c --proto_path=proto --c_out=$(O)/gen $<

$(O)/obj/gen/%.o: $(O)/gen/%.c
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) -Wno-unused-parameter $(CPPFLAGS) $(PKG_CFLAGS) -c $< -o $@

# ---- our code ------------------------------------------------------------------------
$(O)/obj/%.o: %.c | $(GEN_H)
	@mkdir -p $(dir $@)
	$(CC) $(CFLAGS) $(CPPFLAGS) $(PKG_CFLAGS) -c $< -o $@

$(LIB): $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

$(O)/spacepandad: $(O)/obj/src/main.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(O)/spacepanda: $(CLI_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(O)/mls-vectors: $(VEC_OBJ) $(TESTLIB_OBJ) $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(O)/test/%: $(O)/obj/test/unit/%.o $(TESTLIB_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

$(O)/bench/%: $(O)/obj/bench/%.o $(TESTLIB_OBJ) $(LIB)
	@mkdir -p $(dir $@)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@

# ---- commands ------------------------------------------------------------------------
run: deps all
	$(O)/spacepandad $(ARGS)

check: deps
	@$(MAKE) --no-print-directory all
	@SP_BUILD=$(O) SANITIZE=$(SANITIZE) bash test/run.sh

bench: deps
	@$(MAKE) --no-print-directory all OPT=-O2 $(BENCH_BIN)
	@SP_BUILD=$(O) bash bench/run.sh

clean:
	rm -rf build

# Extra targets owned by one layer each (fuzz targets, benches needing more than a main()).
-include $(wildcard mk/*.mk)
-include $(shell find $(O)/obj -name '*.d' 2>/dev/null)
