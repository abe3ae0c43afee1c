/* Hostile callers of the process table (issue 9): many threads spawning, waiting, signalling,
 * listing and releasing at once for 30 s with nothing lost or hung, and 20,000 spawns of every
 * kind, succeeding or failing, with the caller's fds, threads, table and memory flat. */
#include "core_util.h"

#include <pthread.h>
#include <stdint.h>
#include <time.h>

/* A numeric field of /proc/self/status ("Threads", "VmRSS" in kB). */
static long own_status_number(const char *key) {
  char *text = proc_file(getpid(), "status");
  CHECK(text != NULL, "no /proc/self/status");
  const char *value = field(text, key);
  long n = value ? atol(value) : -1;
  free(text);
  CHECK(n >= 0, "no %s in /proc/self/status", key);
  return n;
}

static size_t listed(const char *container) {
  size_t count = 0;
  CHECK(sprout_list(container, NULL, 0, &count) == 0, "sprout_list");
  return count;
}

/* Starts the probe with `args` and no fds (or the given ones); returns its pid. */
static int spawn_args(sprout_exec_args *a, const char *const *args, sprout_error *err) {
  const int32_t fds[] = {-1, -1, 2};
  int pid = -1;
  int rc = spawn_probe(a, args, fds, 3, &pid, err);
  return rc == 0 ? pid : rc;
}

/* ---- 8 threads for 30 s ---- */

enum { THREADS = 8, SECONDS = 30 };

struct worker {
  int index;
  double deadline;
  unsigned seed;
  int kept; /* the kernel keeps the status of a process someone else reaped */
  long rounds, spawned, accounted;
  volatile const char *doing; /* what the thread is in, for a hang report */
  volatile int done;
  char failure[512];
};

#define WORKER_FAIL(w, ...)                                         \
  do {                                                              \
    snprintf((w)->failure, sizeof (w)->failure, __VA_ARGS__);       \
    return NULL;                                                    \
  } while (0)

