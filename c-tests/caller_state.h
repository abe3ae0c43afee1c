/*
 * The caller's state that no call of the library may change, as the kernel shows it: fds and
 * their flags, children (running or zombie), signal mask and handlers, ids, groups,
 * capabilities, no_new_privs, seccomp, rlimits, umask, cwd, dumpable flag, namespaces,
 * process group and session. snapshot() before, check_unchanged() after.
 */
#ifndef SPROUT_CALLER_STATE_H
#define SPROUT_CALLER_STATE_H

#include "core_util.h"

#include <sys/resource.h>

/* Lines of /proc/thread-self/status that a failed call must not change. (Not SigQ: it counts
 * the signals queued for the whole real uid, other processes' included.) */
static const char *const STATUS_KEYS[] = {"Umask",  "State",  "Tgid",   "Uid",    "Gid",
                                          "Groups", "Threads", "SigPnd", "ShdPnd", "SigBlk",
                                          "SigIgn", "SigCgt", "CapInh", "CapPrm", "CapEff",
                                          "CapBnd", "CapAmb", "NoNewPrivs", "Seccomp"};
#define NKEYS (sizeof STATUS_KEYS / sizeof STATUS_KEYS[0])

static const char *const OWN_NS[] = {
    "/proc/self/ns/mnt",  "/proc/self/ns/uts",    "/proc/self/ns/ipc",
    "/proc/self/ns/net",  "/proc/self/ns/pid",    "/proc/self/ns/user",
    "/proc/self/ns/cgroup", "/proc/self/ns/time", "/proc/thread-self/ns/pid_for_children",
    "/proc/thread-self/ns/time_for_children",
};
#define NNS (sizeof OWN_NS / sizeof OWN_NS[0])

typedef struct caller_state {
  char *fds;                  /* "fd flags status-flags -> target" for each open fd, malloc'd */
  char status[NKEYS][512];    /* /proc/thread-self/status lines */
  char ns[NNS][96];
  struct sigaction actions[65];
  struct rlimit limits[RLIM_NLIMITS];
  char cwd[PATH_MAX];
  int dumpable;
  pid_t pgid, sid;
} caller_state;

/* Every open fd of this process as "fd flags status-flags -> target" lines, malloc'd (any
 * number of them). */
static char *snapshot_fds(void) {
  size_t cap = 1 << 16, len = 0;
  char *out = malloc(cap);
  CHECK(out != NULL, "malloc");
  out[0] = 0;
  DIR *dir = opendir("/proc/self/fd");
  CHECK(dir != NULL, "opendir /proc/self/fd: %s", strerror(errno));
  for (struct dirent *e; (e = readdir(dir)) != NULL;) {
    if (e->d_name[0] == '.') continue;
    int fd = atoi(e->d_name);
    if (fd == dirfd(dir)) continue;
    char target[PATH_MAX];
    proc_fd_target(getpid(), fd, target, sizeof target);
    if (cap - len < PATH_MAX + 64) {
      out = realloc(out, cap *= 2);
      CHECK(out != NULL, "realloc");
    }
    len += (size_t)snprintf(out + len, cap - len, "%d %d %#x -> %s\n", fd, fcntl(fd, F_GETFD),
                            fcntl(fd, F_GETFL), target);
  }
  closedir(dir);
  return out;
}

/* The first line where a and b differ, for a message. */
static const char *first_difference(const char *a, const char *b) {
  static char text[2 * PATH_MAX + 64];
  size_t at = 0;
  while (a[at] && a[at] == b[at]) at++;
  while (at > 0 && a[at - 1] != '\n') at--;
  int alen = (int)strcspn(a + at, "\n"), blen = (int)strcspn(b + at, "\n");
  snprintf(text, sizeof text, "\"%.*s\" -> \"%.*s\"", alen, a + at, blen, b + at);
  return text;
}

static void snapshot(caller_state *s) {
  memset(s, 0, sizeof *s);
  s->fds = snapshot_fds();
  char *status = read_file("/proc/thread-self/status");
  CHECK(status != NULL, "cannot read /proc/thread-self/status");
  for (size_t i = 0; i < NKEYS; i++) {
    const char *value = field(status, STATUS_KEYS[i]);
    snprintf(s->status[i], sizeof s->status[i], "%s", value ? value : "(none)");
  }
  free(status);
  for (size_t i = 0; i < NNS; i++) {
    ssize_t n = readlink(OWN_NS[i], s->ns[i], sizeof s->ns[i] - 1);
    CHECK(n > 0, "readlink %s: %s", OWN_NS[i], strerror(errno));
  }
  for (int sig = 1; sig < 65; sig++) sigaction(sig, NULL, &s->actions[sig]);
  for (int r = 0; r < RLIM_NLIMITS; r++) CHECK(getrlimit(r, &s->limits[r]) == 0, "getrlimit %d", r);
  CHECK(getcwd(s->cwd, sizeof s->cwd) != NULL, "getcwd: %s", strerror(errno));
  s->dumpable = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);
  s->pgid = getpgrp();
  s->sid = getsid(0);
}

static int same_action(const struct sigaction *a, const struct sigaction *b) {
  if (a->sa_handler != b->sa_handler || a->sa_flags != b->sa_flags) return 0;
  for (int sig = 1; sig < 65; sig++)
    if (sigismember(&a->sa_mask, sig) != sigismember(&b->sa_mask, sig)) return 0;
  return 1;
}

/* Checks that nothing of the caller's state changed since `before`, and that it has no child
 * (running or zombie). */
static void check_unchanged(const char *row, const caller_state *before) {
  int status;
  errno = 0;
  pid_t child = waitpid(-1, &status, WNOHANG);
  CHECK(child < 0 && errno == ECHILD, "%s: the caller has a child (waitpid: %d, %s)", row, child,
        strerror(errno));
  caller_state now;
  snapshot(&now);
  CHECK(!strcmp(before->fds, now.fds), "%s: the caller's fds changed: %s", row,
        first_difference(before->fds, now.fds));
  free(now.fds);
  for (size_t i = 0; i < NKEYS; i++)
    CHECK(!strcmp(before->status[i], now.status[i]), "%s: the caller's %s changed: %s -> %s", row,
          STATUS_KEYS[i], before->status[i], now.status[i]);
  for (size_t i = 0; i < NNS; i++)
    CHECK(!strcmp(before->ns[i], now.ns[i]), "%s: the caller's %s changed: %s -> %s", row, OWN_NS[i],
          before->ns[i], now.ns[i]);
  for (int sig = 1; sig < 65; sig++)
    CHECK(same_action(&before->actions[sig], &now.actions[sig]),
          "%s: the caller's action for signal %d changed", row, sig);
  for (int r = 0; r < RLIM_NLIMITS; r++)
    CHECK(before->limits[r].rlim_cur == now.limits[r].rlim_cur &&
              before->limits[r].rlim_max == now.limits[r].rlim_max,
          "%s: the caller's rlimit %d changed", row, r);
  CHECK(!strcmp(before->cwd, now.cwd), "%s: the caller's cwd changed: %s -> %s", row, before->cwd,
        now.cwd);
  CHECK(before->dumpable == now.dumpable, "%s: the caller's dumpable flag changed: %d -> %d", row,
        before->dumpable, now.dumpable);
  CHECK(before->pgid == now.pgid && before->sid == now.sid, "%s: the caller's group or session changed",
        row);
}

#endif
