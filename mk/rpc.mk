# rpc.mk — the libFuzzer target for the gRPC server (test/fuzz-rpc/fuzz_rpc_h2.c): arbitrary client
# bytes into a real server connection over a socketpair. Built with clang, ASan+UBSan, in
# build/fuzz-rpc/, against src/base, src/rpc (with health) and the generated health code.
#   make fuzz-rpc        build and run for FUZZ_SECONDS (default 20); `make fuzz` runs it too
# A crash leaves its input in build/fuzz-rpc/ (crash-*) and fails the run.

FUZZ_SECONDS ?= 20
RPC_FUZZ_CC ?= clang
RPC_FUZZ_OUT := build/fuzz-rpc
RPC_FUZZ_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
RPC_FUZZ_CFLAGS := -std=gnu11 -O1 -g -Wall -Wextra -D_GNU_SOURCE $(RPC_FUZZ_SAN) -fsanitize=fuzzer-no-link
# (base's two sqlite helpers are not needed by the server)
RPC_FUZZ_SRC := $(filter-out src/base/wal_checkpointer.c src/base/walbuf.c,$(wildcard src/base/*.c src/rpc/*.c)) \
                src/rpc/services/health.c test/fuzz-rpc/fuzz_rpc_h2.c
RPC_FUZZ_OBJ := $(RPC_FUZZ_SRC:%.c=$(RPC_FUZZ_OUT)/obj/%.o) $(RPC_FUZZ_OUT)/obj/gen/health.pb-c.o
RPC_FUZZ_LIBS = $(shell pkg-config --libs libevent libnghttp2 libprotobuf-c openssl) -lpthread

.PHONY: fuzz-rpc
fuzz: fuzz-rpc

$(RPC_FUZZ_OUT)/gen/health.pb-c.c: proto/health.proto
	@mkdir -p $(dir $@)
	protoc-c --proto_path=proto --c_out=$(RPC_FUZZ_OUT)/gen $<

$(RPC_FUZZ_OUT)/obj/gen/health.pb-c.o: $(RPC_FUZZ_OUT)/gen/health.pb-c.c
	@mkdir -p $(dir $@)
	$(RPC_FUZZ_CC) $(RPC_FUZZ_CFLAGS) -Wno-unused-parameter -I$(RPC_FUZZ_OUT)/gen -c $< -o $@

$(RPC_FUZZ_OUT)/obj/%.o: %.c $(RPC_FUZZ_OUT)/gen/health.pb-c.c
	@mkdir -p $(dir $@)
	$(RPC_FUZZ_CC) $(RPC_FUZZ_CFLAGS) -Isrc -I$(RPC_FUZZ_OUT)/gen -MMD -MP -c $< -o $@

$(RPC_FUZZ_OUT)/fuzz_rpc_h2: $(RPC_FUZZ_OBJ)
	$(RPC_FUZZ_CC) $(RPC_FUZZ_SAN) -fsanitize=fuzzer $^ $(RPC_FUZZ_LIBS) -o $@

fuzz-rpc: $(RPC_FUZZ_OUT)/fuzz_rpc_h2
	@python3 test/fuzz-rpc/seeds.py $(RPC_FUZZ_OUT)/seeds
	@mkdir -p $(RPC_FUZZ_OUT)/corpus
	@echo "fuzz_rpc_h2: $(FUZZ_SECONDS)s"
	@(cd $(RPC_FUZZ_OUT) && ./fuzz_rpc_h2 -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	    corpus seeds 2>fuzz_rpc_h2.log) || { tail -n 40 $(RPC_FUZZ_OUT)/fuzz_rpc_h2.log; exit 1; }
	@grep -E '^stat::number_of_executed_units' $(RPC_FUZZ_OUT)/fuzz_rpc_h2.log

-include $(shell find $(RPC_FUZZ_OUT)/obj -name '*.d' 2>/dev/null)
