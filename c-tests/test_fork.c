/*
 * A copy of the caller made by fork() while other threads use the library: it must find no
 * lock held (the process table, the TTY handles, the dumpable bookkeeping) and none of its
 * parent's spawn areas, whatever pid it has. What it may do is in the header's rules.
 */
#include "harness.h"

#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>

/* Spawns the probe saying tag-i, `rounds` times, and checks each answer. */
static void spawn_and_check_answers(const char *tag, int rounds) {
  for (int i = 0; i < rounds; i++) {
    char said[64];
    snprintf(said, sizeof said, "%s-%d", tag, i);
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    const char *args[] = {"say", said, NULL};
    char *out = run_probe(&a, args);
    CHECK(!strncmp(out, said, strlen(said)) && out[strlen(said)] == '\n', "%s said \"%s\"", said,
          out);
    free(out);
  }
}

static int stop;
static sprout_tty *tty;

/* Takes the table lock over and over. */
static void *list_forever(void *unused) {
  (void)unused;
  while (!FLAG_GET(stop)) {
    size_t count;
    sprout_list(NULL, NULL, 0, &count);
  }
  return NULL;
}

/* Takes the TTY handles' lock over and over. */
static void *use_tty_forever(void *unused) {
  (void)unused;
  while (!FLAG_GET(stop)) sprout_tty_fd(tty);
  return NULL;
}

/* What each copy does: every kind of call, and now and then a spawn. Exits 0 if all is well. */
static void in_the_copy(int round) {
  size_t count = 99;
  if (sprout_list(NULL, NULL, 0, &count) != 0 || count != 0) _exit(2);
  if (sprout_tty_fd(tty) < 0) _exit(3); /* the copy keeps the handles */
  if (round % 50 == 0) {
    const char *argv[] = {probe_path(), "exit", "7", NULL};
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    a.argv = argv;
    int status = -1;
    if (sprout_exec(&a, NULL, 0, &status, NULL) != 0 || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 7)
      _exit(4);
  }
  _exit(0);
}

#define FORKS 1000

TEST(copies_forked_while_threads_hold_every_lock_never_hang) {
  need_root(); /* the spawning thread changes credentials */
  int master, slave;
  CHECK(sprout_openpty(&master, &slave, 24, 80) == 0, "sprout_openpty");
  const char *argv[] = {probe_path(), "pause", NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv;
  const int32_t fds[] = {slave, slave, slave};
  sprout_process held;
  sprout_error err;
  CHECK_OK(sprout_exec_async(&a, fds, 3, &held, &err), &err);
  tty = held.tty;
  CHECK(tty != NULL, "no TTY handle");

  pthread_t threads[3];
  void *(*bodies[3])(void *) = {list_forever, use_tty_forever, spawn_as_nobody_until};
  for (int i = 0; i < 3; i++)
    CHECK(pthread_create(&threads[i], NULL, bodies[i], &stop) == 0, "pthread_create");
  int hung_at = -1, failed_at = -1, failure = 0;
  for (int round = 0; round < FORKS && hung_at < 0 && failed_at < 0; round++) {
    pid_t copy = fork();
    CHECK(copy >= 0, "fork: %s", strerror(errno));
    if (copy == 0) in_the_copy(round);
    /* A copy takes a few ms, far longer in a sanitizer build on a loaded machine; a copy that
     * hangs on a lock hangs for ever, so the limit can be generous. */
    int status = -1;
    double deadline = now_seconds() + test_seconds(20);
    while (waitpid(copy, &status, WNOHANG) != copy && now_seconds() < deadline) usleep(1000);
    if (status == -1) {
      hung_at = round;
      kill(copy, SIGKILL);
      waitpid(copy, NULL, 0);
    } else if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
      failed_at = round;
      failure = status;
    }
  }
  FLAG_SET(stop, 1);
  for (int i = 0; i < 3; i++) pthread_join(threads[i], NULL);
  sprout_signal(held.pid, SIGKILL);
  sprout_wait(held.pid, -1, NULL, NULL);
  sprout_tty_release(tty);
  CHECK(hung_at < 0, "the copy of fork %d of %d hung", hung_at + 1, FORKS);
  CHECK(failed_at < 0, "the copy of fork %d ended with status %#x", failed_at + 1, failure);
}

