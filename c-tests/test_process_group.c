/*
 * ABI 1.1's process group (SPROUT_EXEC2_SETPGROUP + pgid), seen in /proc/PID/stat (pgrp,
 * session, tpgid): a new group, joining a group of the caller's session, with the caller's own
 * terminal (the joined group becomes the foreground group), and what is refused (another
 * session's group at stage TTY; a new session, a PID namespace, a negative pgid at ARGS).
 */
#include <sched.h>

#include "core_util.h"

typedef struct {
  int pgrp, session, tpgid;
} stat_ids;

/* Fields 5, 6 and 8 of /proc/PID/stat, counted after the command name's last ')'. */
static stat_ids ids_of(int pid) {
  char *text = proc_file(pid, "stat");
  CHECK(text != NULL, "no /proc/%d/stat", pid);
  const char *after = strrchr(text, ')');
  CHECK(after != NULL, "stat: %s", text);
  stat_ids ids;
  int tty_nr;
  char state;
  int ppid;
  CHECK(sscanf(after + 1, " %c %d %d %d %d %d", &state, &ppid, &ids.pgrp, &ids.session, &tty_nr,
               &ids.tpgid) == 6,
        "stat: %s", text);
  free(text);
  return ids;
}

static sprout_exec_args group_args(uint64_t flags2, int32_t pgid) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = flags2;
  a.pgid = pgid;
  return a;
}

static probe waiting(sprout_exec_args *a) {
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(a, (const char *const[]){"wait", NULL}, &p, &err), &err);
  return p;
}

TEST(without_the_flag_the_process_stays_in_the_callers_group) {
  sprout_exec_args a = group_args(0, 0);
  probe p = waiting(&a);
  stat_ids ids = ids_of(p.pid);
  CHECK(ids.pgrp == getpgrp() && ids.session == getsid(0), "pgrp %d session %d", ids.pgrp, ids.session);
  finish_probe(&p);
}

TEST(pgid_0_makes_a_new_group_led_by_the_process_in_the_callers_session) {
  sprout_exec_args a = group_args(SPROUT_EXEC2_SETPGROUP, 0);
  probe p = waiting(&a);
  stat_ids ids = ids_of(p.pid);
  CHECK(ids.pgrp == p.pid, "pgrp %d, the process is %d", ids.pgrp, p.pid);
  CHECK(ids.session == getsid(0), "session %d, the caller's %d", ids.session, getsid(0));
  CHECK(getpgrp() != p.pid, "the caller moved");
  finish_probe(&p);
}

TEST(a_pgid_joins_that_group_as_a_pipelines_second_process) {
  sprout_exec_args a = group_args(SPROUT_EXEC2_SETPGROUP, 0);
  probe first = waiting(&a);
  a = group_args(SPROUT_EXEC2_SETPGROUP, first.pid);
  probe second = waiting(&a);
  stat_ids ids = ids_of(second.pid);
  CHECK(ids.pgrp == first.pid, "pgrp %d, not the first process's %d", ids.pgrp, first.pid);
  CHECK(ids.session == getsid(0), "session %d", ids.session);
  /* The group gets signals as one, as a shell's job does. */
  CHECK(kill(-first.pid, SIGTERM) == 0, "kill the group");
  int status = -1;
  sprout_error err;
  CHECK_OK(sprout_wait(second.pid, 10000, &status, &err), &err);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "second: status %#x", status);
  CHECK_OK(sprout_wait(first.pid, 10000, &status, &err), &err);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "first: status %#x", status);
  close(first.to_stdin);
  close(second.to_stdin);
}

TEST(a_group_of_another_session_is_eperm_at_tty_naming_the_pgid) {
  /* A process leading its own session, so its group is another session's. */
  sprout_exec_args a = group_args(0, 0);
  a.flags = SPROUT_EXEC_NEW_SESSION;
  probe other = waiting(&a);
  CHECK(ids_of(other.pid).session == other.pid, "not a session leader");
  a = group_args(SPROUT_EXEC2_SETPGROUP, other.pid);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  sprout_process proc;
  sprout_error err;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EPERM, SPROUT_STAGE_TTY);
  char want[96];
  snprintf(want, sizeof want, "tty: pgid %d: setpgid(0, %d) (no process group of the caller's session", other.pid, other.pid);
  CHECK_MESSAGE_HAS(&err, want);
  CHECK(waitpid(-1, NULL, WNOHANG) == 0, "the failed child is left, or the other probe is gone");
  finish_probe(&other);
}