static void *work(void *arg) {
  struct worker *w = arg;
  char ctr[64];
  snprintf(ctr, sizeof ctr, "stress-%d-%d", getpid(), w->index);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.container_id = ctr;
  while (now_seconds() < w->deadline) {
    w->rounds++;
    sprout_error err = {0};
    int status = -1;
    int code = (int)(rand_r(&w->seed) % 200);
    char code_text[16];
    snprintf(code_text, sizeof code_text, "%d", code);
    const char *exiting[] = {"exit", code_text, NULL};
    const char *pausing[] = {"pause", NULL};
    switch (rand_r(&w->seed) % 8) {
    case 0: { /* spawn and wait */
      w->doing = "spawn + wait";
      int pid = spawn_args(&a, exiting, &err);
      if (pid < 0) WORKER_FAIL(w, "spawn: %s", err.message);
      w->spawned++;
      if (sprout_wait(pid, -1, &status, &err) != 0) WORKER_FAIL(w, "wait %d: %s", pid, err.message);
      if (!WIFEXITED(status) || WEXITSTATUS(status) != code) WORKER_FAIL(w, "pid %d: status %#x", pid, status);
      w->accounted++;
      break;
    }
    case 1: { /* signal a running process, poll-wait with timeouts */
      w->doing = "spawn + signal + wait";
      int pid = spawn_args(&a, pausing, &err);
      if (pid < 0) WORKER_FAIL(w, "spawn: %s", err.message);
      w->spawned++;
      if (sprout_signal(pid, 0) != 0) WORKER_FAIL(w, "signal 0 to %d", pid);
      int rc = sprout_wait(pid, 0, &status, &err);
      if (rc != -ETIMEDOUT) WORKER_FAIL(w, "wait 0 on a paused %d: %d (%s)", pid, rc, err.message);
      if (sprout_signal(pid, SIGTERM) != 0) WORKER_FAIL(w, "signal SIGTERM to %d", pid);
      if (sprout_wait(pid, 10000, &status, &err) != 0) WORKER_FAIL(w, "wait %d: %s", pid, err.message);
      if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGTERM) WORKER_FAIL(w, "pid %d: status %#x", pid, status);
      if (sprout_signal(pid, SIGTERM) != -ESRCH) WORKER_FAIL(w, "signal after the wait of %d", pid);
      w->accounted++;
      break;
    }
    case 2: { /* release, and reap it ourselves */
      w->doing = "spawn + release + waitpid";
      int pid = spawn_args(&a, exiting, &err);
      if (pid < 0) WORKER_FAIL(w, "spawn: %s", err.message);
      w->spawned++;
      if (sprout_release(pid) != 0) WORKER_FAIL(w, "release %d", pid);
      if (waitpid(pid, &status, 0) != pid) WORKER_FAIL(w, "waitpid %d: %s", pid, strerror(errno));
      if (!WIFEXITED(status) || WEXITSTATUS(status) != code) WORKER_FAIL(w, "pid %d: status %#x", pid, status);
      w->accounted++;
      break;
    }
    case 3: { /* a container of three: list it, signal it, wait for it */
      w->doing = "container of three";
      int pids[3];
      for (int i = 0; i < 3; i++) {
        pids[i] = spawn_args(&a, pausing, &err);
        if (pids[i] < 0) WORKER_FAIL(w, "spawn: %s", err.message);
        w->spawned++;
      }
      int32_t got[8];
      size_t count = 0;
      if (sprout_list(ctr, got, 8, &count) != 0 || count != 3) WORKER_FAIL(w, "%s lists %zu, not 3", ctr, count);
      for (int i = 0; i < 3; i++)
        if (got[0] != pids[i] && got[1] != pids[i] && got[2] != pids[i]) WORKER_FAIL(w, "%d not listed", pids[i]);
      int signalled = sprout_signal_container(ctr, SIGKILL);
      if (signalled != 3) WORKER_FAIL(w, "signal_container: %d, not 3", signalled);
      for (int i = 0; i < 3; i++) {
        if (sprout_wait(pids[i], 10000, &status, &err) != 0) WORKER_FAIL(w, "wait %d: %s", pids[i], err.message);
        if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL) WORKER_FAIL(w, "pid %d: status %#x", pids[i], status);
        w->accounted++;
      }
      break;
    }
    case 4: { /* look at the others' processes: signal 0 and pidfds, which may end meanwhile */
      w->doing = "list all + signal 0 + pidfd";
      int32_t all[64];
      size_t count = 0;
      if (sprout_list(NULL, all, 64, &count) != 0) WORKER_FAIL(w, "list all");
      for (size_t i = 0; i < count && i < 64; i++) {
        int rc = sprout_signal(all[i], 0);
        if (rc != 0 && rc != -ESRCH) WORKER_FAIL(w, "signal 0 to %d: %d", all[i], rc);
        int pidfd = sprout_pidfd(all[i]);
        if (pidfd >= 0) close(pidfd);
        else if (pidfd != -ESRCH) WORKER_FAIL(w, "pidfd of %d: %d", all[i], pidfd);
      }
      break;
    }
    case 5: { /* a failed spawn leaves nothing */
      w->doing = "failed spawn";
      const char *argv[] = {"/nonexistent/sprout-stress", NULL};
      a.argv = argv;
      int rc = sprout_exec_async(&a, NULL, 0, &(sprout_process){0, NULL}, &err);
      a.argv = NULL;
      if (rc != -ENOENT || err.stage != SPROUT_STAGE_EXEC) WORKER_FAIL(w, "missing program: %d (%s)", rc, err.message);
      break;
    }
    case 6: { /* sprout_exec */
      w->doing = "sprout_exec";
      const char *argv[] = {probe_path(), "exit", code_text, NULL};
      a.argv = argv;
      int rc = sprout_exec(&a, NULL, 0, &status, &err);
      a.argv = NULL;
      if (rc != 0) WORKER_FAIL(w, "sprout_exec: %s", err.message);
      w->spawned++;
      if (!WIFEXITED(status) || WEXITSTATUS(status) != code) WORKER_FAIL(w, "sprout_exec: status %#x", status);
      w->accounted++;
      break;
    }
    case 7: { /* reaped behind the library's back, then asked for */
      w->doing = "spawn + waitpid + wait";
      int pid = spawn_args(&a, exiting, &err);
      if (pid < 0) WORKER_FAIL(w, "spawn: %s", err.message);
      w->spawned++;
      if (waitpid(pid, &status, 0) != pid) WORKER_FAIL(w, "waitpid %d: %s", pid, strerror(errno));
      if (listed(ctr) != 0) WORKER_FAIL(w, "%s still lists %d, which was reaped", ctr, pid);
      int got = -1;
      int rc = sprout_wait(pid, 0, &got, &err);
      if (w->kept ? rc != 0 || got != status : rc != -ECHILD)
        WORKER_FAIL(w, "wait for %d, reaped: %d, status %#x (%s)", pid, rc, got, err.message);
      w->accounted++;
      break;
    }
    }
    w->doing = "between rounds";
    if (listed(ctr) != 0) WORKER_FAIL(w, "%s still lists %zu processes", ctr, listed(ctr));
  }
  w->done = 1;
  return NULL;
}

