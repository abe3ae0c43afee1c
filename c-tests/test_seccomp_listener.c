/* A seccomp user-notification listener for the caller (SECCOMP_FILTER_FLAG_NEW_LISTENER in
 * sprout_exec_args.seccomp_flags, ABI 1.1): the child's mkdir goes to the listener, the test
 * answers with SECCOMP_IOCTL_NOTIF_SEND and the child sees the answers; the listener never
 * reaches the program; filters that would leave the child waiting on nobody are refused; the
 * other filter flags are taken. */
#include "harness.h"

#include <grp.h>
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>

#if defined(__x86_64__)
#define THIS_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_ARCH AUDIT_ARCH_AARCH64
#endif

/* A filter that sends `nr` and `nr2` (on this architecture) to the listener and allows the
 * rest; room for 8 instructions in out. */
static size_t notify_filter(struct sock_filter *out, long nr, long nr2) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_ARCH, 1, 0),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr, 1, 0),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (uint32_t)nr2, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  memcpy(out, filter, sizeof filter);
  return sizeof filter / sizeof filter[0];
}

/* mkdir on x86_64, mkdirat everywhere (the C library's mkdir uses one or the other). */
#ifdef SYS_mkdir
#define MKDIR_CALLS SYS_mkdir, SYS_mkdirat
#else
#define MKDIR_CALLS SYS_mkdirat, SYS_mkdirat
#endif

static void listener_args(sprout_exec_args *a, struct sock_filter *filter, size_t len) {
  sprout_exec_args_init(a);
  a->flags = SPROUT_EXEC_NO_NEW_PRIVS;
  a->seccomp_filter = filter;
  a->seccomp_filter_len = len;
  a->seccomp_flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
}

/* Receives one notification, checks it is pid's mkdir of `path`, and answers it. */
static void answer_mkdir(int listener, int pid, int64_t val, int32_t error) {
  struct seccomp_notif req;
  memset(&req, 0, sizeof req);
  CHECK(ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &req) == 0, "NOTIF_RECV: %s", strerror(errno));
  CHECK((int)req.pid == pid, "notification from pid %u, not %d", req.pid, pid);
#ifdef SYS_mkdir
  CHECK(req.data.nr == SYS_mkdir || req.data.nr == SYS_mkdirat, "system call %d", req.data.nr);
#else
  CHECK(req.data.nr == SYS_mkdirat, "system call %d", req.data.nr);
#endif
  struct seccomp_notif_resp resp = {req.id, val, error, 0};
  CHECK(ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &resp) == 0, "NOTIF_SEND: %s", strerror(errno));
}

/* The test's own answers reach the child: an errno, then a success with a value, and the
 * directories are never made (only the answers count). */
static void check_answers(sprout_exec_args *a) {
  char first[64], second[64];
  snprintf(first, sizeof first, "/tmp/sprout-listener-%d-a", (int)getpid());
  snprintf(second, sizeof second, "/tmp/sprout-listener-%d-b", (int)getpid());
  const char *args[] = {"mkdir", first, "mkdir", second, "report", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(a, args, &p, &err), &err);
  int listener = sprout_seccomp_listener(p.pid);
  CHECK(listener >= 0, "sprout_seccomp_listener: %d", listener);
  CHECK(fcntl(listener, F_GETFD) & FD_CLOEXEC, "the listener is not close-on-exec");
  CHECK(sprout_seccomp_listener(p.pid) == -ENOENT, "handed over twice");
  answer_mkdir(listener, p.pid, 0, -EPERM);
  answer_mkdir(listener, p.pid, 42, 0);
  char *out = read_report(&p);
  CHECK(finish_probe(&p) == 0, "probe failed");
  struct stat st;
  CHECK(stat(first, &st) < 0 && stat(second, &st) < 0, "a directory was made");
  CHECK(!strcmp(field_nth(out, "mkdir", 0), "-1 errno=1"), "first mkdir: %s",
        field_nth(out, "mkdir", 0));
  CHECK(!strcmp(field_nth(out, "mkdir", 1), "42 errno=0"), "second mkdir: %s",
        field_nth(out, "mkdir", 1));
  /* The program has its three fds, no listener among them. */
  CHECK(count_lines(out, "fd=") == 3, "fds:\n%s", out);
  CHECK(!strstr(out, "seccomp"), "the program has a seccomp fd:\n%s", out);
  close(listener);
}

TEST(the_callers_answers_reach_the_childs_mkdir) {
  struct sock_filter filter[8];
  sprout_exec_args a;
  listener_args(&a, filter, notify_filter(filter, MKDIR_CALLS));
  check_answers(&a);
}