/* A copy made by the raw system call, where the C library's fork handlers do not run (as
 * `_Fork`, or a runtime's own clone, would make it): it must see none of its parent's
 * processes and spawn on an area of its own, the parent's not being mapped there
 * (MADV_DONTFORK). What tells it apart is the pid the library keeps for itself, which the
 * kernel wipes in every copy. */
TEST(a_copy_made_without_the_c_librarys_fork_spawns_on_its_own) {
  spawn_and_check_answers("warm-up", 1); /* this thread's area, and the pid kept */
  const char *argv[] = {probe_path(), "pause", NULL};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv;
  sprout_process held;
  sprout_error err;
  CHECK_OK(sprout_exec_async(&a, NULL, 0, &held, &err), &err);
  /* clone with only the exit signal is fork, on every architecture. */
  pid_t copy = (pid_t)syscall(SYS_clone, SIGCHLD, 0, 0, 0, 0);
  CHECK(copy >= 0, "clone: %s", strerror(errno));
  if (copy == 0) {
    size_t count = 99;
    if (sprout_list(NULL, NULL, 0, &count) != 0 || count != 0) _exit(2);
    if (sprout_wait(held.pid, 0, NULL, NULL) != -ECHILD) _exit(3);
    const char *exit7[] = {probe_path(), "exit", "7", NULL};
    sprout_exec_args b;
    sprout_exec_args_init(&b);
    b.argv = exit7;
    for (int i = 0; i < 3; i++) {
      int status = -1;
      if (sprout_exec(&b, NULL, 0, &status, NULL) != 0 || !WIFEXITED(status) ||
          WEXITSTATUS(status) != 7)
        _exit(4);
    }
    _exit(0);
  }
  int status = -1;
  CHECK(waitpid(copy, &status, 0) == copy, "waitpid: %s", strerror(errno));
  CHECK(sprout_signal(held.pid, SIGKILL) == 0, "the parent lost its process");
  CHECK(sprout_wait(held.pid, -1, NULL, NULL) == 0, "sprout_wait");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "the copy failed: status %#x (exit 2: saw its parent's processes, 3: could wait for one, "
        "4: could not spawn; SIGSEGV: spawned on its parent's area)",
        status);
  spawn_and_check_answers("parent-after", 1);
}

/* Pid 1 of a PID namespace forks into a new one: its copy is pid 1 too. Both must spawn on
 * areas of their own. */
static void pid_1_and_its_pid_1_copy(void) {
  CHECK(getpid() == 1, "not pid 1 but %d", getpid());
  spawn_and_check_answers("warm-up", 1); /* this thread's area, made by pid 1 */
  int own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
  CHECK(own >= 0, "open /proc/self/ns/pid: %s", strerror(errno));
  CHECK(unshare(CLONE_NEWPID) == 0, "unshare(CLONE_NEWPID): %s", strerror(errno));
  pid_t copy = fork();
  CHECK(copy >= 0, "fork: %s", strerror(errno));
  if (copy == 0) {
    CHECK(getpid() == 1, "the copy is pid %d, not 1", getpid());
    spawn_and_check_answers("copy", 300);
    _exit(0);
  }
  /* Later children of this process back in its own namespace. */
  CHECK(setns(own, CLONE_NEWPID) == 0, "setns back: %s", strerror(errno));
  spawn_and_check_answers("original", 300);
  int status;
  CHECK(waitpid(copy, &status, 0) == copy, "waitpid");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the copy failed: status %#x", status);
}

TEST(pid_1_and_its_copy_with_the_same_pid_spawn_at_once) {
  need_root();
  CHECK(unshare(CLONE_NEWPID) == 0, "unshare(CLONE_NEWPID): %s", strerror(errno));
  pid_t first = fork();
  CHECK(first >= 0, "fork: %s", strerror(errno));
  if (first == 0) {
    pid_1_and_its_pid_1_copy();
    _exit(0);
  }
  int status;
  CHECK(waitpid(first, &status, 0) == first, "waitpid");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "pid 1 failed: status %#x", status);
}

int main(void) {
  RUN(copies_forked_while_threads_hold_every_lock_never_hang);
  RUN(a_copy_made_without_the_c_librarys_fork_spawns_on_its_own);
  RUN(pid_1_and_its_copy_with_the_same_pid_spawn_at_once);
  return summary();
}