TEST(eight_threads_spawn_wait_signal_list_and_release_for_30_seconds) {
  int fds_before = own_fd_count();
  long threads_before = own_status_number("Threads");
  static struct worker workers[THREADS];
  pthread_t threads[THREADS];
  int kept = kernel_keeps_exit_status();
  double start = now_seconds();
  for (int t = 0; t < THREADS; t++) {
    workers[t] = (struct worker){
        .index = t, .deadline = start + SECONDS, .seed = (unsigned)(t * 7919 + getpid()), .kept = kept};
    CHECK(pthread_create(&threads[t], NULL, work, &workers[t]) == 0, "pthread_create");
  }
  /* A thread still busy 20 s after the end is hung: say where, before the harness's alarm. */
  for (int t = 0; t < THREADS; t++) {
    struct timespec limit;
    clock_gettime(CLOCK_REALTIME, &limit);
    limit.tv_sec += (time_t)(start + SECONDS + 20 - now_seconds());
    int rc = pthread_timedjoin_np(threads[t], NULL, &limit);
    CHECK(rc == 0, "thread %d hung in \"%s\" (round %ld)", t, workers[t].doing, workers[t].rounds);
  }
  long rounds = 0, spawned = 0;
  for (int t = 0; t < THREADS; t++) {
    CHECK(workers[t].failure[0] == 0, "thread %d, round %ld: %s", t, workers[t].rounds, workers[t].failure);
    CHECK(workers[t].done && workers[t].spawned == workers[t].accounted, "thread %d: %ld spawned, %ld accounted for",
          t, workers[t].spawned, workers[t].accounted);
    rounds += workers[t].rounds;
    spawned += workers[t].spawned;
  }
  fprintf(stderr, "  %d threads, %.0f s: %ld rounds, %ld processes\n", THREADS, now_seconds() - start, rounds, spawned);
  CHECK(spawned > 1000, "only %ld processes in %d s", spawned, SECONDS);
  CHECK(listed(NULL) == 0, "still listed: %zu", listed(NULL));
  CHECK(own_fd_count() == fds_before, "fds %d -> %d: %s", fds_before, own_fd_count(), proc_fd_list(getpid()));
  CHECK(own_status_number("Threads") == threads_before, "threads %ld -> %ld", threads_before,
        own_status_number("Threads"));
  int status;
  CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "a child is left");
}

/* ---- 20,000 spawns of every kind ---- */

enum { SPAWNS = 20000, WARM_UP = 2000 };

/* One spawn of kind i % 10, checked; every process it starts is gone when it returns, except
 * for kind 9, which leaves it to the caller's reaping behind the library's back. */
