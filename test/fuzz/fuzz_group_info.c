/* fuzz_group_info.c — GroupInfo. */
#include "fuzz_common.h"
FUZZ_DECODER(group_info)
