/* fuzz_ratchet_tree.c — optional<Node> ratchet_tree<V>. */
#include "fuzz_common.h"
FUZZ_DECODER(ratchet_tree)
