/*
 * store/frames.h — what makes fan-out durable: the log of every frame seen, keyed by
 * (origin peer id, origin sequence), the highest contiguous sequence held per origin (what the
 * catch-up exchange advertises), and the outbox of frames still to hand to a given peer.
 *
 * Origin sequences start at 1. store_frame_put is the dedup point: it says whether the frame is
 * new, and logging it advances the origin's contiguous mark when the gap before it is filled.
 * Payloads are opaque typed bytes (net/ knows the types).
 *
 * Returned arrays own their strings and payloads; free with store_frames_free / store_origins_free.
 */
#ifndef SP_STORE_FRAMES_H
#define SP_STORE_FRAMES_H

#include <stddef.h>
#include <stdint.h>
#include "store/db.h"

typedef struct {
    int64_t id;             /* outbox row id (0 for log entries) */
    char *dest_peer;        /* outbox destination; NULL = every peer */
    char *origin_peer;
    uint64_t origin_seq;
    uint32_t type;
    uint8_t *payload;
    size_t len;
} store_frame;

typedef struct {
    char *origin_peer;
    uint64_t contiguous;    /* every sequence 1..contiguous is held */
} store_origin;

void store_frames_free(store_frame *v, size_t n);
void store_origins_free(store_origin *v, size_t n);

/* Logs a frame. *is_new is 1 if it was not held before (then it is stored and the contiguous mark
 * may advance), 0 for a duplicate (nothing changes). origin_seq 0 is SP_ERR_INVALID. */
sp_err store_frame_put(store_db *db, const char *origin, uint64_t origin_seq, uint32_t type,
                       const uint8_t *payload, size_t len, int *is_new);
/* Logs a frame this daemon originates, with the next sequence of origin (self), in one step. */
sp_err store_frame_originate(store_db *db, const char *self, uint32_t type, const uint8_t *payload,
                             size_t len, uint64_t *seq);
/* SP_ERR_NOT_FOUND when not held. out must be freed with store_frames_free(out, 1)-style clear:
 * free(out->origin_peer), free(out->payload) — or use store_frame_clear. */
sp_err store_frame_get(store_db *db, const char *origin, uint64_t origin_seq, store_frame *out);
void store_frame_clear(store_frame *f);
/* Frames of origin with sequence > after_seq, in order, at most limit (catch-up). */
sp_err store_frames_after(store_db *db, const char *origin, uint64_t after_seq, int limit,
                          store_frame **out, size_t *n);
/* The contiguous mark of one origin (0 if none held). */
sp_err store_origin_contiguous(store_db *db, const char *origin, uint64_t *contiguous);
/* Every origin's contiguous mark (the catch-up vector). */
sp_err store_origin_list(store_db *db, store_origin **out, size_t *n);
/* Deletes logged frames of origin with sequence <= up_to (pruning; the contiguous mark stays). */
sp_err store_frames_prune(store_db *db, const char *origin, uint64_t up_to);

/* The outbox: frames to deliver to dest (NULL = every peer) until acknowledged. */
sp_err store_outbox_add(store_db *db, const char *dest, const char *origin, uint64_t origin_seq,
                        uint32_t type, const uint8_t *payload, size_t len, int64_t *id);
/* Entries for dest (NULL: the broadcast entries) with id > after_id, oldest first. */
sp_err store_outbox_list(store_db *db, const char *dest, int64_t after_id, int limit,
                         store_frame **out, size_t *n);
sp_err store_outbox_remove(store_db *db, int64_t id);

#endif
