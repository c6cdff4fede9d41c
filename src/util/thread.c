#define _GNU_SOURCE /* sched_getcpu, CPU_* and the _np affinity calls */
#include "util/thread.h"

#include <sched.h>
#include <stdlib.h>

struct start {
  int (*fn)(void *);
  void *arg;
  bool pinned;     /* started away from the creator's processor */
  cpu_set_t wide;  /* the processors the process may use */
};

static void *run(void *p)
{
  struct start s = *(struct start *)p;
  free(p);
  /* Started where it could run at once; from now on anywhere. */
  if (s.pinned)
    pthread_setaffinity_np(pthread_self(), sizeof s.wide, &s.wide);
  s.fn(s.arg);
  return NULL;
}

enum ts_result ts_thread_start(struct ts_thread *t, int (*fn)(void *arg),
                               void *arg)
{
  struct start *s = malloc(sizeof *s);
  if (!s)
    return TS_ERR_NOMEM;
  *s = (struct start){.fn = fn, .arg = arg};
  pthread_attr_t attr;
  bool have_attr = pthread_attr_init(&attr) == 0;
  int here = sched_getcpu();
  if (have_attr && here >= 0 &&
      sched_getaffinity(0, sizeof s->wide, &s->wide) == 0 &&
      CPU_ISSET(here, &s->wide) && CPU_COUNT(&s->wide) > 1) {
    cpu_set_t away = s->wide;
    CPU_CLR(here, &away);
    s->pinned = pthread_attr_setaffinity_np(&attr, sizeof away, &away) == 0;
  }
  int rc = pthread_create(&t->id, have_attr ? &attr : NULL, run, s);
  if (rc != 0 && s->pinned) {
    /* Say a processor went offline meanwhile: start it anywhere. */
    s->pinned = false;
    rc = pthread_create(&t->id, NULL, run, s);
  }
  if (have_attr)
    pthread_attr_destroy(&attr);
  if (rc != 0) {
    free(s);
    return TS_ERR_INTERNAL;
  }
  return TS_OK;
}

void ts_thread_join(struct ts_thread *t)
{
  pthread_join(t->id, NULL);
}

bool ts_thread_sync_init(mtx_t *lock, cnd_t *cv)
{
  if (mtx_init(lock, mtx_plain) != thrd_success)
    return false;
  if (cnd_init(cv) != thrd_success) {
    mtx_destroy(lock);
    return false;
  }
  return true;
}

void ts_thread_sync_destroy(mtx_t *lock, cnd_t *cv)
{
  cnd_destroy(cv);
  mtx_destroy(lock);
}
