/*
 * walbuf.h — an sqlite VFS that coalesces the writes of one WAL commit into one write(2).
 *
 * sqlite appends a commit to the write-ahead log as two pwrite calls per page (the 24-byte frame
 * header, then the page). net's frame log (net/persist_sqlite.c) commits once per read batch of
 * relayed frames, so those system calls were the largest cost of relaying a frame; the store
 * (store/db.c) commits once per group commit of messages. This VFS
 * wraps the default one: writes to a WAL file that continue the previous one are gathered in
 * memory and written at once when the commit frame (a header with a non-zero "database size")
 * has its page, and before anything else touches the file (read, sync, truncate, size, close).
 * So a commit is in the file when sqlite's COMMIT returns, exactly as without it: crash and
 * durability behaviour are unchanged. Other files pass straight through.
 */
#ifndef SP_BASE_WALBUF_H
#define SP_BASE_WALBUF_H

#include "base/err.h"

/* The VFS's name for sqlite3_open_v2, registered on first use (not as the default); NULL, which
 * sqlite reads as the default VFS, if it cannot be registered. */
const char *sp_walbuf_vfs(void);

#endif
