/* Terminals through the C ABI, with real pseudo-terminals: the three cases (a fresh pty, the
 * caller's own controlling terminal, another session's), the TTY handle, NO_TTY and
 * NEW_SESSION. Everything is checked as the kernel shows it: /proc/PID/stat (pgrp, session,
 * tty_nr, tpgid), tcgetpgrp and TIOCGSID, file ownership, and what comes out of the master. */
#include <poll.h>
#include <grp.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <termios.h>

#include "harness.h"

/* The fields of /proc/PID/stat about sessions and terminals. */
typedef struct proc_stat {
  int pgrp, session, tty_nr, tpgid;
} proc_stat;

static proc_stat stat_of(int pid) {
  char *text = proc_file(pid, "stat");
  CHECK(text != NULL, "/proc/%d/stat: %s", pid, strerror(errno));
  const char *after_name = strrchr(text, ')');
  CHECK(after_name != NULL, "/proc/%d/stat: %s", pid, text);
  proc_stat st;
  char state;
  int ppid;
  CHECK(sscanf(after_name + 2, "%c %d %d %d %d %d", &state, &ppid, &st.pgrp, &st.session,
               &st.tty_nr, &st.tpgid) == 6,
        "/proc/%d/stat: %s", pid, text);
  free(text);
  return st;
}

/* The device number of the terminal open on fd, encoded as /proc/PID/stat's tty_nr. */
static int tty_nr_of(int fd) {
  struct stat st;
  CHECK(fstat(fd, &st) == 0, "fstat: %s", strerror(errno));
  unsigned int maj = major(st.st_rdev), min = minor(st.st_rdev);
  return (int)((min & 0xffu) | (maj << 8) | ((min & ~0xffu) << 12));
}

static void open_pty(int *master, int *slave) {
  int rc = sprout_openpty(master, slave, 24, 80);
  CHECK(rc == 0, "sprout_openpty: %s", strerror(-rc));
}

/* Reads the master until `needle` shows up; returns all that was read (a static buffer).
 * Fails after 10 s without it. */
static const char *read_until(int master, const char *needle) {
  static char buf[1 << 17];
  size_t len = 0;
  buf[0] = 0;
  while (!strstr(buf, needle)) {
    struct pollfd p = {.fd = master, .events = POLLIN};
    int ready = poll(&p, 1, 10000);
    CHECK(ready == 1, "no \"%s\" from the terminal within 10 s; got:\n%s", needle, buf);
    CHECK(len + 1 < sizeof buf, "too much output without \"%s\"", needle);
    ssize_t n = read(master, buf + len, sizeof buf - len - 1);
    CHECK(n > 0, "reading the master: %s; got:\n%s", n < 0 ? strerror(errno) : "EOF", buf);
    len += (size_t)n;
    buf[len] = 0;
  }
  return buf;
}

static void write_all(int fd, const char *text) {
  size_t len = strlen(text);
  CHECK(write(fd, text, len) == (ssize_t)len, "write: %s", strerror(errno));
}

/* Spawns argv with the terminal `term` as fds 0, 1 and 2. */
static int spawn_on(sprout_exec_args *a, const char *const *argv, int term, sprout_process *proc,
                    sprout_error *err) {
  int32_t fds[3] = {term, term, term};
  a->argv = argv;
  return sprout_exec_async(a, fds, 3, proc, err);
}

/* Kills a process started by the test and reaps it through sprout. */
static void kill_and_wait(int pid) {
  sprout_error err;
  CHECK(sprout_signal(pid, SIGKILL) == 0, "sprout_signal(%d)", pid);
  CHECK_OK(sprout_wait(pid, 10000, NULL, &err), &err);
}

