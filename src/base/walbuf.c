/* walbuf.c — see walbuf.h. */
#include "base/walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define WAL_FRAME_HEADER 24
#define FLUSH_OVER (1u << 20) /* a large transaction is written in pieces of about this */
#define WRITE_MAX 65536

typedef struct {
    sqlite3_file base;
    sqlite3_file *real; /* the default VFS's file, in the same allocation after this struct */
    int is_wal;
    int commit_next;    /* the last write was a commit frame's header: its page ends the commit */
    uint8_t *buf;
    size_t len, cap;
    sqlite3_int64 off;  /* file offset of buf[0] */
} wb_file;

#define WB_SIZE ((sizeof(wb_file) + 15) & ~(size_t)15)

static sqlite3_vfs wb_vfs;

static int wb_flush(wb_file *w)
{
    if (!w->len)
        return SQLITE_OK;
    int rc = SQLITE_OK;
    /* The unix VFS writes at most 128 KiB per call (it masks the count to 17 bits). */
    for (size_t at = 0; at < w->len && rc == SQLITE_OK; at += WRITE_MAX) {
        size_t n = w->len - at < WRITE_MAX ? w->len - at : WRITE_MAX;
        rc = w->real->pMethods->xWrite(w->real, w->buf + at, (int)n, w->off + (sqlite3_int64)at);
    }
    w->len = 0;
    return rc;
}

static int wb_close(sqlite3_file *f)
{
    wb_file *w = (wb_file *)f;
    int rc = wb_flush(w), rc2 = w->real->pMethods->xClose(w->real);
    free(w->buf);
    w->buf = NULL;
    return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *f, void *p, int n, sqlite3_int64 off)
{
    wb_file *w = (wb_file *)f;
    int rc = wb_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xRead(w->real, p, n, off);
}

static int wb_write(sqlite3_file *f, const void *p, int n, sqlite3_int64 off)
{
    wb_file *w = (wb_file *)f;
    int rc;
    if (!w->is_wal || n <= 0)
        return w->real->pMethods->xWrite(w->real, p, n, off);
    if (w->len && off != w->off + (sqlite3_int64)w->len && (rc = wb_flush(w)) != SQLITE_OK)
        return rc;
    if (w->len + (size_t)n > w->cap) {
        size_t cap = w->cap ? w->cap : 65536;
        while (cap < w->len + (size_t)n)
            cap *= 2;
        uint8_t *nb = realloc(w->buf, cap);
        if (!nb) {
            /* no memory to gather in: write what we have and this one directly */
            if ((rc = wb_flush(w)) != SQLITE_OK)
                return rc;
            return w->real->pMethods->xWrite(w->real, p, n, off);
        }
        w->buf = nb;
        w->cap = cap;
    }
    if (!w->len)
        w->off = off;
    memcpy(w->buf + w->len, p, (size_t)n);
    w->len += (size_t)n;
    if (n == WAL_FRAME_HEADER) {
        /* bytes 4..7 of a frame header: the database size after a commit, 0 for other frames */
        const uint8_t *h = p;
        w->commit_next = (h[4] | h[5] | h[6] | h[7]) != 0;
        return SQLITE_OK;
    }
    if (w->commit_next || w->len >= FLUSH_OVER) {
        w->commit_next = 0;
        return wb_flush(w);
    }
    return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *f, sqlite3_int64 size)
{
    wb_file *w = (wb_file *)f;
    int rc = wb_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xTruncate(w->real, size);
}

static int wb_sync(sqlite3_file *f, int flags)
{
    wb_file *w = (wb_file *)f;
    int rc = wb_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xSync(w->real, flags);
}

static int wb_size(sqlite3_file *f, sqlite3_int64 *size)
{
    wb_file *w = (wb_file *)f;
    int rc = wb_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileSize(w->real, size);
}

#define REAL(f) (((wb_file *)(f))->real)
static int wb_lock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xLock(REAL(f), l); }
static int wb_unlock(sqlite3_file *f, int l) { return REAL(f)->pMethods->xUnlock(REAL(f), l); }
static int wb_reserved(sqlite3_file *f, int *out) { return REAL(f)->pMethods->xCheckReservedLock(REAL(f), out); }
static int wb_fcntl(sqlite3_file *f, int op, void *arg)
{
    wb_file *w = (wb_file *)f;
    int rc = wb_flush(w); /* some controls look at the file (size hints, persist-wal, ...) */
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFileControl(w->real, op, arg);
}
static int wb_sector(sqlite3_file *f) { return REAL(f)->pMethods->xSectorSize(REAL(f)); }
static int wb_devchar(sqlite3_file *f) { return REAL(f)->pMethods->xDeviceCharacteristics(REAL(f)); }
static int wb_shm_map(sqlite3_file *f, int pg, int sz, int ext, void volatile **pp)
{
    return REAL(f)->pMethods->xShmMap(REAL(f), pg, sz, ext, pp);
}
static int wb_shm_lock(sqlite3_file *f, int off, int n, int flags)
{
    return REAL(f)->pMethods->xShmLock(REAL(f), off, n, flags);
}
static void wb_shm_barrier(sqlite3_file *f) { REAL(f)->pMethods->xShmBarrier(REAL(f)); }
static int wb_shm_unmap(sqlite3_file *f, int del) { return REAL(f)->pMethods->xShmUnmap(REAL(f), del); }
static int wb_fetch(sqlite3_file *f, sqlite3_int64 off, int n, void **pp)
{
    wb_file *w = (wb_file *)f;
    int rc = wb_flush(w);
    return rc != SQLITE_OK ? rc : w->real->pMethods->xFetch(w->real, off, n, pp);
}
static int wb_unfetch(sqlite3_file *f, sqlite3_int64 off, void *p)
{
    return REAL(f)->pMethods->xUnfetch(REAL(f), off, p);
}