TEST(joining_with_a_new_session_or_a_pid_namespace_is_einval_and_new_is_fine) {
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  sprout_process proc;
  sprout_error err;
  sprout_exec_args a = group_args(SPROUT_EXEC2_SETPGROUP, getpgrp());
  a.argv = argv;
  a.flags = SPROUT_EXEC_NEW_SESSION;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "with a new session");
  sprout_namespace ns = {CLONE_NEWPID, -1};
  a.flags = 0;
  a.namespaces = &ns;
  a.namespaces_len = 1;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "with a PID namespace (namespaces[0])");
  a.namespaces_len = 0;
  a.pgid = -4;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "pgid -4");

  /* A new group with a new session is what setsid gives: fine. */
  a = group_args(SPROUT_EXEC2_SETPGROUP, 0);
  a.flags = SPROUT_EXEC_NEW_SESSION;
  probe p = waiting(&a);
  stat_ids ids = ids_of(p.pid);
  CHECK(ids.pgrp == p.pid && ids.session == p.pid, "pgrp %d session %d", ids.pgrp, ids.session);
  finish_probe(&p);
}

/* The caller's own controlling terminal (terminal case 2): the first process leads a new
 * foreground group; the second joins it, and that group stays the foreground group. */
TEST(with_the_callers_terminal_the_joined_group_is_the_foreground_group) {
  CHECK(getsid(0) == getpid() || setsid() == getpid(), "setsid: %s", strerror(errno));
  int32_t master, slave;
  CHECK(sprout_openpty(&master, &slave, 24, 80) == 0, "sprout_openpty");
  CHECK(ioctl(slave, TIOCSCTTY, 0) == 0, "TIOCSCTTY: %s", strerror(errno));
  signal(SIGTTOU, SIG_IGN);
  int32_t fds[] = {slave, slave, slave};
  const char *argv[] = {probe_path(), "pause", NULL};
  sprout_process first, second;
  sprout_error err;
  sprout_exec_args a = group_args(0, 0);
  a.argv = argv;
  CHECK_OK(sprout_exec_async(&a, fds, 3, &first, &err), &err);
  CHECK(tcgetpgrp(slave) == first.pid, "foreground %d, first %d", tcgetpgrp(slave), first.pid);
  /* The caller takes its terminal back; the second process puts the joined group in front. */
  CHECK(tcsetpgrp(slave, getpgrp()) == 0, "tcsetpgrp: %s", strerror(errno));
  a = group_args(SPROUT_EXEC2_SETPGROUP, first.pid);
  a.argv = argv;
  CHECK_OK(sprout_exec_async(&a, fds, 3, &second, &err), &err);
  stat_ids ids = ids_of(second.pid);
  CHECK(ids.pgrp == first.pid && ids.session == getsid(0), "pgrp %d session %d", ids.pgrp, ids.session);
  CHECK(ids.tpgid == first.pid && tcgetpgrp(slave) == first.pid, "foreground group %d", ids.tpgid);
  CHECK(kill(-first.pid, SIGKILL) == 0, "kill");
  int status;
  CHECK_OK(sprout_wait(first.pid, 10000, &status, &err), &err);
  CHECK_OK(sprout_wait(second.pid, 10000, &status, &err), &err);
  sprout_tty_release(first.tty);
  sprout_tty_release(second.tty);
}

int main(void) {
  RUN(without_the_flag_the_process_stays_in_the_callers_group);
  RUN(pgid_0_makes_a_new_group_led_by_the_process_in_the_callers_session);
  RUN(a_pgid_joins_that_group_as_a_pipelines_second_process);
  RUN(a_group_of_another_session_is_eperm_at_tty_naming_the_pgid);
  RUN(joining_with_a_new_session_or_a_pid_namespace_is_einval_and_new_is_fine);
  RUN(with_the_callers_terminal_the_joined_group_is_the_foreground_group);
  return summary();
}
