/* fuzz_welcome.c — Welcome. */
#include "fuzz_common.h"
FUZZ_DECODER(welcome)