/* Runs argv with fds {in, a pipe, /dev/null}, waits for it and returns its stdout. */
static char *run_with_stdin(sprout_exec_args *a, const char *const *argv, int in) {
  int out[2];
  CHECK(pipe2(out, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
  int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
  int32_t fds[3] = {in, out[1], null};
  sprout_process proc;
  sprout_error err;
  a->argv = argv;
  CHECK_OK(sprout_exec_async(a, fds, 3, &proc, &err), &err);
  close(out[1]);
  close(null);
  char *text = read_all(out[0]);
  close(out[0]);
  int status;
  CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x:\n%s", status, text);
  CHECK(proc.tty == NULL, "a TTY handle although the process took no terminal");
  return text;
}

/* Makes this test process the leader of a session (the harness starts each test in one)
 * whose controlling terminal is a new pty, in its foreground, with SIGTTOU at its default (a
 * background tcsetpgrp would fail). */
static void own_session_with_pty(int *master, int *slave) {
  CHECK(getsid(0) == getpid() || setsid() == getpid(), "setsid: %s", strerror(errno));
  open_pty(master, slave);
  CHECK(ioctl(*slave, TIOCSCTTY, 0) == 0, "TIOCSCTTY: %s", strerror(errno));
  CHECK(tcgetpgrp(*slave) == getpgrp(), "not in the foreground of the new terminal");
  signal(SIGTTOU, SIG_DFL);
  sigset_t ttou;
  sigemptyset(&ttou);
  sigaddset(&ttou, SIGTTOU);
  sigprocmask(SIG_UNBLOCK, &ttou, NULL);
}

/* Case 1 */

TEST(a_fresh_pty_makes_the_child_a_session_leader_with_it_as_controlling_terminal) {
  int m, s;
  open_pty(&m, &s);
  int tty_nr = tty_nr_of(s);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "tty", "say", "ready", "pause", NULL};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(spawn_on(&a, argv, s, &proc, &err), &err);
  CHECK(proc.tty != NULL, "no TTY handle for a terminal on stdio");
  close(s); /* the handle has its own duplicate */

  const char *out = read_until(m, "ready");
  CHECK(strstr(out, "devtty=ok"), "open(\"/dev/tty\") failed in the child:\n%s", out);
  proc_stat st = stat_of(proc.pid);
  CHECK(st.session == proc.pid, "session %d, not the child's own (%d)", st.session, proc.pid);
  CHECK(st.pgrp == proc.pid, "process group %d, not the child's own", st.pgrp);
  CHECK(st.tty_nr == tty_nr, "controlling terminal %#x, not the pty (%#x)", st.tty_nr, tty_nr);
  CHECK(st.tpgid == proc.pid, "foreground group %d, not the child's", st.tpgid);
  pid_t sid = 0;
  CHECK(ioctl(m, TIOCGSID, &sid) == 0 && sid == proc.pid, "the master says session %d", sid);

  int fd = sprout_tty_fd(proc.tty);
  CHECK(fd >= 0 && fcntl(fd, F_GETFD) == FD_CLOEXEC, "sprout_tty_fd: %d", fd);
  CHECK(tty_nr_of(fd) == tty_nr, "the handle's fd is another terminal");
  /* From outside the session tcgetpgrp fails; the handle must still answer. */
  CHECK(tcgetpgrp(fd) < 0 && errno == ENOTTY, "tcgetpgrp worked from outside the session");
  int32_t pgid = 0;
  int rc = sprout_tty_foreground(proc.tty, &pgid);
  CHECK(rc == 0 && pgid == proc.pid, "sprout_tty_foreground: %d, pgid %d", rc, pgid);
  rc = sprout_tty_set_foreground(proc.tty, getpgrp());
  CHECK(rc == -EPERM, "sprout_tty_set_foreground outside the session returned %d", rc);
  CHECK(stat_of(proc.pid).tpgid == proc.pid, "the foreground group changed");

  kill_and_wait(proc.pid);
  CHECK(sprout_tty_release(proc.tty) == 0, "sprout_tty_release");
}

TEST(a_resize_reaches_a_running_shell_as_sigwinch) {
  int m, s;
  open_pty(&m, &s);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *envv[] = {"PATH=/usr/bin:/bin", NULL};
  a.envv = envv;
  /* The trap runs once the current sleep is over; exiting then leaves no orphan sleep. */
  const char *argv[] = {
      "/bin/sh", "-c", "trap 'stty size; exit 0' WINCH; echo ready; while :; do sleep 0.05; done",
      NULL};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(spawn_on(&a, argv, s, &proc, &err), &err);
  close(s);
  read_until(m, "ready");
  CHECK(sprout_tty_resize(proc.tty, 33, 77) == 0, "sprout_tty_resize");
  read_until(m, "33 77");
  struct winsize size;
  CHECK(ioctl(m, TIOCGWINSZ, &size) == 0 && size.ws_row == 33 && size.ws_col == 77,
        "the terminal is %ux%u", size.ws_row, size.ws_col);
  int status;
  CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
  CHECK(sprout_tty_release(proc.tty) == 0, "sprout_tty_release");
}

TEST(signalling_the_foreground_group_ends_the_child) {
  int m, s;
  open_pty(&m, &s);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "say", "ready", "pause", NULL};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(spawn_on(&a, argv, s, &proc, &err), &err);
  close(s);
  read_until(m, "ready");
  CHECK(sprout_tty_signal_foreground(proc.tty, SIGTERM) == 0, "sprout_tty_signal_foreground");
  int status;
  CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x", status);
  /* The session is over: no group is known, and nothing (this test least of all) is hit. */
  int rc = sprout_tty_signal_foreground(proc.tty, SIGTERM);
  CHECK(rc == -ESRCH, "sprout_tty_signal_foreground after the end returned %d", rc);
  int32_t pgid = 0;
  rc = sprout_tty_foreground(proc.tty, &pgid);
  CHECK(rc == -ESRCH, "sprout_tty_foreground after the end returned %d (pgid %d)", rc, pgid);
  CHECK(sprout_tty_release(proc.tty) == 0, "sprout_tty_release");
}