/* Without no_new_privs (root), the filter goes in before the credentials change: the listener
 * comes the same way, and the child's own later steps pass the filter. */
TEST(a_filter_installed_before_the_credentials_hands_its_listener_too) {
  need_root();
  struct sock_filter filter[8];
  sprout_exec_args a;
  listener_args(&a, filter, notify_filter(filter, MKDIR_CALLS));
  a.flags = 0;
  sprout_credentials ids = {65534, 65534, NULL, 0};
  a.credentials = &ids;
  check_answers(&a);
}

TEST(an_unprivileged_caller_gets_the_listener) {
  need_root();
  CHECK(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
            setresuid(65534, 65534, 65534) == 0,
        "becoming nobody: %s", strerror(errno));
  struct sock_filter filter[8];
  sprout_exec_args a;
  listener_args(&a, filter, notify_filter(filter, MKDIR_CALLS));
  check_answers(&a);
}

TEST(the_listener_is_handed_over_once_and_only_when_asked) {
  struct sock_filter filter[8];
  sprout_exec_args a;
  listener_args(&a, filter, notify_filter(filter, MKDIR_CALLS));
  a.seccomp_flags = 0;
  const char *args[] = {"exit", "0", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  CHECK(sprout_seccomp_listener(p.pid) == -ENOENT, "a listener nobody asked for");
  finish_probe(&p);
  CHECK(sprout_seccomp_listener(p.pid) == -ESRCH, "a listener of a process waited for");
  CHECK(sprout_seccomp_listener(999999999) == -ESRCH, "an unknown pid");
}

/* A listener nobody took: a blocking wait closes it, and the kernel fails the call (ENOSYS)
 * instead of the process waiting for ever. */
TEST(a_wait_closes_a_listener_not_taken) {
  struct sock_filter filter[8];
  sprout_exec_args a;
  listener_args(&a, filter, notify_filter(filter, MKDIR_CALLS));
  const char *args[] = {"mkdir", "/tmp/sprout-listener-never", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  close(p.to_stdin);
  int status = -1;
  CHECK_OK(sprout_wait(p.pid, -1, &status, &err), &err);
  char *out = read_all(p.from_stdout);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
  CHECK(!strcmp(field(out, "mkdir"), "-1 errno=38"), "mkdir: %s", out);
}

struct continuer {
  int listener;
  int pid;
  int answered;
};

/* Answers every notification of the process with "go on as if allowed", until the listener
 * reports no process left. */
static void *let_through(void *arg) {
  struct continuer *c = arg;
  for (;;) {
    struct pollfd pfd = {c->listener, POLLIN, 0};
    if (poll(&pfd, 1, 10000) <= 0 || !(pfd.revents & POLLIN)) return NULL;
    struct seccomp_notif req;
    memset(&req, 0, sizeof req);
    if (ioctl(c->listener, SECCOMP_IOCTL_NOTIF_RECV, &req) < 0) return NULL;
    if ((int)req.pid == c->pid && (req.data.nr == SYS_execve || req.data.nr == SYS_execveat))
      __atomic_add_fetch(&c->answered, 1, __ATOMIC_SEQ_CST);
    struct seccomp_notif_resp resp = {req.id, 0, 0, SECCOMP_USER_NOTIF_FLAG_CONTINUE};
    ioctl(c->listener, SECCOMP_IOCTL_NOTIF_SEND, &resp);
  }
}

/* A supervisor of execve itself: refused without a paused start (nobody could answer the
 * child's own execve); with one, the caller takes the listener, answers, and sprout_start
 * returns once the program runs. */
TEST(a_filter_on_execve_needs_a_paused_start) {
  struct sock_filter filter[8];
  sprout_exec_args a;
  listener_args(&a, filter, notify_filter(filter, SYS_execve, SYS_execveat));
  const char *args[] = {"say", "running", NULL};
  probe p;
  sprout_error err;
  int rc = start_probe(&a, args, &p, &err);
  CHECK(rc == -EINVAL && err.stage == SPROUT_STAGE_ARGS &&
            strstr(err.message, "sends execve") && strstr(err.message, "SPROUT_EXEC2_PAUSED"),
        "%d %s", rc, err.message);
  a.flags2 = SPROUT_EXEC2_PAUSED;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  struct continuer c = {sprout_seccomp_listener(p.pid), p.pid, 0};
  CHECK(c.listener >= 0, "listener %d", c.listener);
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, let_through, &c) == 0, "thread");
  CHECK_OK(sprout_start(p.pid, &err), &err);
  char *out = read_all(p.from_stdout);
  finish_probe(&p);
  close(c.listener);
  pthread_join(thread, NULL);
  CHECK(!strcmp(out, "running\n"), "output %s", out);
  CHECK(__atomic_load_n(&c.answered, __ATOMIC_SEQ_CST) == 1, "answered %d execve", c.answered);
}

