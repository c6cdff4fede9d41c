#define _GNU_SOURCE /* sched_getcpu, CPU_* and the _np affinity calls */
#include "util/thread.h"

#include <sched.h>
#include <stdlib.h>
#include <string.h>

struct start {
  int (*fn)(void *);
  void *arg;
  bool widen;     /* started away from the creator's processor: widen */
  cpu_set_t wide; /* the processors the process may use */
};

static void *run(void *p)
{
  struct start s = *(struct start *)p;
  free(p);
  /* Started where it could run at once; from now on anywhere. */
  if (s.widen)
    pthread_setaffinity_np(pthread_self(), sizeof s.wide, &s.wide);
  s.fn(s.arg);
  return NULL;
}

/* Starts `fn(arg)` on a new thread kept to processor `cpu`, or (cpu < 0)
 * started on another processor than the caller's and then free. */
static enum ts_result start(struct ts_thread *t, int (*fn)(void *arg),
                            void *arg, int cpu)
{
  struct start *s = malloc(sizeof *s);
  if (!s)
    return TS_ERR_NOMEM;
  *s = (struct start){.fn = fn, .arg = arg};
  pthread_attr_t attr;
  bool have_attr = pthread_attr_init(&attr) == 0, placed = false;
  if (have_attr && cpu >= 0 && cpu < CPU_SETSIZE) {
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(cpu, &one);
    placed = pthread_attr_setaffinity_np(&attr, sizeof one, &one) == 0;
  } else if (have_attr) {
    int here = sched_getcpu();
    if (here >= 0 && sched_getaffinity(0, sizeof s->wide, &s->wide) == 0 &&
        CPU_ISSET(here, &s->wide) && CPU_COUNT(&s->wide) > 1) {
      cpu_set_t away = s->wide;
      CPU_CLR(here, &away);
      placed = s->widen =
          pthread_attr_setaffinity_np(&attr, sizeof away, &away) == 0;
    }
  }
  int rc = pthread_create(&t->id, have_attr ? &attr : NULL, run, s);
  if (rc != 0 && placed) {
    /* Say a processor went offline meanwhile: start it anywhere. */
    s->widen = false;
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

enum ts_result ts_thread_start(struct ts_thread *t, int (*fn)(void *arg),
                               void *arg)
{
  return start(t, fn, arg, -1);
}

enum ts_result ts_thread_start_on(struct ts_thread *t, int (*fn)(void *arg),
                                  void *arg, const struct ts_cpu_plan *plan,
                                  unsigned slot)
{
  bool planned = plan && slot > 0 && slot < plan->n;
  return start(t, fn, arg, planned ? plan->cpu[slot] : -1);
}

_Static_assert(sizeof(cpu_set_t) <= sizeof(((struct ts_cpu_plan *)0)->saved),
               "struct ts_cpu_plan holds a cpu_set_t");

bool ts_cpu_plan(struct ts_cpu_plan *plan, unsigned n)
{
  plan->n = 0;
  cpu_set_t may, one;
  int here = sched_getcpu();
  if (n < 2 || n > sizeof plan->cpu / sizeof plan->cpu[0] || here < 0 ||
      pthread_getaffinity_np(pthread_self(), sizeof may, &may) != 0 ||
      !CPU_ISSET(here, &may) || CPU_COUNT(&may) < (int)n)
    return false;
  CPU_ZERO(&one);
  CPU_SET(here, &one);
  if (pthread_setaffinity_np(pthread_self(), sizeof one, &one) != 0)
    return false;
  memcpy(plan->saved, &may, sizeof may);
  plan->cpu[plan->n++] = here;
  for (int c = 0; c < CPU_SETSIZE && plan->n < n; c++)
    if (c != here && CPU_ISSET(c, &may))
      plan->cpu[plan->n++] = c;
  return true;
}

void ts_cpu_plan_end(struct ts_cpu_plan *plan)
{
  if (plan->n) {
    cpu_set_t may;
    memcpy(&may, plan->saved, sizeof may);
    pthread_setaffinity_np(pthread_self(), sizeof may, &may);
  }
  plan->n = 0;
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