TEST(an_interactive_shell_is_driven_through_the_master) {
  int m, s;
  open_pty(&m, &s);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *envv[] = {"PATH=/usr/bin:/bin", "PS1=sprout$ ", NULL};
  a.envv = envv;
  const char *argv[] = {"/bin/sh", "-i", NULL};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(spawn_on(&a, argv, s, &proc, &err), &err);
  close(s);
  const char *out = read_until(m, "sprout$ ");
  /* An interactive shell turns job control on only with a controlling terminal it can
   * put its jobs in the foreground of. */
  CHECK(!strstr(out, "job control"), "the shell found no usable terminal:\n%s", out);
  write_all(m, "echo hello-$((6*7))\n");
  read_until(m, "hello-42");
  write_all(m, "exit 3\n");
  int status;
  CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 3, "status %#x", status);
  CHECK(sprout_tty_release(proc.tty) == 0, "sprout_tty_release");
}

TEST(the_whole_output_of_a_program_that_exits_at_once_stays_readable) {
  int m, s;
  open_pty(&m, &s);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "spew", "500", NULL};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(spawn_on(&a, argv, s, &proc, &err), &err);
  close(s);
  /* Nothing is read until the program is gone (runc#1302 lost output this way). */
  int status;
  CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
  const char *out = read_until(m, "spew 00499\r\n");
  CHECK(count_lines(out, "spew ") == 500, "%d lines of 500 arrived", count_lines(out, "spew "));
  CHECK(strstr(out, "spew 00000\r\nspew 00001\r\n"), "the first lines are missing");
  /* The handle still holds the terminal open: the master sees no hangup... */
  struct pollfd p = {.fd = m, .events = POLLIN};
  CHECK(poll(&p, 1, 0) == 0, "the master reports %#x with the handle alive", p.revents);
  /* ...until the handle is released. */
  CHECK(sprout_tty_release(proc.tty) == 0, "sprout_tty_release");
  CHECK(poll(&p, 1, 10000) == 1 && (p.revents & POLLHUP), "no hangup after release: %#x",
        p.revents);
}

TEST(a_credentials_change_hands_the_terminal_to_the_new_uid) {
  need_root();
  int m, s;
  open_pty(&m, &s);
  struct stat before;
  CHECK(fstat(s, &before) == 0, "fstat: %s", strerror(errno));
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_credentials nobody = {.uid = 65534, .gid = 65534};
  a.credentials = &nobody;
  const char *argv[] = {probe_path(), "reopen", "say", "ready", "pause", NULL};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(spawn_on(&a, argv, s, &proc, &err), &err);
  const char *out = read_until(m, "ready");
  CHECK(strstr(out, "reopen=ok"), "uid 65534 cannot reopen its terminal:\n%s", out);
  struct stat after;
  CHECK(fstat(s, &after) == 0, "fstat: %s", strerror(errno));
  CHECK(after.st_uid == 65534, "the terminal belongs to uid %u", (unsigned)after.st_uid);
  CHECK(after.st_gid == before.st_gid, "the terminal's group changed from %u to %u",
        (unsigned)before.st_gid, (unsigned)after.st_gid);
  kill_and_wait(proc.pid);
  CHECK(sprout_tty_release(proc.tty) == 0, "sprout_tty_release");
}

/* Case 2 */

