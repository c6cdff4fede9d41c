/* Helper threads: they run their function with its argument, join, and
 * once running may use every processor the process may (the start away
 * from the creator's processor is undone), also when the process is
 * held to a single processor. A plan keeps its threads to a processor
 * each, and gives the planning thread its processors back at the end. */
#define _GNU_SOURCE /* sched_getcpu, CPU_* */
#include <sched.h>
#include <stdatomic.h>
#include <string.h>

#include "harness.h"
#include "util/thread.h"

struct probe {
  atomic_int ran;
  int value;
  cpu_set_t seen; /* the thread's affinity, as its function saw it */
};

static int look(void *arg)
{
  struct probe *p = arg;
  sched_getaffinity(0, sizeof p->seen, &p->seen);
  p->value *= 2;
  atomic_store(&p->ran, 1);
  return 0;
}

static void threads_run_with_the_process_affinity(void)
{
  cpu_set_t wide;
  REQUIRE(sched_getaffinity(0, sizeof wide, &wide) == 0);
  struct probe probes[8];
  struct ts_thread ids[8];
  for (int i = 0; i < 8; i++) {
    memset(&probes[i], 0, sizeof probes[i]);
    probes[i].value = i + 1;
    REQUIRE(ts_thread_start(&ids[i], look, &probes[i]) == TS_OK);
  }
  for (int i = 0; i < 8; i++) {
    ts_thread_join(&ids[i]);
    CHECK_INT(atomic_load(&probes[i].ran), 1);
    CHECK_INT(probes[i].value, 2 * (i + 1));
    CHECK(CPU_EQUAL(&probes[i].seen, &wide));
  }
}

