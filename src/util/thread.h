/*
 * Helper threads that start running at once, and processors of their own.
 *
 * Linux often queues a new thread on the processor of the thread that
 * created it, and when the creator keeps working (it always does here:
 * it hands the helper half of a job and goes on with the other half) the
 * helper waits for the creator's time slice to run out, some
 * milliseconds, although another processor is idle. On a 2-processor
 * machine that was a third of a small site's render: the render threads
 * shared the pages, but one of them started late.
 *
 * The same happens whenever one of our threads wakes another: after a
 * wait for a lock the other held in the kernel (two threads creating
 * files on one ext4 file system take turns at its locks), the woken one
 * is queued on the waker's processor and waits out a 4 ms tick there
 * while its own processor idles. Two threads creating a small site's 405
 * files on this VM's disk met 11 such waits of 2-4 ms in 12 runs, and
 * none when each kept to a processor of its own.
 *
 * So threads that work side by side for a short while can be planned one
 * to a processor (ts_cpu_plan): the planning thread keeps to the first,
 * each thread started with ts_thread_start_on to the one it is given.
 * Without a plan, ts_thread_start starts the thread on another processor
 * than the caller's (when the process may use more than one), and the
 * thread widens its affinity back to the process's as its first act, so
 * the scheduler stays free to move it afterwards.
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

/* Processors for up to 16 threads, one each, and what the planning
 * thread could run on before (given back by ts_cpu_plan_end). */
struct ts_cpu_plan {
  unsigned n; /* 0: no plan; threads go anywhere */
  int cpu[16];
  unsigned char saved[128]; /* the planning thread's cpu_set_t */
};

/* Plans `n` threads on `n` distinct processors the process may use, the
 * calling thread's own first, and keeps the calling thread on it. False,
 * with plan->n = 0 and nothing changed, when `n` is under 2 or over 16,
 * the process may not use `n` processors, or the affinity cannot be set.
 * End every plan made with ts_cpu_plan_end, on the same thread. */
bool ts_cpu_plan(struct ts_cpu_plan *plan, unsigned n);

/* Gives the planning thread back the processors it could run on; the
 * plan is empty after. Nothing for an empty plan. */
void ts_cpu_plan_end(struct ts_cpu_plan *plan);

/* ts_thread_start, with the new thread kept on processor `slot` of `plan`
 * for its whole life; as ts_thread_start when `plan` is NULL or has no
 * such slot (slot 0 is the planning thread's own). */
enum ts_result ts_thread_start_on(struct ts_thread *t, int (*fn)(void *arg),
                                  void *arg, const struct ts_cpu_plan *plan,
                                  unsigned slot);

/* A lock and a condition for a thread to wait on, made together: false,
 * with nothing to destroy, when either cannot be made (the caller then
 * does without a helper thread). */
bool ts_thread_sync_init(mtx_t *lock, cnd_t *cv);

/* Destroys what ts_thread_sync_init made. */
void ts_thread_sync_destroy(mtx_t *lock, cnd_t *cv);

#endif