static const sqlite3_io_methods wb_methods = {
    3,           wb_close,   wb_read,     wb_write,       wb_truncate,  wb_sync,  wb_size,
    wb_lock,     wb_unlock,  wb_reserved, wb_fcntl,       wb_sector,    wb_devchar,
    wb_shm_map,  wb_shm_lock, wb_shm_barrier, wb_shm_unmap, wb_fetch,   wb_unfetch,
};

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *out_flags)
{
    sqlite3_vfs *parent = vfs->pAppData;
    wb_file *w = (wb_file *)f;
    memset(w, 0, sizeof *w);
    w->real = (sqlite3_file *)((uint8_t *)f + WB_SIZE);
    int rc = parent->xOpen(parent, name, w->real, flags, out_flags);
    if (rc != SQLITE_OK)
        return rc; /* base.pMethods stays NULL: sqlite will not call xClose */
    if (!w->real->pMethods || w->real->pMethods->iVersion < 3) {
        /* not the unix VFS we expect: cannot stand in for it */
        if (w->real->pMethods)
            w->real->pMethods->xClose(w->real);
        return SQLITE_CANTOPEN;
    }
    w->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    w->base.pMethods = &wb_methods;
    return SQLITE_OK;
}

/* Everything but xOpen goes to the parent VFS unchanged. */
#define PARENT(v) ((sqlite3_vfs *)(v)->pAppData)
static int wb_delete(sqlite3_vfs *v, const char *n, int sync) { return PARENT(v)->xDelete(PARENT(v), n, sync); }
static int wb_access(sqlite3_vfs *v, const char *n, int fl, int *out)
{
    return PARENT(v)->xAccess(PARENT(v), n, fl, out);
}
static int wb_fullpath(sqlite3_vfs *v, const char *n, int len, char *out)
{
    return PARENT(v)->xFullPathname(PARENT(v), n, len, out);
}
static void *wb_dlopen(sqlite3_vfs *v, const char *n) { return PARENT(v)->xDlOpen(PARENT(v), n); }
static void wb_dlerror(sqlite3_vfs *v, int n, char *msg) { PARENT(v)->xDlError(PARENT(v), n, msg); }
static void (*wb_dlsym(sqlite3_vfs *v, void *h, const char *s))(void) { return PARENT(v)->xDlSym(PARENT(v), h, s); }
static void wb_dlclose(sqlite3_vfs *v, void *h) { PARENT(v)->xDlClose(PARENT(v), h); }
static int wb_random(sqlite3_vfs *v, int n, char *out) { return PARENT(v)->xRandomness(PARENT(v), n, out); }
static int wb_sleep(sqlite3_vfs *v, int us) { return PARENT(v)->xSleep(PARENT(v), us); }
static int wb_time(sqlite3_vfs *v, double *t) { return PARENT(v)->xCurrentTime(PARENT(v), t); }
static int wb_lasterr(sqlite3_vfs *v, int n, char *s)
{
    return PARENT(v)->xGetLastError ? PARENT(v)->xGetLastError(PARENT(v), n, s) : 0;
}
static int wb_time64(sqlite3_vfs *v, sqlite3_int64 *t) { return PARENT(v)->xCurrentTimeInt64(PARENT(v), t); }

/* Registers the VFS over the default one (once per process, whichever thread comes first). */
static pthread_once_t wb_once = PTHREAD_ONCE_INIT;
static int wb_ok;

static void wb_register(void)
{
    if (sqlite3_initialize() != SQLITE_OK)
        return;
    sqlite3_vfs *parent = sqlite3_vfs_find(NULL);
    if (!parent || parent->iVersion < 2 || !parent->xCurrentTimeInt64)
        return;
    sqlite3_vfs v = {
        2, (int)(WB_SIZE + (size_t)parent->szOsFile), parent->mxPathname, NULL, "sp-walbuf", parent,
        wb_open, wb_delete, wb_access, wb_fullpath, wb_dlopen, wb_dlerror, wb_dlsym, wb_dlclose, wb_random,
        wb_sleep, wb_time, wb_lasterr, wb_time64, NULL, NULL, NULL,
    };
    wb_vfs = v;
    if (sqlite3_vfs_register(&wb_vfs, 0) == SQLITE_OK)
        wb_ok = 1;
    else
        memset(&wb_vfs, 0, sizeof wb_vfs);
}

const char *sp_walbuf_vfs(void)
{
    pthread_once(&wb_once, wb_register);
    return wb_ok ? wb_vfs.zName : NULL;
}