static void mixed_spawn(int i, int kept) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  char code[16], ctr[64];
  snprintf(code, sizeof code, "%d", i % 200);
  snprintf(ctr, sizeof ctr, "mixed-%d", getpid());
  const char *exiting[] = {probe_path(), "exit", code, NULL};
  const char *pausing[] = {probe_path(), "pause", NULL};
  const char *missing[] = {"/nonexistent/sprout-mixed", NULL};
  a.argv = exiting;
  sprout_process proc;
  sprout_error err;
  int status = -1;
  switch (i % 10) {
  case 0:
    CHECK_OK(sprout_exec(&a, NULL, 0, &status, &err), &err);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == i % 200, "spawn %d: status %#x", i, status);
    return;
  case 1:
    CHECK_OK(sprout_exec_async(&a, NULL, 0, &proc, &err), &err);
    CHECK_OK(sprout_wait(proc.pid, -1, &status, &err), &err);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == i % 200, "spawn %d: status %#x", i, status);
    return;
  case 2:
    a.argv = missing;
    CHECK_FAILS(sprout_exec(&a, NULL, 0, &status, &err), &err, ENOENT, SPROUT_STAGE_EXEC);
    return;
  case 3: {
    const int32_t bad[] = {0, 1000};
    CHECK_FAILS(sprout_exec_async(&a, bad, 2, &proc, &err), &err, EBADF, SPROUT_STAGE_ARGS);
    return;
  }
  case 4:
    a.argv = pausing;
    a.container_id = ctr;
    CHECK_OK(sprout_exec_async(&a, NULL, 0, &proc, &err), &err);
    CHECK(sprout_signal_container(ctr, SIGKILL) == 1, "spawn %d: signal_container", i);
    CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL, "spawn %d: status %#x", i, status);
    return;
  case 5:
    CHECK_OK(sprout_exec_async(&a, NULL, 0, &proc, &err), &err);
    CHECK(sprout_release(proc.pid) == 0, "spawn %d: release", i);
    CHECK(waitpid(proc.pid, &status, 0) == proc.pid, "spawn %d: waitpid: %s", i, strerror(errno));
    return;
  case 6: /* reaped behind the library's back, then asked for */
    CHECK_OK(sprout_exec_async(&a, NULL, 0, &proc, &err), &err);
    CHECK(waitpid(proc.pid, &status, 0) == proc.pid, "spawn %d: waitpid: %s", i, strerror(errno));
    CHECK(sprout_wait(proc.pid, 0, &status, &err) == (kept ? 0 : -ECHILD), "spawn %d: %s", i, err.message);
    return;
  case 7:
    a.argv = pausing;
    CHECK_OK(sprout_exec_async(&a, NULL, 0, &proc, &err), &err);
    CHECK(sprout_signal(proc.pid, SIGKILL) == 0, "spawn %d: signal", i);
    CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
    return;
  case 8: { /* a terminal: a handle to release */
    int master, slave;
    CHECK(sprout_openpty(&master, &slave, 24, 80) == 0, "sprout_openpty");
    const int32_t fds[] = {slave, slave, slave};
    CHECK_OK(sprout_exec_async(&a, fds, 3, &proc, &err), &err);
    CHECK(proc.tty != NULL, "spawn %d: no tty handle", i);
    CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
    CHECK(sprout_tty_release(proc.tty) == 0, "spawn %d: tty release", i);
    close(master);
    close(slave);
    return;
  }
  case 9: /* reaped behind the library's back and never asked for */
    CHECK_OK(sprout_exec_async(&a, NULL, 0, &proc, &err), &err);
    CHECK(waitpid(proc.pid, &status, 0) == proc.pid, "spawn %d: waitpid: %s", i, strerror(errno));
    return;
  }
}

struct footprint {
  int fds;
  long threads, rss_kb;
  size_t listed;
};

/* The caller's fds, threads, RSS and listed processes. Listing comes first: it makes the library
 * look for processes reaped behind its back, whose pidfds it holds until it looks (at most
 * about 64 of them, see processes_reaped_behind_the_librarys_back_leave_the_table). */
static struct footprint footprint(void) {
  size_t count = listed(NULL);
  return (struct footprint){own_fd_count(), own_status_number("Threads"), own_status_number("VmRSS"), count};
}

TEST(twenty_thousand_mixed_spawns_leave_fds_threads_table_and_memory_flat) {
  /* A spawn costs about a millisecond here; give the 20,000 more than the usual minute. */
  alarm(300);
  int kept = kernel_keeps_exit_status();
  for (int i = 0; i < WARM_UP; i++) mixed_spawn(i, kept);
  struct footprint before = footprint();
  double start = now_seconds();
  for (int i = WARM_UP; i < WARM_UP + SPAWNS; i++) {
    mixed_spawn(i, kept);
    if (i % 1000 == 0) {
      struct footprint now = footprint();
      CHECK(now.fds == before.fds, "after %d spawns: fds %d -> %d", i, before.fds, now.fds);
      CHECK(now.listed == 0, "after %d spawns: %zu listed", i, now.listed);
    }
  }
  struct footprint after = footprint();
  fprintf(stderr, "  %d spawns in %.1f s: fds %d -> %d, threads %ld -> %ld, listed %zu -> %zu, RSS %ld -> %ld kB\n",
          SPAWNS, now_seconds() - start, before.fds, after.fds, before.threads, after.threads, before.listed,
          after.listed, before.rss_kb, after.rss_kb);
  CHECK(after.fds == before.fds, "fds %d -> %d: %s", before.fds, after.fds, proc_fd_list(getpid()));
  CHECK(after.threads == before.threads, "threads %ld -> %ld", before.threads, after.threads);
  CHECK(after.listed == 0, "listed %zu", after.listed);
  CHECK(after.rss_kb - before.rss_kb < 1024, "RSS %ld -> %ld kB", before.rss_kb, after.rss_kb);
  int status;
  CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "a child is left");
}

int main(void) {
  temp_root_create("table-stress");
  RUN(eight_threads_spawn_wait_signal_list_and_release_for_30_seconds);
  RUN(twenty_thousand_mixed_spawns_leave_fds_threads_table_and_memory_flat);
  temp_root_remove();
  return summary();
}