TEST(the_callers_own_terminal_gets_a_new_foreground_group_in_the_callers_session) {
  int m, s;
  own_session_with_pty(&m, &s);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "tty", "say", "ready", "pause", NULL};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(spawn_on(&a, argv, s, &proc, &err), &err);
  CHECK(proc.tty != NULL, "no TTY handle for the caller's terminal");
  const char *out = read_until(m, "ready");
  CHECK(strstr(out, "devtty=ok"), "open(\"/dev/tty\") failed in the child:\n%s", out);

  proc_stat st = stat_of(proc.pid);
  CHECK(st.session == getsid(0), "session %d, not the caller's (%d)", st.session, getsid(0));
  CHECK(st.pgrp == proc.pid && st.pgrp != getpgrp(), "process group %d (the child is %d)",
        st.pgrp, proc.pid);
  CHECK(st.tty_nr == tty_nr_of(s), "controlling terminal %#x", st.tty_nr);
  CHECK(st.tpgid == proc.pid && tcgetpgrp(s) == proc.pid, "foreground group %d", st.tpgid);
  int32_t pgid = 0;
  int rc = sprout_tty_foreground(proc.tty, &pgid);
  CHECK(rc == 0 && pgid == proc.pid, "sprout_tty_foreground: %d, pgid %d", rc, pgid);

  kill_and_wait(proc.pid);
  /* This process is now in a background group of its own terminal, and takes it back. */
  CHECK(tcgetpgrp(s) != getpgrp(), "the caller is in the foreground already");
  rc = sprout_tty_set_foreground(proc.tty, getpgrp());
  CHECK(rc == 0, "sprout_tty_set_foreground from the background: %s", strerror(-rc));
  CHECK(tcgetpgrp(s) == getpgrp(), "the terminal's foreground group is %d", tcgetpgrp(s));
  CHECK(sprout_tty_release(proc.tty) == 0, "sprout_tty_release");
}