/* The child's own calls after the filter cannot go to a listener nobody holds yet. */
TEST(filters_that_would_stall_the_child_are_refused) {
  struct sock_filter filter[8];
  sprout_exec_args a;
  const char *args[] = {"exit", "0", NULL};
  probe p;
  sprout_error err;
  listener_args(&a, filter, notify_filter(filter, SYS_sendmsg, SYS_sendmsg));
  int rc = start_probe(&a, args, &p, &err);
  CHECK(rc == -EINVAL && strstr(err.message, "sends sendmsg"), "%d %s", rc, err.message);
  listener_args(&a, filter, notify_filter(filter, SYS_read, SYS_read));
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  finish_probe(&p);
  a.flags2 = SPROUT_EXEC2_PAUSED;
  rc = start_probe(&a, args, &p, &err);
  CHECK(rc == -EINVAL && strstr(err.message, "sends read"), "%d %s", rc, err.message);
  /* A filter that reads the arguments may send anything. */
  struct sock_filter by_argument[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, args[0])),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, 12345, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  listener_args(&a, by_argument, 4);
  rc = start_probe(&a, args, &p, &err);
  CHECK(rc == -EINVAL && strstr(err.message, "may send"), "%d %s", rc, err.message);
  /* Without no_new_privs the credential steps follow the filter too. */
  if (geteuid() == 0) {
    listener_args(&a, filter, notify_filter(filter, SYS_setresuid, SYS_setresuid));
    a.flags = 0;
    rc = start_probe(&a, args, &p, &err);
    CHECK(rc == -EINVAL && strstr(err.message, "sends setresuid"), "%d %s", rc, err.message);
  }
}

TEST(the_other_filter_flags_are_taken) {
  struct sock_filter filter[8];
  sprout_exec_args a;
  listener_args(&a, filter, notify_filter(filter, MKDIR_CALLS));
  const char *args[] = {"exit", "0", NULL};
  probe p;
  sprout_error err;
  a.seccomp_flags = SECCOMP_FILTER_FLAG_LOG | SECCOMP_FILTER_FLAG_SPEC_ALLOW;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  CHECK(WIFEXITED(finish_probe(&p)), "exit");
  a.seccomp_flags = SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  CHECK(WIFEXITED(finish_probe(&p)), "exit");
  a.seccomp_flags = SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV;
  int rc = start_probe(&a, args, &p, &err);
  CHECK(rc == -EINVAL && err.stage == SPROUT_STAGE_ARGS && strstr(err.message, "without SECCOMP_FILTER_FLAG_NEW_LISTENER"),
        "%d %s", rc, err.message);
  a.seccomp_flags = SECCOMP_FILTER_FLAG_TSYNC;
  rc = start_probe(&a, args, &p, &err);
  CHECK(rc == -EINVAL && strstr(err.message, "SECCOMP_FILTER_FLAG_TSYNC: the process is one thread"),
        "%d %s", rc, err.message);
  a.seccomp_flags = 1ull << 40;
  rc = start_probe(&a, args, &p, &err);
  CHECK(rc == -EINVAL && strstr(err.message, "seccomp_flags: unknown bits"), "%d %s", rc, err.message);
  a.seccomp_flags = SECCOMP_FILTER_FLAG_LOG;
  a.seccomp_filter = NULL;
  a.seccomp_filter_len = 0;
  rc = start_probe(&a, args, &p, &err);
  CHECK(rc == -EINVAL && strstr(err.message, "without a seccomp_filter"), "%d %s", rc, err.message);
  listener_args(&a, filter, notify_filter(filter, MKDIR_CALLS));
  a.argv = (const char *const[]){"true", NULL};
  int status;
  rc = sprout_exec(&a, NULL, 0, &status, &err);
  CHECK(rc == -EINVAL && strstr(err.message, "nobody could take the listener"), "%d %s", rc,
        err.message);
}

int main(void) {
  RUN(the_callers_answers_reach_the_childs_mkdir);
  RUN(a_filter_installed_before_the_credentials_hands_its_listener_too);
  RUN(an_unprivileged_caller_gets_the_listener);
  RUN(the_listener_is_handed_over_once_and_only_when_asked);
  RUN(a_wait_closes_a_listener_not_taken);
  RUN(a_filter_on_execve_needs_a_paused_start);
  RUN(filters_that_would_stall_the_child_are_refused);
  RUN(the_other_filter_flags_are_taken);
  return summary();
}
