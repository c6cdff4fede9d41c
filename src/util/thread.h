/*
 * Helper threads that start running at once.
 *
 * Linux often queues a new thread on the processor of the thread that
 * created it, and when the creator keeps working (it always does here:
 * it hands the helper half of a job and goes on with the other half) the
 * helper waits for the creator's time slice to run out, some
 * milliseconds, although another processor is idle. On a 2-processor
 * machine that was a third of a small site's render: the render threads
 * shared the pages, but one of them started late.
 *
 * ts_thread_start starts the thread on another processor than the
 * caller's (when the process may use more than one), and the thread
 * widens its affinity back to the process's as its first act, so the
 * scheduler stays free to move it afterwards.
 */
#ifndef TS_THREAD_H
#define TS_THREAD_H

#include <pthread.h>
#include <stdbool.h>
#include <threads.h>

#include "util/error.h"

struct ts_thread {
  pthread_t id;
};

/* Runs `fn(arg)` on a new thread; its return value is ignored.
 * TS_ERR_NOMEM (or TS_ERR_INTERNAL) when no thread could be started: the
 * caller then does the work itself. Join every started thread with
 * ts_thread_join. */
enum ts_result ts_thread_start(struct ts_thread *t, int (*fn)(void *arg),
                               void *arg);

void ts_thread_join(struct ts_thread *t);

/* A lock and a condition for a thread to wait on, made together: false,
 * with nothing to destroy, when either cannot be made (the caller then
 * does without a helper thread). */
bool ts_thread_sync_init(mtx_t *lock, cnd_t *cv);

/* Destroys what ts_thread_sync_init made. */
void ts_thread_sync_destroy(mtx_t *lock, cnd_t *cv);

#endif
