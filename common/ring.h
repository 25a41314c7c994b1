/*
 * ring.h - a byte stream from one thread to another through a fixed ring
 * buffer, without copies on either side when the caller reads or writes
 * the ring's own memory.
 *
 *     struct ring *r = ring_new(4 << 20, idle);   capacity: a power of two
 *   producer:
 *     p = ring_wspan(r, &n);   n >= 1 free bytes at p, blocks while full;
 *                              NULL once the consumer stopped
 *     ... fill k <= n bytes at p ...; ring_wrote(r, k);
 *     ring_put(r, buf, len);   the same as a copy; -1 once stopped
 *     ring_flush(r);           what was written is visible now
 *     ring_end(r);             no more bytes
 *   consumer:
 *     p = ring_rspan(r, &n);   n >= 1 bytes at p, blocks while empty;
 *                              NULL at the end of the stream
 *     ring_read(r, k);         k <= n bytes consumed
 *     ring_get(r, buf, len);   the same as a copy; -1 if the stream ends first
 *     ring_stop(r);            the consumer wants no more
 *     ring_ready(r);           bytes it can read now, without waiting
 *
 * Bytes become visible to the consumer in batches (64 KiB), at the next
 * write once it is waiting, at ring_flush() and at ring_end(): a producer
 * that may stop for a while (a slow system call) flushes first.  A
 * consumer asleep on an empty ring is woken by the first bytes made
 * visible (it waits only for what the producer has in hand).  A producer
 * asleep on a full ring is woken once 256 KiB (a quarter of a smaller
 * ring) are free, not for each read.  Neither side takes the lock unless
 * the other may be asleep.  idle (may be NULL) is called every 0.1 s that
 * the consumer waits: the main thread handles signals there.
 */
#ifndef ZDT_RING_H
#define ZDT_RING_H

#include <stddef.h>

struct ring;

struct ring *ring_new(size_t cap, void (*idle)(void));
void ring_free(struct ring *r);

void *ring_wspan(struct ring *r, size_t *n);
void ring_wrote(struct ring *r, size_t n);
int ring_put(struct ring *r, const void *p, size_t n);
void ring_flush(struct ring *r);
void ring_end(struct ring *r);

const void *ring_rspan(struct ring *r, size_t *n);
void ring_read(struct ring *r, size_t n);
int ring_get(struct ring *r, void *p, size_t n);
void ring_stop(struct ring *r);
size_t ring_ready(struct ring *r);

#endif
