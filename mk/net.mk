# net.mk — the test-only p2p-node program (test/p2p-node/), built with `all` so make check has it.
all: $(O)/p2p-node

$(O)/p2p-node: $(O)/obj/test/p2p-node/p2p-node.o $(LIB)
	$(CC) $(LDFLAGS) $^ $(LDLIBS) -o $@