TEST(sprout_exec_gives_the_callers_terminal_back_when_the_process_ends) {
  int m, s;
  own_session_with_pty(&m, &s);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  int32_t fds[3] = {s, s, s};
  int status;
  sprout_error err;
  CHECK_OK(sprout_exec(&a, fds, 3, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
  CHECK(tcgetpgrp(s) == getpgrp(), "the terminal's foreground group is %d", tcgetpgrp(s));
}

TEST(a_failed_spawn_leaves_the_callers_terminal_in_the_callers_foreground) {
  int m, s;
  own_session_with_pty(&m, &s);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {"/nonexistent/sprout-test-program", NULL};
  sprout_process proc;
  sprout_error err;
  int rc = spawn_on(&a, argv, s, &proc, &err);
  CHECK(rc == -ENOENT && err.stage == SPROUT_STAGE_EXEC, "%d: %s", rc, err.message);
  CHECK(tcgetpgrp(s) == getpgrp(), "the dead child's group %d kept the terminal", tcgetpgrp(s));
}

/* Case 3 */

TEST(another_sessions_terminal_is_refused_and_stays_with_that_session) {
  int m, s;
  open_pty(&m, &s);
  int ready[2];
  CHECK(pipe2(ready, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
  pid_t holder = fork();
  CHECK(holder >= 0, "fork: %s", strerror(errno));
  if (holder == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL); /* gone with the test, even when a CHECK fails */
    char ok = setsid() > 0 && ioctl(s, TIOCSCTTY, 0) == 0 ? 'y' : 'n';
    if (write(ready[1], &ok, 1) != 1) _exit(1);
    pause();
    _exit(0);
  }
  char ok = 0;
  CHECK(read(ready[0], &ok, 1) == 1 && ok == 'y', "the holder could not take the terminal");

  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  sprout_process proc;
  sprout_error err;
  int rc = spawn_on(&a, argv, s, &proc, &err);
  CHECK(rc == -EPERM && err.code == EPERM && err.stage == SPROUT_STAGE_TTY, "%d: %s", rc,
        err.message);
  CHECK(strstr(err.message, "fds[0]"), "the message does not name the fd: %s", err.message);
  /* Through the master the caller sees the other session, and refuses before any process. */
  rc = spawn_on(&a, argv, m, &proc, &err);
  CHECK(rc == -EPERM && err.stage == SPROUT_STAGE_TTY, "%d: %s", rc, err.message);

  proc_stat st = stat_of(holder);
  CHECK(st.session == holder && st.tty_nr == tty_nr_of(s), "the holder lost its terminal");
  CHECK(st.tpgid == holder, "the holder's terminal has foreground group %d", st.tpgid);
  pid_t sid = 0;
  CHECK(ioctl(m, TIOCGSID, &sid) == 0 && sid == holder, "the terminal's session is %d", sid);
  kill(holder, SIGKILL);
  waitpid(holder, NULL, 0);
}

/* Without a terminal, NO_TTY, NEW_SESSION */

TEST(pipes_get_no_handle_and_the_callers_session_and_group) {
  int in[2];
  CHECK(pipe2(in, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "wait", NULL};
  a.argv = argv;
  int32_t fds[3] = {in[0], null, null};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(sprout_exec_async(&a, fds, 3, &proc, &err), &err);
  CHECK(proc.tty == NULL, "a TTY handle for pipes");
  proc_stat st = stat_of(proc.pid);
  CHECK(st.session == getsid(0) && st.pgrp == getpgrp(), "session %d, group %d", st.session,
        st.pgrp);
  close(in[1]);
  CHECK_OK(sprout_wait(proc.pid, 10000, NULL, &err), &err);

  /* The same spawn with a pty on stdin gets one. */
  int m, s;
  open_pty(&m, &s);
  fds[0] = s;
  const char *pause_argv[] = {probe_path(), "pause", NULL};
  a.argv = pause_argv;
  CHECK_OK(sprout_exec_async(&a, fds, 3, &proc, &err), &err);
  CHECK(proc.tty != NULL, "no TTY handle for a pty on stdin");
  kill_and_wait(proc.pid);
  CHECK(sprout_tty_release(proc.tty) == 0, "sprout_tty_release");
}

TEST(no_tty_keeps_the_child_in_the_callers_session_and_group) {
  int m, s;
  open_pty(&m, &s);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_NO_TTY;
  const char *argv[] = {probe_path(), "say", "ready", "pause", NULL};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(spawn_on(&a, argv, s, &proc, &err), &err);
  CHECK(proc.tty == NULL, "a TTY handle with SPROUT_EXEC_NO_TTY");
  read_until(m, "ready");
  proc_stat st = stat_of(proc.pid), mine = stat_of(getpid());
  CHECK(st.session == mine.session && st.pgrp == mine.pgrp, "session %d, group %d", st.session,
        st.pgrp);
  CHECK(st.tty_nr == mine.tty_nr, "controlling terminal %#x, the caller's is %#x", st.tty_nr,
        mine.tty_nr);
  kill_and_wait(proc.pid);
}

TEST(new_session_leads_a_session_without_a_terminal) {
  int m, s;
  open_pty(&m, &s);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_NEW_SESSION;
  const char *argv[] = {probe_path(), "tty", "say", "ready", "pause", NULL};
  sprout_process proc;
  sprout_error err;
  CHECK_OK(spawn_on(&a, argv, s, &proc, &err), &err);
  CHECK(proc.tty == NULL, "a TTY handle with SPROUT_EXEC_NEW_SESSION");
  const char *out = read_until(m, "ready");
  CHECK(!strstr(out, "devtty=ok"), "the child has a controlling terminal:\n%s", out);
  proc_stat st = stat_of(proc.pid);
  CHECK(st.session == proc.pid && st.pgrp == proc.pid, "session %d, group %d", st.session,
        st.pgrp);
  CHECK(st.tty_nr == 0, "controlling terminal %#x", st.tty_nr);
  kill_and_wait(proc.pid);
}

/* TIOCSTI needs CAP_SYS_ADMIN outside the terminal's session, so root would get through a new
 * session anyway: the program runs as a non-root uid. This test process drops to it itself,
 * so no credentials support is needed. */
TEST(new_session_keeps_a_non_root_program_from_pushing_input_into_the_callers_terminal) {
  char *legacy = read_file("/proc/sys/dev/tty/legacy_tiocsti");
  if (legacy && legacy[0] == '0')
    SKIP("dev.tty.legacy_tiocsti is 0: the kernel refuses TIOCSTI to every unprivileged "
         "process, so what a new session adds cannot be seen");
  int m, s;
  own_session_with_pty(&m, &s);
  struct termios raw;
  CHECK(tcgetattr(s, &raw) == 0, "tcgetattr: %s", strerror(errno));
  cfmakeraw(&raw); /* so that FIONREAD counts every pushed character */
  CHECK(tcsetattr(s, TCSANOW, &raw) == 0, "tcsetattr: %s", strerror(errno));
  if (geteuid() == 0) {
    CHECK(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
              setresuid(65534, 65534, 65534) == 0,
          "dropping to uid 65534: %s", strerror(errno));
  }
  if (access(probe_path(), X_OK) != 0) SKIP("uid %u cannot run %s", geteuid(), probe_path());

  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "tiocsti", "x", NULL};
  int queued = -1;
  /* In the caller's session the kernel lets it push into its controlling terminal... */
  a.flags = SPROUT_EXEC_NO_TTY;
  char *out = run_with_stdin(&a, argv, s);
  CHECK(strstr(out, "tiocsti=ok"), "TIOCSTI failed in the caller's session:\n%s", out);
  CHECK(ioctl(s, FIONREAD, &queued) == 0 && queued == 1, "%d characters queued", queued);
  tcflush(s, TCIFLUSH);
  /* ...and in a session of its own it cannot. */
  a.flags = SPROUT_EXEC_NEW_SESSION;
  out = run_with_stdin(&a, argv, s);
  CHECK(strstr(out, "tiocsti=Operation not permitted"), "TIOCSTI from a new session:\n%s", out);
  CHECK(ioctl(s, FIONREAD, &queued) == 0 && queued == 0, "%d characters queued", queued);
}

/* Refusals */

TEST(two_different_terminals_on_stdio_are_refused) {
  int m1, s1, m2, s2;
  open_pty(&m1, &s1);
  open_pty(&m2, &s2);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  int32_t fds[3] = {s1, s2, s1};
  sprout_process proc;
  sprout_error err;
  int rc = sprout_exec_async(&a, fds, 3, &proc, &err);
  CHECK(rc == -EINVAL && err.stage == SPROUT_STAGE_ARGS, "%d: %s", rc, err.message);
  CHECK(strstr(err.message, "fds[0]") && strstr(err.message, "fds[1]"), "%s", err.message);
  /* The same terminal twice, once through a duplicate, is one terminal. */
  fds[1] = dup(s1);
  sprout_process ok;
  const char *exit_argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = exit_argv;
  CHECK_OK(sprout_exec_async(&a, fds, 3, &ok, &err), &err);
  CHECK_OK(sprout_wait(ok.pid, 10000, NULL, &err), &err);
  CHECK(sprout_tty_release(ok.tty) == 0, "sprout_tty_release");
}

TEST(openpty_gives_a_close_on_exec_pair_of_the_size_asked) {
  int m, s;
  int rc = sprout_openpty(&m, &s, 40, 132);
  CHECK(rc == 0, "sprout_openpty: %s", strerror(-rc));
  CHECK(fcntl(m, F_GETFD) == FD_CLOEXEC && fcntl(s, F_GETFD) == FD_CLOEXEC, "not close-on-exec");
  CHECK(isatty(s) && isatty(m), "not terminals");
  struct winsize size;
  CHECK(ioctl(s, TIOCGWINSZ, &size) == 0 && size.ws_row == 40 && size.ws_col == 132,
        "the terminal is %ux%u", size.ws_row, size.ws_col);
  write_all(m, "ping\n");
  char buf[16] = {0};
  CHECK(read(s, buf, sizeof buf - 1) == 5 && !strcmp(buf, "ping\n"), "the slave read %s", buf);
  CHECK(sprout_openpty(NULL, &s, 1, 1) == -EINVAL, "NULL master accepted");
}

int main(void) {
  RUN(a_fresh_pty_makes_the_child_a_session_leader_with_it_as_controlling_terminal);
  RUN(a_resize_reaches_a_running_shell_as_sigwinch);
  RUN(signalling_the_foreground_group_ends_the_child);
  RUN(an_interactive_shell_is_driven_through_the_master);
  RUN(the_whole_output_of_a_program_that_exits_at_once_stays_readable);
  RUN(a_credentials_change_hands_the_terminal_to_the_new_uid);
  RUN(the_callers_own_terminal_gets_a_new_foreground_group_in_the_callers_session);
  RUN(sprout_exec_gives_the_callers_terminal_back_when_the_process_ends);
  RUN(a_failed_spawn_leaves_the_callers_terminal_in_the_callers_foreground);
  RUN(another_sessions_terminal_is_refused_and_stays_with_that_session);
  RUN(pipes_get_no_handle_and_the_callers_session_and_group);
  RUN(no_tty_keeps_the_child_in_the_callers_session_and_group);
  RUN(new_session_leads_a_session_without_a_terminal);
  RUN(new_session_keeps_a_non_root_program_from_pushing_input_into_the_callers_terminal);
  RUN(two_different_terminals_on_stdio_are_refused);
  RUN(openpty_gives_a_close_on_exec_pair_of_the_size_asked);
  return summary();
}