static void one_processor_is_enough(void)
{
  cpu_set_t wide, one;
  REQUIRE(sched_getaffinity(0, sizeof wide, &wide) == 0);
  int cpu = sched_getcpu();
  REQUIRE(cpu >= 0);
  CPU_ZERO(&one);
  CPU_SET(cpu, &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  struct probe p;
  memset(&p, 0, sizeof p);
  p.value = 21;
  struct ts_thread id;
  enum ts_result r = ts_thread_start(&id, look, &p);
  if (r == TS_OK)
    ts_thread_join(&id);
  sched_setaffinity(0, sizeof wide, &wide);
  CHECK_INT(r, TS_OK);
  CHECK_INT(p.value, 42);
  CHECK(CPU_EQUAL(&p.seen, &one));
}

struct placed {
  cpu_set_t seen;
  int cpu;
};

static int where(void *arg)
{
  struct placed *p = arg;
  sched_getaffinity(0, sizeof p->seen, &p->seen);
  p->cpu = sched_getcpu();
  return 0;
}

static bool only(const cpu_set_t *set, int cpu)
{
  return CPU_COUNT(set) == 1 && CPU_ISSET(cpu, set);
}

static void a_plan_keeps_each_thread_to_its_processor(void)
{
  cpu_set_t wide, now;
  REQUIRE(sched_getaffinity(0, sizeof wide, &wide) == 0);
  if (CPU_COUNT(&wide) < 2) {
    ts_test_skip("the process may use one processor only");
    return;
  }
  struct ts_cpu_plan plan;
  REQUIRE(ts_cpu_plan(&plan, 2));
  CHECK_INT(plan.n, 2);
  CHECK(plan.cpu[0] != plan.cpu[1]);
  CHECK(CPU_ISSET(plan.cpu[0], &wide) && CPU_ISSET(plan.cpu[1], &wide));
  sched_getaffinity(0, sizeof now, &now);
  CHECK(only(&now, plan.cpu[0])); /* the planning thread stays put */
  CHECK_INT(sched_getcpu(), plan.cpu[0]);

  struct placed second = {.cpu = -1}, unplanned = {.cpu = -1};
  struct ts_thread a, b;
  REQUIRE(ts_thread_start_on(&a, where, &second, &plan, 1) == TS_OK);
  /* No slot 5 in a plan for two: started as by ts_thread_start. */
  REQUIRE(ts_thread_start_on(&b, where, &unplanned, &plan, 5) == TS_OK);
  struct placed no_plan = {.cpu = -1};
  struct ts_thread c;
  REQUIRE(ts_thread_start_on(&c, where, &no_plan, NULL, 1) == TS_OK);
  ts_thread_join(&a);
  ts_thread_join(&b);
  ts_thread_join(&c);
  CHECK(only(&second.seen, plan.cpu[1]));
  CHECK_INT(second.cpu, plan.cpu[1]);
  CHECK(CPU_EQUAL(&unplanned.seen, &now)); /* the creator's, as it is */
  CHECK(CPU_EQUAL(&no_plan.seen, &now));

  ts_cpu_plan_end(&plan);
  CHECK_INT(plan.n, 0);
  sched_getaffinity(0, sizeof now, &now);
  CHECK(CPU_EQUAL(&now, &wide));
  ts_cpu_plan_end(&plan); /* an ended plan: nothing to give back */
  sched_getaffinity(0, sizeof now, &now);
  CHECK(CPU_EQUAL(&now, &wide));
}

static void no_plan_without_a_processor_each(void)
{
  cpu_set_t wide, now;
  REQUIRE(sched_getaffinity(0, sizeof wide, &wide) == 0);
  struct ts_cpu_plan plan;
  int count = CPU_COUNT(&wide);
  unsigned too_many[] = {0, 1, (unsigned)count + 1, 17};
  for (size_t i = 0; i < sizeof too_many / sizeof too_many[0]; i++) {
    plan.n = 9;
    CHECK(!ts_cpu_plan(&plan, too_many[i]));
    CHECK_INT(plan.n, 0);
    sched_getaffinity(0, sizeof now, &now);
    CHECK(CPU_EQUAL(&now, &wide));
  }
  /* Held to one processor, the process cannot plan two threads; a
   * thread started on the empty plan runs all the same. */
  cpu_set_t one;
  CPU_ZERO(&one);
  CPU_SET(sched_getcpu(), &one);
  REQUIRE(sched_setaffinity(0, sizeof one, &one) == 0);
  bool planned = ts_cpu_plan(&plan, 2);
  struct placed p = {.cpu = -1};
  struct ts_thread id;
  enum ts_result r = ts_thread_start_on(&id, where, &p, &plan, 1);
  if (r == TS_OK)
    ts_thread_join(&id);
  sched_setaffinity(0, sizeof wide, &wide);
  CHECK(!planned);
  CHECK_INT(r, TS_OK);
  CHECK(CPU_EQUAL(&p.seen, &one));
}

/* A lock and condition from ts_thread_sync_init carry a handover: the
 * helper's value is seen once it said so. */
struct handover {
  mtx_t lock;
  cnd_t cv;
  bool ready;
  int value;
};

static int hand_over(void *arg)
{
  struct handover *h = arg;
  mtx_lock(&h->lock);
  h->value = 7;
  h->ready = true;
  cnd_broadcast(&h->cv);
  mtx_unlock(&h->lock);
  return 0;
}

static void a_lock_and_condition_hand_over(void)
{
  struct handover h = {.ready = false};
  REQUIRE(ts_thread_sync_init(&h.lock, &h.cv));
  struct ts_thread id;
  bool started = ts_thread_start(&id, hand_over, &h) == TS_OK;
  if (!started)
    hand_over(&h);
  mtx_lock(&h.lock);
  while (!h.ready)
    cnd_wait(&h.cv, &h.lock);
  int seen = h.value;
  mtx_unlock(&h.lock);
  if (started)
    ts_thread_join(&id);
  ts_thread_sync_destroy(&h.lock, &h.cv);
  CHECK(started);
  CHECK_INT(seen, 7);
}

int main(int argc, char **argv)
{
  static const struct ts_test tests[] = {
    TEST(threads_run_with_the_process_affinity),
    TEST(one_processor_is_enough),
    TEST(a_plan_keeps_each_thread_to_its_processor),
    TEST(no_plan_without_a_processor_each),
    TEST(a_lock_and_condition_hand_over),
    TEST_END,
  };
  return ts_test_main(argc, argv, tests);
}
