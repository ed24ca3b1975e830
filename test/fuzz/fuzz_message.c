/* fuzz_message.c — MLSMessage, every wire format. */
#include "fuzz_common.h"
FUZZ_DECODER(message)
