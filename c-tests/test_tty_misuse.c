/* Misused TTY handles: a released handle, NULL, and pointers the library never returned are
 * -EBADF for every sprout_tty_* function, and nothing crashes.
 *
 * Built with AddressSanitizer (see tests/c_abi.rs). The library itself is not instrumented,
 * but its malloc and free are ASan's: a handle freed twice stops the test with a report.
 * Reads through a bad pointer are caught by what the pointers are: a freed block (kept
 * poisoned in ASan's quarantine) and an unmapped page, which any read would fault on. */
#include <pthread.h>
#include <sys/mman.h>

#include "harness.h"

/* Every sprout_tty_* function refuses `tty` with -EBADF. */
static void check_not_a_handle(sprout_tty *tty, const char *what) {
  int32_t pgid = -7;
  int rc;
  CHECK((rc = sprout_tty_fd(tty)) == -EBADF, "%s: sprout_tty_fd returned %d", what, rc);
  CHECK((rc = sprout_tty_resize(tty, 10, 20)) == -EBADF, "%s: resize returned %d", what, rc);
  CHECK((rc = sprout_tty_foreground(tty, &pgid)) == -EBADF && pgid == -7,
        "%s: foreground returned %d", what, rc);
  CHECK((rc = sprout_tty_set_foreground(tty, getpgrp())) == -EBADF,
        "%s: set_foreground returned %d", what, rc);
  CHECK((rc = sprout_tty_signal_foreground(tty, SIGTERM)) == -EBADF,
        "%s: signal_foreground returned %d", what, rc);
  CHECK((rc = sprout_tty_release(tty)) == -EBADF, "%s: release returned %d", what, rc);
}

/* A process on a new pty, paused, with its handle. */
static sprout_process start_on_pty(int *master) {
  int slave;
  CHECK(sprout_openpty(master, &slave, 24, 80) == 0, "sprout_openpty");
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "pause", NULL};
  a.argv = argv;
  int32_t fds[3] = {slave, slave, slave};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(sprout_exec_async(&a, fds, 3, &proc, &err), &err);
  CHECK(proc.tty != NULL, "no TTY handle");
  close(slave);
  return proc;
}

static void end(sprout_process proc) {
  sprout_error err;
  CHECK(sprout_signal(proc.pid, SIGKILL) == 0, "sprout_signal");
  CHECK_OK(sprout_wait(proc.pid, 10000, NULL, &err), &err);
}

TEST(a_released_handle_is_ebadf_everywhere_and_its_fd_is_closed) {
  int master;
  sprout_process proc = start_on_pty(&master);
  int fd = sprout_tty_fd(proc.tty);
  CHECK(fd >= 0, "sprout_tty_fd: %d", fd);
  CHECK(sprout_tty_release(proc.tty) == 0, "the first release failed");
  CHECK(fcntl(fd, F_GETFD) < 0 && errno == EBADF, "the handle's fd %d is still open", fd);
  check_not_a_handle(proc.tty, "a released handle");
  /* A new handle never takes the old one's place. */
  sprout_process other = start_on_pty(&master);
  CHECK(other.tty != proc.tty, "a new handle reuses a released one's value");
  check_not_a_handle(proc.tty, "a released handle, with another live");
  CHECK(sprout_tty_fd(other.tty) >= 0, "the live handle stopped working");
  CHECK(sprout_tty_release(other.tty) == 0, "release");
  end(proc);
  end(other);
}

TEST(pointers_the_library_never_returned_are_ebadf) {
  check_not_a_handle(NULL, "NULL");
  void *block = malloc(64);
  CHECK(block != NULL, "malloc");
  uintptr_t freed = (uintptr_t)block; /* only the value is used after the free */
  free(block);
  check_not_a_handle((sprout_tty *)freed, "a freed malloc block");
  long page_size = sysconf(_SC_PAGESIZE);
  void *page = mmap(NULL, (size_t)page_size, PROT_READ, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(page != MAP_FAILED, "mmap: %s", strerror(errno));
  CHECK(munmap(page, (size_t)page_size) == 0, "munmap");
  check_not_a_handle((sprout_tty *)page, "an unmapped page");
  int local = 0;
  check_not_a_handle((sprout_tty *)&local, "a stack address");
  check_not_a_handle((sprout_tty *)((char *)&local + 1), "a misaligned address");
}

struct hammer {
  sprout_tty *tty;
  int bad;
};

static void *use_handle(void *arg) {
  struct hammer *h = arg;
  for (int i = 0; i < 2000; i++) {
    int32_t pgid;
    int rc = sprout_tty_foreground(h->tty, &pgid);
    int rc2 = sprout_tty_resize(h->tty, (uint16_t)(24 + i % 10), 80);
    if ((rc != 0 && rc != -EBADF) || (rc2 != 0 && rc2 != -EBADF)) h->bad++;
  }
  return NULL;
}

TEST(a_handle_released_while_other_threads_use_it) {
  int master;
  sprout_process proc = start_on_pty(&master);
  struct hammer h[2] = {{proc.tty, 0}, {proc.tty, 0}};
  pthread_t threads[2];
  for (int i = 0; i < 2; i++)
    CHECK(pthread_create(&threads[i], NULL, use_handle, &h[i]) == 0, "pthread_create");
  CHECK(sprout_tty_release(proc.tty) == 0, "release");
  for (int i = 0; i < 2; i++) pthread_join(threads[i], NULL);
  CHECK(h[0].bad + h[1].bad == 0, "%d calls returned neither 0 nor -EBADF", h[0].bad + h[1].bad);
  check_not_a_handle(proc.tty, "a handle released under use");
  end(proc);
}

int main(void) {
  RUN(a_released_handle_is_ebadf_everywhere_and_its_fd_is_closed);
  RUN(pointers_the_library_never_returned_are_ebadf);
  RUN(a_handle_released_while_other_threads_use_it);
  return summary();
}
