/* Namespaces and cgroups through the C ABI: every kind created new and joined from a holder
 * process, PID numbering inside and outside, user namespaces with id maps, cgroup placement,
 * the refusals, and the caller's own namespaces unchanged after every test. */
#include "harness.h"

#include <linux/filter.h>
#include <linux/nsfs.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <stddef.h>
#include <grp.h>
#include <limits.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

static const struct kind {
  int type;
  const char *name;       /* as in /proc/PID/ns */
  const char *unshare;    /* unshare(1) option */
} KINDS[] = {
    {CLONE_NEWNS, "mnt", "--mount"},    {CLONE_NEWUTS, "uts", "--uts"},
    {CLONE_NEWIPC, "ipc", "--ipc"},     {CLONE_NEWNET, "net", "--net"},
    {CLONE_NEWPID, "pid", "--pid"},     {CLONE_NEWUSER, "user", "--user"},
    {CLONE_NEWCGROUP, "cgroup", "--cgroup"}, {CLONE_NEWTIME, "time", "--time"},
};
#define NKINDS (sizeof KINDS / sizeof KINDS[0])

static const struct kind *kind(int type) {
  for (size_t i = 0; i < NKINDS; i++)
    if (KINDS[i].type == type) return &KINDS[i];
  CHECK(0, "no kind %#x", type);
  return NULL;
}

/* readlink of a namespace file ("net:[4026531833]") into a static rotating buffer. */
static const char *link_of(const char *path) {
  static char bufs[8][96];
  static int next;
  char *buf = bufs[next++ % 8];
  ssize_t n = readlink(path, buf, sizeof bufs[0] - 1);
  CHECK(n > 0, "readlink %s: %s", path, strerror(errno));
  buf[n] = 0;
  return buf;
}

/* /proc/PID/ns/NAME of a process, or of the caller with pid 0. */
static const char *ns_of(int pid, const char *name) {
  char path[96];
  if (pid == 0)
    snprintf(path, sizeof path, "/proc/self/ns/%s", name);
  else
    snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, name);
  return link_of(path);
}

/* The caller's own namespaces, the calling thread's "for children" ones included. */
static const char *const OWN_NS[] = {
    "/proc/self/ns/mnt",  "/proc/self/ns/uts",    "/proc/self/ns/ipc",
    "/proc/self/ns/net",  "/proc/self/ns/pid",    "/proc/self/ns/user",
    "/proc/self/ns/cgroup", "/proc/self/ns/time", "/proc/thread-self/ns/pid_for_children",
    "/proc/thread-self/ns/time_for_children",
};
#define NOWN (sizeof OWN_NS / sizeof OWN_NS[0])
typedef struct own_ns { char link[NOWN][96]; } own_ns;

static void snapshot(own_ns *s) {
  for (size_t i = 0; i < NOWN; i++) snprintf(s->link[i], sizeof s->link[i], "%s", link_of(OWN_NS[i]));
}

static void check_unchanged(const own_ns *before) {
  for (size_t i = 0; i < NOWN; i++) {
    const char *now = link_of(OWN_NS[i]);
    CHECK(!strcmp(now, before->link[i]), "the caller's %s changed: %s -> %s", OWN_NS[i],
          before->link[i], now);
  }
}

/* A test whose caller's namespaces are checked unchanged at its end. */
#define NS_TEST(name)                   \
  static void name##_body(void);        \
  TEST(name) {                          \
    own_ns before_;                     \
    snapshot(&before_);                 \
    name##_body();                      \
    check_unchanged(&before_);          \
  }                                     \
  static void name##_body(void)

/* ---- holders: processes started with unshare(1), whose namespaces the tests join ---- */

typedef struct holder {
  int pid;     /* the unshare process, killed at the end */
  int target;  /* the process in the namespaces (unshare's child with --fork) */
} holder;

static int first_child_of(int pid) {
  char path[96];
  snprintf(path, sizeof path, "/proc/%d/task/%d/children", pid, pid);
  char *text = read_file(path);
  int child = text ? atoi(text) : 0;
  free(text);
  return child;
}

/* Starts `unshare OPTIONS... sleep 100`, with --fork for a PID namespace, and waits until the
 * target is in its new namespaces. It dies with the test process (parent-death signal). */
static holder start_holder(const char *const *options) {
  const char *argv[16];
  size_t n = 0;
  int fork_pid = 0;
  argv[n++] = "unshare";
  for (; *options && n < 10; options++) {
    argv[n++] = *options;
    if (!strcmp(*options, "--pid")) fork_pid = 1;
  }
  if (fork_pid) {
    argv[n++] = "--fork";
    argv[n++] = "--kill-child";
  }
  argv[n++] = "sleep";
  argv[n++] = "100";
  argv[n] = NULL;
  int pid = fork();
  CHECK(pid >= 0, "fork: %s", strerror(errno));
  if (pid == 0) {
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    execvp("unshare", (char *const *)argv);
    _exit(127);
  }
  holder h = {pid, pid};
  for (int tries = 0; tries < 500; tries++) {
    if (fork_pid) h.target = first_child_of(pid);
    /* unshare has unshared once the target's user or mnt or ... differs; sleep then runs. */
    char path[96];
    snprintf(path, sizeof path, "/proc/%d/cmdline", h.target);
    char *cmd = h.target ? read_file(path) : NULL;
    int sleeping = cmd && !strcmp(cmd, "sleep");
    free(cmd);
    if (sleeping) return h;
    usleep(10000);
  }
  CHECK(0, "holder %s did not start", argv[1]);
  return h;
}

static void stop_holder(holder *h) {
  kill(h->pid, SIGKILL);
  waitpid(h->pid, NULL, 0);
}

static int open_ns(int pid, const char *name) {
  char path[96];
  snprintf(path, sizeof path, "/proc/%d/ns/%s", pid, name);
  int fd = open(path, O_RDONLY | O_CLOEXEC);
  CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
  return fd;
}

/* ---- spawning the probe in namespaces ---- */

static const char *const REPORT_WAIT[] = {"report", "wait", NULL};

static int start_in(sprout_exec_args *a, const sprout_namespace *ns, size_t len, probe *p,
                    char **report, sprout_error *err) {
  a->namespaces = ns;
  a->namespaces_len = len;
  int rc = start_probe(a, REPORT_WAIT, p, err);
  if (rc == 0) *report = read_report(p);
  return rc;
}

static void finish_ok(probe *p, const char *report) {
  int status = finish_probe(p);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "probe ended with %#x:\n%s", status, report);
}

/* The child is in the holder's namespace of `type` (or a new one, holder NULL), in the
 * caller's namespaces of every other kind. */
static void check_namespaces(int pid, int type, const holder *h) {
  for (size_t i = 0; i < NKINDS; i++) {
    const char *name = KINDS[i].name;
    const char *child = ns_of(pid, name), *own = ns_of(0, name);
    if (KINDS[i].type != type) {
      CHECK(!strcmp(child, own), "%s: the child's %s is not the caller's", name, child);
      continue;
    }
    CHECK(strcmp(child, own), "%s: the child is still in the caller's %s", name, own);
    if (h) {
      const char *held = ns_of(h->target, name);
      CHECK(!strcmp(child, held), "%s: the child's %s is not the holder's %s", name, child, held);
    }
  }
}

static void check_new_kind(int type) {
  need_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace ns = {type, -1};
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, &ns, 1, &p, &report, &err), &err);
  check_namespaces(p.pid, type, NULL);
  finish_ok(&p, report);
}

static void check_joined_kind(int type) {
  need_root();
  const char *opts[] = {kind(type)->unshare, NULL};
  holder h = start_holder(opts);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace ns = {type, open_ns(h.target, kind(type)->name)};
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, &ns, 1, &p, &report, &err), &err);
  check_namespaces(p.pid, type, &h);
  finish_ok(&p, report);
  stop_holder(&h);
}

NS_TEST(new_mnt) { check_new_kind(CLONE_NEWNS); }
NS_TEST(new_uts) { check_new_kind(CLONE_NEWUTS); }
NS_TEST(new_ipc) { check_new_kind(CLONE_NEWIPC); }
NS_TEST(new_net) { check_new_kind(CLONE_NEWNET); }
NS_TEST(new_pid) { check_new_kind(CLONE_NEWPID); }
NS_TEST(new_user) { check_new_kind(CLONE_NEWUSER); }
NS_TEST(new_cgroup) { check_new_kind(CLONE_NEWCGROUP); }
NS_TEST(new_time) { check_new_kind(CLONE_NEWTIME); }

NS_TEST(joined_mnt) { check_joined_kind(CLONE_NEWNS); }
NS_TEST(joined_uts) { check_joined_kind(CLONE_NEWUTS); }
NS_TEST(joined_ipc) { check_joined_kind(CLONE_NEWIPC); }
NS_TEST(joined_net) { check_joined_kind(CLONE_NEWNET); }
NS_TEST(joined_pid) { check_joined_kind(CLONE_NEWPID); }
NS_TEST(joined_user) { check_joined_kind(CLONE_NEWUSER); }
NS_TEST(joined_cgroup) { check_joined_kind(CLONE_NEWCGROUP); }
NS_TEST(joined_time) { check_joined_kind(CLONE_NEWTIME); }

/* Every kind at once, all new: one clone. */
NS_TEST(all_new_at_once) {
  need_root();
  sprout_namespace ns[NKINDS];
  for (size_t i = 0; i < NKINDS; i++) ns[i] = (sprout_namespace){KINDS[i].type, -1};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, ns, NKINDS, &p, &report, &err), &err);
  for (size_t i = 0; i < NKINDS; i++)
    CHECK(strcmp(ns_of(p.pid, KINDS[i].name), ns_of(0, KINDS[i].name)), "%s is the caller's",
          KINDS[i].name);
  CHECK(!strcmp(field(report, "pid"), "1"), "pid inside = %s", field(report, "pid"));
  finish_ok(&p, report);
}

/* Every kind of one holder joined at once, the user namespace owning the others: the join
 * order (user first) is what makes it work. */
NS_TEST(all_joined_at_once) {
  need_root();
  const char *opts[] = {"--user", "--map-root-user", "--mount", "--uts", "--ipc", "--net",
                        "--pid",  "--cgroup",        "--time",  NULL};
  holder h = start_holder(opts);
  sprout_namespace ns[NKINDS];
  for (size_t i = 0; i < NKINDS; i++)
    ns[i] = (sprout_namespace){KINDS[NKINDS - 1 - i].type, open_ns(h.target, KINDS[NKINDS - 1 - i].name)};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, ns, NKINDS, &p, &report, &err), &err);
  for (size_t i = 0; i < NKINDS; i++)
    CHECK(!strcmp(ns_of(p.pid, KINDS[i].name), ns_of(h.target, KINDS[i].name)),
          "%s is not the holder's", KINDS[i].name);
  /* root outside, mapped to root inside by the holder's map */
  CHECK(!strncmp(field(report, "status=Uid"), "0\t0\t0\t0", 7), "Uid inside: %s",
        field(report, "status=Uid"));
  finish_ok(&p, report);
  stop_holder(&h);
}

/* ---- PID namespaces ---- */

/* NSpid of /proc/PID/status as the caller sees it: "host<TAB>inside". */
static const char *nspid_of(int pid) {
  char *status = proc_file(pid, "status");
  CHECK(status != NULL, "no /proc/%d/status", pid);
  return field(status, "NSpid");
}

NS_TEST(new_pid_is_pid_1_inside_and_host_pid_outside) {
  need_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace ns = {CLONE_NEWPID, -1};
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, &ns, 1, &p, &report, &err), &err);
  CHECK(!strcmp(field(report, "pid"), "1"), "pid inside = %s", field(report, "pid"));
  CHECK(!strcmp(field(report, "ppid"), "0"), "ppid inside = %s", field(report, "ppid"));
  char want[64];
  snprintf(want, sizeof want, "%d\t1", p.pid);
  CHECK(!strcmp(nspid_of(p.pid), want), "NSpid %s, want %s", nspid_of(p.pid), want);
  finish_ok(&p, report);
}

NS_TEST(joined_pid_gets_the_next_pid_inside_and_is_waited_and_signalled_outside) {
  need_root();
  const char *opts[] = {"--pid", NULL};
  holder h = start_holder(opts);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace ns = {CLONE_NEWPID, open_ns(h.target, "pid")};
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, &ns, 1, &p, &report, &err), &err);
  int inside = atoi(field(report, "pid"));
  CHECK(inside > 1, "pid inside = %d", inside);
  CHECK(!strcmp(field(report, "ppid"), "0"), "ppid inside = %s", field(report, "ppid"));
  char want[64];
  snprintf(want, sizeof want, "%d\t%d", p.pid, inside);
  CHECK(!strcmp(nspid_of(p.pid), want), "NSpid %s, want %s", nspid_of(p.pid), want);
  finish_ok(&p, report);

  /* A process in there is waited and signalled through sprout like any other. */
  const char *pause_args[] = {"pause", NULL};
  CHECK_OK(start_probe(&a, pause_args, &p, &err), &err);
  CHECK(strcmp(ns_of(p.pid, "pid"), ns_of(0, "pid")), "not in the joined PID namespace");
  int status = 0;
  CHECK(sprout_wait(p.pid, 0, &status, &err) == -ETIMEDOUT, "the paused probe is not running");
  CHECK(sprout_signal(p.pid, SIGTERM) == 0, "sprout_signal");
  CHECK_OK(sprout_wait(p.pid, 10000, &status, &err), &err);
  CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGTERM, "status %#x", status);
  close(p.to_stdin);
  close(p.from_stdout);

  /* The caller's own later children are born in its PID namespace, not the joined one. */
  int child = fork();
  if (child == 0) {
    pause();
    _exit(0);
  }
  CHECK(!strcmp(ns_of(child, "pid"), ns_of(0, "pid")), "a later fork landed in %s",
        ns_of(child, "pid"));
  kill(child, SIGKILL);
  waitpid(child, NULL, 0);
  stop_holder(&h);
}

/* While one thread spawns into a joined PID namespace again and again, the other threads'
 * children keep being born in the caller's own: the switch is per thread. */
static int spawner_fd;
static volatile int spawner_done;

static void *spawn_into_pid_namespace(void *unused) {
  (void)unused;
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace ns = {CLONE_NEWPID, spawner_fd};
  a.namespaces = &ns;
  a.namespaces_len = 1;
  const char *args[] = {"exit", "0", NULL};
  char before[96];
  snprintf(before, sizeof before, "%s", link_of("/proc/thread-self/ns/pid_for_children"));
  for (int i = 0; i < 100; i++) {
    probe p;
    sprout_error err;
    CHECK_OK(start_probe(&a, args, &p, &err), &err);
    finish_probe(&p);
    CHECK(!strcmp(link_of("/proc/thread-self/ns/pid_for_children"), before),
          "the spawning thread's pid_for_children changed");
  }
  FLAG_SET(spawner_done, 1);
  return NULL;
}

NS_TEST(joining_a_pid_namespace_never_moves_other_threads_children) {
  need_root();
  const char *opts[] = {"--pid", NULL};
  holder h = start_holder(opts);
  spawner_fd = open_ns(h.target, "pid");
  char own[96];
  snprintf(own, sizeof own, "%s", ns_of(0, "pid"));
  pthread_t thread;
  CHECK(pthread_create(&thread, NULL, spawn_into_pid_namespace, NULL) == 0, "pthread_create");
  int forks = 0;
  while (!FLAG_GET(spawner_done)) {
    int child = fork();
    if (child == 0) {
      char link[96];
      ssize_t n = readlink("/proc/self/ns/pid", link, sizeof link - 1);
      link[n < 0 ? 0 : n] = 0;
      _exit(strcmp(link, own) ? 1 : 0);
    }
    int status;
    waitpid(child, &status, 0);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "fork %d was born in another PID namespace", forks);
    forks++;
  }
  pthread_join(thread, NULL);
  CHECK(forks > 0, "no fork ran");
  stop_holder(&h);
}

/* Starts a probe in "pause" under the spawn args it is given, from a thread of its own that
 * then exits: the thread whose death the parent-death signal follows. */
static void *spawn_pause_and_exit(void *args) {
  static const char *const pause_args[] = {"pause", NULL};
  static probe p;
  sprout_error err;
  CHECK_OK(start_probe(args, pause_args, &p, &err), &err);
  CHECK(strcmp(ns_of(p.pid, "pid"), ns_of(0, "pid")), "not in another PID namespace");
  return &p;
}

/* Run by the test below as `test_namespaces --switch-back PID` under strace, which makes the
 * second setns of this process (the calling thread's switch back from PID's PID namespace
 * after clone) fail once with ENOMEM. The thread must not stay switched: its later children,
 * forked or spawned, are born in its own PID namespace. */
static int switch_back_under_injected_enomem(int target) {
  char own[96];
  snprintf(own, sizeof own, "%s", ns_of(0, "pid"));
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace ns = {CLONE_NEWPID, open_ns(target, "pid")};
  a.namespaces = &ns;
  a.namespaces_len = 1;
  const char *args[] = {"exit", "0", NULL};
  probe p;
  sprout_error err;
  int rc = start_probe(&a, args, &p, &err);
  const char *now = link_of("/proc/thread-self/ns/pid_for_children");
  CHECK(!strcmp(now, own), "the spawning thread's children now go to %s, not %s (spawn: %d, %s)",
        now, own, rc, err.message);
  CHECK_OK(rc, &err);
  CHECK(strcmp(ns_of(p.pid, "pid"), own), "the spawn did not go into the joined namespace");
  finish_probe(&p);
  int child = fork();
  CHECK(child >= 0, "fork: %s", strerror(errno));
  if (child == 0) _exit(strcmp(ns_of(0, "pid"), own) ? 1 : 0);
  int status;
  CHECK(waitpid(child, &status, 0) == child && WIFEXITED(status) && WEXITSTATUS(status) == 0,
        "a later fork was born in another PID namespace (status %#x)", status);
  const char *wait_args[] = {"wait", NULL};
  sprout_exec_args_init(&a);
  CHECK_OK(start_probe(&a, wait_args, &p, &err), &err);
  CHECK(!strcmp(ns_of(p.pid, "pid"), own), "a later spawn was born in %s", ns_of(p.pid, "pid"));
  finish_probe(&p);
  return 0;
}

/* Runs the spawner above under strace, its second setns failing with `error` (an errno name). */
static void switch_back_with_injected(const char *error) {
  need_root();
  const char *opts[] = {"--pid", NULL};
  holder h = start_holder(opts);
  /* This program through its /proc link, which works even once a rebuild replaced the file. */
  char self[64], target[16], log_path[] = "/tmp/sprout-test-strace-XXXXXX";
  snprintf(self, sizeof self, "/proc/%d/exe", getpid());
  snprintf(target, sizeof target, "%d", h.target);
  int log_fd = mkstemp(log_path);
  CHECK(log_fd >= 0, "mkstemp: %s", strerror(errno));
  close(log_fd);
  int tracer = fork();
  CHECK(tracer >= 0, "fork: %s", strerror(errno));
  if (tracer == 0) {
    char inject[64];
    snprintf(inject, sizeof inject, "inject=setns:error=%s:when=2", error);
    const char *argv[] = {"strace", "-qq", "-o", log_path, "-e", "trace=setns", "-e",
                          inject, self, "--switch-back", target, NULL};
    execvp("strace", (char *const *)argv);
    _exit(127);
  }
  int status;
  CHECK(waitpid(tracer, &status, 0) == tracer, "waitpid: %s", strerror(errno));
  char *log = read_file(log_path);
  unlink(log_path);
  if (WIFEXITED(status) && WEXITSTATUS(status) == 127) SKIP("strace is not installed");
  CHECK(log && strstr(log, error) && strstr(log, "(INJECTED)"), "no %s was injected:\n%s", error,
        log ? log : "(no log)");
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the traced spawner failed (%#x); strace:\n%s",
        status, log);
  stop_holder(&h);
}

NS_TEST(a_failed_switch_back_from_a_joined_pid_namespace_is_retried) { switch_back_with_injected("ENOMEM"); }

/* The saved fd refused (as if another thread had closed it): the thread goes back to its own
 * active PID namespace instead, and the caller's process lives on. */
NS_TEST(a_switch_back_whose_saved_fd_is_gone_returns_to_the_threads_own_namespace) {
  switch_back_with_injected("EBADF");
}

/* The parent-death signal's check that the parent lives must not take a getppid() of 0 (the
 * parent is outside the child's PID namespace) for a dead parent; and the signal still comes
 * when the thread that spawned the process ends. */
NS_TEST(parent_death_signal_in_another_pid_namespace) {
  need_root();
  const char *opts[] = {"--pid", NULL};
  holder h = start_holder(opts);
  sprout_namespace joined = {CLONE_NEWPID, open_ns(h.target, "pid")}, fresh = {CLONE_NEWPID, -1};
  const sprout_namespace *cases[] = {&joined, &fresh};
  for (int i = 0; i < 2; i++) {
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    a.parent_death_signal = SIGKILL;
    probe p;
    char *report;
    sprout_error err;
    CHECK_OK(start_in(&a, cases[i], 1, &p, &report, &err), &err);
    CHECK(has_line(report, "end"), "the probe died before reporting (case %d):\n%s", i, report);
    finish_ok(&p, report);

    /* Spawned by a thread that then exits: the probe gets SIGKILL. */
    pthread_t thread;
    void *result;
    CHECK(pthread_create(&thread, NULL, spawn_pause_and_exit, &a) == 0, "pthread_create");
    CHECK(pthread_join(thread, &result) == 0, "pthread_join");
    probe *orphan = result;
    int status = 0;
    CHECK_OK(sprout_wait(orphan->pid, 10000, &status, &err), &err);
    CHECK(WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL,
          "case %d: the probe ended with %#x, not by the parent-death signal", i, status);
    close(orphan->to_stdin);
    close(orphan->from_stdout);
  }
  stop_holder(&h);
}

/* ---- user namespaces ---- */

/* The first line of /proc/PID/NAME with its columns squeezed to single spaces. */
static const char *squeezed_line(int pid, const char *name) {
  static char out[256];
  char *text = proc_file(pid, name);
  CHECK(text != NULL, "no /proc/%d/%s", pid, name);
  size_t n = 0;
  int space = 1;
  for (const char *c = text; *c && *c != '\n' && n < sizeof out - 1; c++) {
    if (*c == ' ' || *c == '\t') {
      if (!space) out[n++] = ' ';
      space = 1;
    } else {
      out[n++] = *c;
      space = 0;
    }
  }
  while (n > 0 && out[n - 1] == ' ') n--;
  out[n] = 0;
  free(text);
  return out;
}

/* "Uid:" of /proc/PID/status from outside: real, effective, saved, fs. */
static const char *uid_outside(int pid) {
  static char out[128];
  char *status = proc_file(pid, "status");
  CHECK(status != NULL, "no status");
  snprintf(out, sizeof out, "%s", field(status, "Uid"));
  free(status);
  return out;
}

static const sprout_id_map BIG_MAP = {0, 100000, 65536};

NS_TEST(new_user_namespace_with_a_65536_id_map) {
  need_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.uid_map = &BIG_MAP;
  a.uid_map_len = 1;
  a.gid_map = &BIG_MAP;
  a.gid_map_len = 1;
  sprout_namespace ns = {CLONE_NEWUSER, -1};
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, &ns, 1, &p, &report, &err), &err);
  CHECK(!strcmp(squeezed_line(p.pid, "uid_map"), "0 100000 65536"), "uid_map: %s",
        squeezed_line(p.pid, "uid_map"));
  CHECK(!strcmp(squeezed_line(p.pid, "gid_map"), "0 100000 65536"), "gid_map: %s",
        squeezed_line(p.pid, "gid_map"));
  /* A privileged caller's gid map needs no setgroups denial: it stays allowed. */
  CHECK(!strcmp(squeezed_line(p.pid, "setgroups"), "allow"), "setgroups: %s",
        squeezed_line(p.pid, "setgroups"));
  /* NULL credentials: the caller's ids (root), unmapped inside, so the overflow id there. */
  CHECK(!strcmp(uid_outside(p.pid), "0\t0\t0\t0"), "Uid outside: %s", uid_outside(p.pid));
  CHECK(!strcmp(field(report, "status=Uid"), "65534\t65534\t65534\t65534"), "Uid inside: %s",
        field(report, "status=Uid"));
  CHECK(strcmp(ns_of(p.pid, "user"), ns_of(0, "user")), "the user namespace is the caller's");
  finish_ok(&p, report);
}

NS_TEST(credentials_are_ids_inside_the_new_user_namespace) {
  need_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.uid_map = &BIG_MAP;
  a.uid_map_len = 1;
  a.gid_map = &BIG_MAP;
  a.gid_map_len = 1;
  sprout_credentials creds = {0, 0, NULL, 0};
  a.credentials = &creds;
  sprout_namespace ns = {CLONE_NEWUSER, -1};
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, &ns, 1, &p, &report, &err), &err);
  CHECK(!strcmp(field(report, "status=Uid"), "0\t0\t0\t0"), "Uid inside: %s",
        field(report, "status=Uid"));
  CHECK(!strcmp(uid_outside(p.pid), "100000\t100000\t100000\t100000"), "Uid outside: %s",
        uid_outside(p.pid));
  finish_ok(&p, report);
}

/* Makes the test process an ordinary unprivileged one, uid and gid 100000, with `n`
 * supplementary groups. */
static void become_unprivileged_in_groups(size_t n, const gid_t *groups) {
  CHECK(setgroups(n, groups) == 0 && setresgid(100000, 100000, 100000) == 0 &&
            setresuid(100000, 100000, 100000) == 0,
        "dropping to 100000: %s", strerror(errno));
  /* Changing ids made the process non-dumpable, which would make its /proc files (and the
   * child's, sharing its memory) root's; an ordinary unprivileged process is dumpable. */
  prctl(PR_SET_DUMPABLE, 1);
}

static void become_unprivileged(void) { become_unprivileged_in_groups(0, NULL); }

/* An unprivileged caller maps only its own ids, and its gid map needs setgroups denied. */
NS_TEST(unprivileged_caller_maps_its_own_id_to_root_inside) {
  need_root();
  become_unprivileged();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_id_map own = {0, 100000, 1};
  a.uid_map = &own;
  a.uid_map_len = 1;
  a.gid_map = &own;
  a.gid_map_len = 1;
  sprout_namespace ns = {CLONE_NEWUSER, -1};
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, &ns, 1, &p, &report, &err), &err);
  CHECK(!strcmp(field(report, "status=Uid"), "0\t0\t0\t0"), "Uid inside: %s",
        field(report, "status=Uid"));
  CHECK(!strcmp(field(report, "status=Gid"), "0\t0\t0\t0"), "Gid inside: %s",
        field(report, "status=Gid"));
  CHECK(!strcmp(uid_outside(p.pid), "100000\t100000\t100000\t100000"), "Uid outside: %s",
        uid_outside(p.pid));
  CHECK(!strcmp(squeezed_line(p.pid, "setgroups"), "deny"), "setgroups: %s",
        squeezed_line(p.pid, "setgroups"));
  CHECK(!strcmp(squeezed_line(p.pid, "gid_map"), "0 100000 1"), "gid_map: %s",
        squeezed_line(p.pid, "gid_map"));
  finish_ok(&p, report);
}

static void expect_refusal(sprout_exec_args *a, int code, unsigned stage, const char *mention);

/* The same with a supplementary group the caller cannot map: setgroups is denied in the new
 * namespace (the kernel's rule for the gid map), so the group, shown as the overflow gid
 * inside, stays as it is (runc does the same); credentials without groups still apply, and
 * groups asked for are refused by the kernel. */
NS_TEST(rootless_credentials_keep_a_supplementary_group_setgroups_cannot_drop) {
  need_root();
  const gid_t group = 4242;
  become_unprivileged_in_groups(1, &group);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_id_map own = {0, 100000, 1};
  a.uid_map = &own;
  a.uid_map_len = 1;
  a.gid_map = &own;
  a.gid_map_len = 1;
  sprout_credentials root = {0, 0, NULL, 0};
  a.credentials = &root;
  sprout_namespace ns = {CLONE_NEWUSER, -1};
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, &ns, 1, &p, &report, &err), &err);
  CHECK(!strcmp(squeezed_line(p.pid, "setgroups"), "deny"), "setgroups: %s",
        squeezed_line(p.pid, "setgroups"));
  CHECK(!strcmp(field(report, "status=Uid"), "0\t0\t0\t0"), "Uid inside: %s",
        field(report, "status=Uid"));
  CHECK(!strcmp(field(report, "status=Gid"), "0\t0\t0\t0"), "Gid inside: %s",
        field(report, "status=Gid"));
  CHECK(atoi(field(report, "status=Groups")) == 65534, "Groups inside: %s",
        field(report, "status=Groups"));
  char *status = proc_file(p.pid, "status");
  CHECK(status && atoi(field(status, "Groups")) == 4242, "Groups outside: %s",
        status ? field(status, "Groups") : "?");
  finish_ok(&p, report);

  const uint32_t asked = 0;
  root.extra_gids = &asked;
  root.extra_gids_len = 1;
  expect_refusal(&a, EPERM, SPROUT_STAGE_CREDENTIALS, "extra_gids [0]");
}

/* An unprivileged caller joins the namespaces of its own rootless container: only its
 * privilege in the container's user namespace allows the other joins, so that one comes first
 * whatever the order given. */
NS_TEST(unprivileged_caller_joins_the_user_namespace_first) {
  need_root();
  become_unprivileged();
  const char *opts[] = {"--user", "--map-root-user", "--mount", "--uts", "--ipc",
                        "--net",  "--cgroup",        "--time",  NULL};
  holder h = start_holder(opts);
  const int types[] = {CLONE_NEWTIME, CLONE_NEWCGROUP, CLONE_NEWNET, CLONE_NEWIPC,
                       CLONE_NEWUTS,  CLONE_NEWNS,     CLONE_NEWUSER};
  const size_t n = sizeof types / sizeof types[0];
  sprout_namespace ns[sizeof types / sizeof types[0]];
  for (size_t i = 0; i < n; i++) ns[i] = (sprout_namespace){types[i], open_ns(h.target, kind(types[i])->name)};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, ns, n, &p, &report, &err), &err);
  for (size_t i = 0; i < n; i++) {
    const char *name = kind(types[i])->name;
    CHECK(!strcmp(ns_of(p.pid, name), ns_of(h.target, name)), "%s is not the holder's", name);
  }
  CHECK(!strcmp(field(report, "status=Uid"), "0\t0\t0\t0"), "Uid inside: %s",
        field(report, "status=Uid"));
  CHECK(!strcmp(uid_outside(p.pid), "100000\t100000\t100000\t100000"), "Uid outside: %s",
        uid_outside(p.pid));
  finish_ok(&p, report);
  stop_holder(&h);
}

/* The device and inode of a namespace file: what tells namespaces apart. */
static int same_file(int fd_a, int fd_b) {
  struct stat a, b;
  CHECK(fstat(fd_a, &a) == 0 && fstat(fd_b, &b) == 0, "fstat: %s", strerror(errno));
  return a.st_dev == b.st_dev && a.st_ino == b.st_ino;
}

/* Whether the user namespace owning pid's namespace `name` is the one of `owner`. */
static int owned_by(int pid, const char *name, int owner) {
  int ns = open_ns(pid, name);
  int user = ioctl(ns, NS_GET_USERNS);
  CHECK(user >= 0, "NS_GET_USERNS on %s: %s", name, strerror(errno));
  int user_owner = open_ns(owner, "user");
  int same = same_file(user, user_owner);
  close(ns);
  close(user);
  close(user_owner);
  return same;
}

/* New namespaces created with a new user namespace are owned by it. */
NS_TEST(new_namespaces_are_owned_by_a_new_user_namespace) {
  need_root();
  sprout_namespace ns[] = {{CLONE_NEWNET, -1}, {CLONE_NEWUSER, -1}, {CLONE_NEWUTS, -1}};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.uid_map = &BIG_MAP;
  a.uid_map_len = 1;
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, ns, 3, &p, &report, &err), &err);
  CHECK(owned_by(p.pid, "net", p.pid) && owned_by(p.pid, "uts", p.pid),
        "the new net/uts namespaces are not owned by the new user namespace");
  finish_ok(&p, report);
}

/* Joining a user namespace and creating a net namespace: the new one is owned by the joined
 * one (created after the join), which is the holder's. */
NS_TEST(joined_user_namespace_owns_the_new_ones) {
  need_root();
  const char *opts[] = {"--user", "--map-root-user", NULL};
  holder h = start_holder(opts);
  sprout_namespace ns[] = {{CLONE_NEWNET, -1}, {CLONE_NEWUSER, open_ns(h.target, "user")}};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, ns, 2, &p, &report, &err), &err);
  CHECK(!strcmp(ns_of(p.pid, "user"), ns_of(h.target, "user")), "not in the holder's user ns");
  CHECK(strcmp(ns_of(p.pid, "net"), ns_of(0, "net")), "no new net namespace");
  CHECK(owned_by(p.pid, "net", h.target), "the new net namespace is not owned by the joined user namespace");
  CHECK(!strcmp(field(report, "status=Uid"), "0\t0\t0\t0"), "Uid inside: %s",
        field(report, "status=Uid"));
  finish_ok(&p, report);
  stop_holder(&h);
}

/* A new user namespace (with maps) and a joined net namespace owned by the caller's: the join
 * comes first, while the child still has the caller's privilege. */
NS_TEST(new_user_namespace_with_a_joined_net_namespace) {
  need_root();
  const char *opts[] = {"--net", NULL};
  holder h = start_holder(opts);
  sprout_namespace ns[] = {{CLONE_NEWUSER, -1}, {CLONE_NEWNET, open_ns(h.target, "net")},
                           {CLONE_NEWUTS, -1}};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.uid_map = &BIG_MAP;
  a.uid_map_len = 1;
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, ns, 3, &p, &report, &err), &err);
  CHECK(!strcmp(ns_of(p.pid, "net"), ns_of(h.target, "net")), "not in the holder's net ns");
  CHECK(strcmp(ns_of(p.pid, "user"), ns_of(0, "user")), "no new user namespace");
  CHECK(owned_by(p.pid, "uts", p.pid), "the new uts namespace is not owned by the new user namespace");
  CHECK(!strcmp(squeezed_line(p.pid, "uid_map"), "0 100000 65536"), "uid_map: %s",
        squeezed_line(p.pid, "uid_map"));
  finish_ok(&p, report);
  stop_holder(&h);
}

/* Joining the caller's own user namespace is staying in it (the kernel would refuse a setns). */
NS_TEST(joining_the_callers_own_user_namespace_is_staying) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace ns = {CLONE_NEWUSER, open("/proc/self/ns/user", O_RDONLY | O_CLOEXEC)};
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, &ns, 1, &p, &report, &err), &err);
  CHECK(!strcmp(ns_of(p.pid, "user"), ns_of(0, "user")), "left the caller's user namespace");
  finish_ok(&p, report);
}

/* ---- steps that need the caller's privilege in its own user namespace ---- */

/* Raising a hard limit, TIOCSCTTY on a write-only terminal and handing a terminal to another
 * uid need capabilities in the initial user namespace, which a process in a new or joined user
 * namespace has not: each must happen before it enters it, or be done by the parent. Each is
 * checked in every way a spawn can enter a user namespace. */
typedef struct userns_case {
  const char *name;
  int new_user, new_pid, maps, joined_net, joined_user;
} userns_case;

static const userns_case USERNS_CASES[] = {
    {"no user namespace", 0, 0, 0, 0, 0},
    {"new user namespace", 1, 0, 0, 0, 0},
    {"new user and PID namespaces", 1, 1, 0, 0, 0},
    {"new user namespace with maps", 1, 0, 1, 0, 0},
    {"new user and PID namespaces with maps", 1, 1, 1, 0, 0},
    {"new user namespace with maps and a joined net namespace", 1, 0, 1, 1, 0},
    {"joined user namespace", 0, 0, 0, 0, 1},
    {"joined user namespace and a new PID namespace", 0, 1, 0, 0, 1},
};
#define NUSERNS_CASES (sizeof USERNS_CASES / sizeof USERNS_CASES[0])

/* The namespaces to join: a user namespace mapping 0-65535 to 100000-165535 (its holder
 * started by sprout, which writes the maps), and a net namespace. */
typedef struct userns_holders {
  probe user;
  holder net;
  int user_fd, net_fd;
} userns_holders;

static void start_userns_holders(userns_holders *hs) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.uid_map = &BIG_MAP;
  a.uid_map_len = 1;
  a.gid_map = &BIG_MAP;
  a.gid_map_len = 1;
  sprout_namespace ns = {CLONE_NEWUSER, -1};
  a.namespaces = &ns;
  a.namespaces_len = 1;
  const char *args[] = {"wait", NULL};
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &hs->user, &err), &err);
  hs->user_fd = open_ns(hs->user.pid, "user");
  const char *opts[] = {"--net", NULL};
  hs->net = start_holder(opts);
  hs->net_fd = open_ns(hs->net.target, "net");
}

static void stop_userns_holders(userns_holders *hs) {
  finish_probe(&hs->user);
  stop_holder(&hs->net);
}

/* Sets a up for case c; ns must hold 3 entries. */
static void enter_case(sprout_exec_args *a, const userns_case *c, const userns_holders *hs,
                       sprout_namespace *ns) {
  size_t n = 0;
  if (c->new_user) ns[n++] = (sprout_namespace){CLONE_NEWUSER, -1};
  if (c->joined_user) ns[n++] = (sprout_namespace){CLONE_NEWUSER, hs->user_fd};
  if (c->new_pid) ns[n++] = (sprout_namespace){CLONE_NEWPID, -1};
  if (c->joined_net) ns[n++] = (sprout_namespace){CLONE_NEWNET, hs->net_fd};
  a->namespaces = ns;
  a->namespaces_len = n;
  a->uid_map = c->maps ? &BIG_MAP : NULL;
  a->uid_map_len = c->maps ? 1 : 0;
  a->gid_map = c->maps ? &BIG_MAP : NULL;
  a->gid_map_len = c->maps ? 1 : 0;
}

/* The process is in the user namespace the case puts it in. */
static void check_user_namespace(int pid, const userns_case *c, const userns_holders *hs) {
  const char *user = ns_of(pid, "user");
  if (c->joined_user)
    CHECK(!strcmp(user, ns_of(hs->user.pid, "user")), "%s: not in the joined user namespace", c->name);
  else if (c->new_user)
    CHECK(strcmp(user, ns_of(0, "user")), "%s: no new user namespace", c->name);
}

/* "soft hard" of a /proc/PID/limits line. */
static const char *proc_limit(int pid, const char *name) {
  static char both[80];
  char *limits = proc_file(pid, "limits");
  CHECK(limits != NULL, "cannot read /proc/%d/limits", pid);
  const char *line = strstr(limits, name);
  char soft[32] = "", hard[32] = "";
  CHECK(line && sscanf(line + strlen(name), "%31s %31s", soft, hard) == 2, "no '%s' in:\n%s", name,
        limits);
  snprintf(both, sizeof both, "%s %s", soft, hard);
  free(limits);
  return both;
}

/* Whether this process holds CAP_SYS_RESOURCE (some hosts leave it out of every bounding set). */
static int holds_cap_sys_resource(void) {
  char *status = read_file("/proc/self/status");
  CHECK(status != NULL, "cannot read /proc/self/status");
  unsigned long long effective = strtoull(field(status, "CapEff"), NULL, 16);
  free(status);
  return (effective >> 24) & 1;
}

/* Run by the test below as `test_namespaces --limits CASE` under strace. In user namespace
 * case CASE: limits that lower or raise only a soft limit apply; a hard limit above the
 * caller's is raised when the caller holds CAP_SYS_RESOURCE, and is otherwise refused at
 * stage RLIMITS (its place, which only the trace shows then, is checked by the test). */
static int limits_in_case(size_t index) {
  CHECK(index < NUSERNS_CASES, "no case %zu", index);
  const userns_case *c = &USERNS_CASES[index];
  struct rlimit files = {64, 128};
  CHECK(setrlimit(RLIMIT_NOFILE, &files) == 0, "setrlimit: %s", strerror(errno));
  userns_holders hs;
  start_userns_holders(&hs);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace ns[3];
  enter_case(&a, c, &hs, ns);
  sprout_rlimit limits[] = {{.resource = RLIMIT_CORE, .soft = 0, .hard = 0},
                            {.resource = RLIMIT_NOFILE, .soft = 100, .hard = 128}};
  a.limits = limits;
  a.limits_len = 2;
  const char *args[] = {"wait", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  check_user_namespace(p.pid, c, &hs);
  const char *got = proc_limit(p.pid, "Max open files");
  CHECK(!strcmp(got, "100 128"), "%s: open files %s", c->name, got);
  got = proc_limit(p.pid, "Max core file size");
  CHECK(!strcmp(got, "0 0"), "%s: core file size %s", c->name, got);
  finish_probe(&p);

  limits[1].hard = 256;
  int rc = start_probe(&a, args, &p, &err);
  if (holds_cap_sys_resource()) {
    CHECK(rc == 0, "%s: %d (%s)", c->name, rc, err.message);
    check_user_namespace(p.pid, c, &hs);
    got = proc_limit(p.pid, "Max open files");
    CHECK(!strcmp(got, "100 256"), "%s: open files %s", c->name, got);
    finish_probe(&p);
  } else {
    CHECK(rc == -EPERM && err.stage == SPROUT_STAGE_RLIMITS &&
              strstr(err.message, "limits[1] RLIMIT_NOFILE soft 100 hard 256"),
          "%s: %d (%s)", c->name, rc, err.message);
  }
  CHECK(getrlimit(RLIMIT_NOFILE, &files) == 0 && files.rlim_cur == 64 && files.rlim_max == 128,
        "%s: the caller's own limit changed", c->name);
  stop_userns_holders(&hs);
  return 0;
}

static int has_pid(const int *pids, int n, int pid) {
  for (int i = 0; i < n; i++)
    if (pids[i] == pid) return 1;
  return 0;
}

/* Checks a `strace -f` trace of limits_in_case: each prlimit64 that raises the hard limit to
 * 256 is made by the parent on the child (prlimit64(PID, ...)), or by the child on itself
 * while it is still in the caller's user namespace: before its own setns or unshare of a user
 * namespace, and not in a process that clone created in a new one. Returns how many such
 * calls there were. */
static int check_raises_in_trace(char *trace, const char *name) {
  enum { MAX = 4096 };
  static char *lines[MAX];
  int n = 0;
  for (char *line = trace; line && *line && n < MAX;) {
    lines[n++] = line;
    line = strchr(line, '\n');
    if (line) *line++ = 0;
  }
  /* Pass 1: the children of a clone3 with CLONE_NEWUSER. The child's pid is the result, on
   * the clone3 line or on the "resumed" line that ends it, after the child's own lines. */
  int born[MAX / 4], nborn = 0, pending[MAX / 4], newuser[MAX / 4], npending = 0;
  for (int i = 0; i < n; i++) {
    int pid = atoi(lines[i]);
    const char *result = strstr(lines[i], ") = ");
    if (strstr(lines[i], "clone3(") && npending < MAX / 4) {
      pending[npending] = pid;
      newuser[npending++] = strstr(lines[i], "CLONE_NEWUSER") != NULL;
    }
    if (result && (strstr(lines[i], "clone3(") || strstr(lines[i], "<... clone3 resumed>")))
      for (int j = npending - 1; j >= 0; j--) {
        if (pending[j] != pid) continue;
        if (newuser[j] && nborn < MAX / 4) born[nborn++] = atoi(result + 4);
        pending[j] = -1;
        break;
      }
  }
  /* Pass 2: the order of each process's own calls. */
  int entered[MAX / 4], nentered = 0, raises = 0;
  for (int i = 0; i < n; i++) {
    const char *line = lines[i];
    int pid = atoi(line);
    if ((strstr(line, " setns(") || strstr(line, " unshare(")) && strstr(line, "CLONE_NEWUSER") &&
        nentered < MAX / 4)
      entered[nentered++] = pid;
    if (!strstr(line, " prlimit64(") || !strstr(line, "rlim_max=256")) continue;
    raises++;
    if (!strstr(line, " prlimit64(0,")) continue; /* on another process: the parent's */
    CHECK(!has_pid(entered, nentered, pid), "%s: %d raised its hard limit in the user namespace it "
          "had entered:\n%s", name, pid, line);
    CHECK(!has_pid(born, nborn, pid), "%s: %d raised its hard limit in the user namespace clone "
          "created it in:\n%s", name, pid, line);
  }
  return raises;
}

/* Raising a hard limit needs CAP_SYS_RESOURCE in the initial user namespace, which a process
 * in another has not: the child raises it before it enters a user namespace, or, when clone
 * creates one along with a new PID namespace, the parent raises it on the child. Where the
 * caller has no CAP_SYS_RESOURCE (this host drops it from every bounding set) the raise is
 * refused wherever it is made: the trace still shows where it was. */
NS_TEST(a_hard_limit_is_raised_before_the_user_namespace_is_entered) {
  need_root();
  char self[64];
  snprintf(self, sizeof self, "/proc/%d/exe", getpid());
  for (size_t i = 0; i < NUSERNS_CASES; i++) {
    const userns_case *c = &USERNS_CASES[i];
    char index[16], log_path[] = "/tmp/sprout-test-strace-XXXXXX";
    snprintf(index, sizeof index, "%zu", i);
    int log_fd = mkstemp(log_path);
    CHECK(log_fd >= 0, "mkstemp: %s", strerror(errno));
    close(log_fd);
    int tracer = fork();
    CHECK(tracer >= 0, "fork: %s", strerror(errno));
    if (tracer == 0) {
      const char *argv[] = {"strace", "-f", "-qq", "-o", log_path, "-e",
                            "trace=prlimit64,setns,unshare,clone3", "-e", "signal=none", self,
                            "--limits", index, NULL};
      execvp("strace", (char *const *)argv);
      _exit(127);
    }
    int status;
    CHECK(waitpid(tracer, &status, 0) == tracer, "waitpid: %s", strerror(errno));
    char *trace = read_file(log_path);
    unlink(log_path);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 127) SKIP("strace is not installed");
    CHECK(trace != NULL, "no trace");
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: the traced spawns failed (%#x)",
          c->name, status);
    int raises = check_raises_in_trace(trace, c->name);
    CHECK(raises >= 1, "%s: no raise of the hard limit in the trace", c->name);
    free(trace);
  }
}

/* tty_nr of /proc/PID/stat for the terminal open on fd. */
static int tty_nr_of(int fd) {
  struct stat st;
  CHECK(fstat(fd, &st) == 0, "fstat: %s", strerror(errno));
  unsigned maj = major(st.st_rdev), min = minor(st.st_rdev);
  return (int)((min & 0xffu) | (maj << 8) | ((min & ~0xffu) << 12));
}

/* The process leads its own session, whose controlling terminal is the one open on fd. */
static void check_owns_terminal(int pid, int fd, const char *name) {
  char *stat = proc_file(pid, "stat");
  const char *after = stat ? strrchr(stat, ')') : NULL;
  int pgrp = 0, session = 0, tty_nr = 0;
  CHECK(after && sscanf(after + 2, "%*c %*d %d %d %d", &pgrp, &session, &tty_nr) == 3,
        "%s: /proc/%d/stat: %s", name, pid, stat ? stat : "?");
  CHECK(session == pid && pgrp == pid, "%s: session %d, group %d (pid %d)", name, session, pgrp, pid);
  CHECK(tty_nr == tty_nr_of(fd), "%s: controlling terminal %#x, not %#x", name, tty_nr, tty_nr_of(fd));
  free(stat);
}

/* Reads the master until `needle` shows up (at most 10 s, scaled); returns what was read. */
static const char *read_terminal_until(int master, const char *needle) {
  static char buf[8192];
  size_t len = 0;
  buf[0] = 0;
  alarm(test_seconds(10));
  while (!strstr(buf, needle) && len + 1 < sizeof buf) {
    ssize_t n = read(master, buf + len, sizeof buf - len - 1);
    CHECK(n > 0, "reading the terminal: %s; got:\n%s", n < 0 ? strerror(errno) : "EOF", buf);
    buf[len += (size_t)n] = 0;
  }
  alarm(test_seconds(TEST_TIMEOUT_SECONDS));
  return buf;
}

/* A fresh pty on stdio with credentials: the process gets it as its controlling terminal, and
 * it is handed to the process's uid as seen outside (100000: uid 0 inside a namespace that maps
 * 0 to 100000, or uid 100000 itself without one), so that the process can reopen it. */
NS_TEST(a_terminal_is_handed_to_the_credentials_uid_whatever_user_namespace) {
  need_root();
  userns_holders hs;
  start_userns_holders(&hs);
  for (size_t i = 0; i < NUSERNS_CASES; i++) {
    const userns_case *c = &USERNS_CASES[i];
    if (c->new_user && !c->maps) continue; /* no id to give: credentials cannot apply */
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    sprout_namespace ns[3];
    enter_case(&a, c, &hs, ns);
    unsigned uid = c->new_user || c->joined_user ? 0 : 100000;
    sprout_credentials creds = {uid, uid, NULL, 0};
    a.credentials = &creds;
    int m, s;
    CHECK(sprout_openpty(&m, &s, 24, 80) == 0, "sprout_openpty");
    const char *argv[] = {probe_path(), "reopen", "say", "ready", "pause", NULL};
    a.argv = argv;
    int32_t fds[3] = {s, s, s};
    sprout_process proc;
    sprout_error err;
    int rc = sprout_exec_async(&a, fds, 3, &proc, &err);
    CHECK(rc == 0, "%s: %d (%s)", c->name, rc, err.message);
    const char *out = read_terminal_until(m, "ready");
    CHECK(strstr(out, "reopen=ok"), "%s: the process cannot reopen its terminal:\n%s", c->name, out);
    struct stat st;
    CHECK(fstat(s, &st) == 0 && st.st_uid == 100000, "%s: the terminal belongs to uid %u", c->name,
          (unsigned)st.st_uid);
    check_owns_terminal(proc.pid, s, c->name);
    check_user_namespace(proc.pid, c, &hs);
    CHECK(sprout_signal(proc.pid, SIGKILL) == 0, "sprout_signal");
    CHECK_OK(sprout_wait(proc.pid, 10000, NULL, &err), &err);
    sprout_tty_release(proc.tty);
    close(m);
    close(s);
  }
  stop_userns_holders(&hs);
}

/* A terminal open write-only becomes a controlling terminal only for a holder of CAP_SYS_ADMIN
 * in the initial user namespace: the process takes it before it enters its user namespace.
 * The one case it cannot: clone creates the user namespace along with a new PID namespace
 * (which it must own), so the process never has that privilege; the error says so. */
NS_TEST(a_write_only_terminal_is_taken_before_the_user_namespace_is_entered) {
  need_root();
  userns_holders hs;
  start_userns_holders(&hs);
  for (size_t i = 0; i < NUSERNS_CASES; i++) {
    const userns_case *c = &USERNS_CASES[i];
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    sprout_namespace ns[3];
    enter_case(&a, c, &hs, ns);
    int m, s;
    CHECK(sprout_openpty(&m, &s, 24, 80) == 0, "sprout_openpty");
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", s);
    int w = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC);
    CHECK(w >= 0, "reopening the pty write-only: %s", strerror(errno));
    const char *argv[] = {probe_path(), "say", "ready", "pause", NULL};
    a.argv = argv;
    int32_t fds[3] = {w, w, w};
    sprout_process proc;
    sprout_error err;
    int rc = sprout_exec_async(&a, fds, 3, &proc, &err);
    if (c->new_user && c->new_pid) {
      CHECK(rc == -EPERM && err.stage == SPROUT_STAGE_TTY, "%s: %d (%s)", c->name, rc, err.message);
      CHECK(strstr(err.message, "write-only") && strstr(err.message, "new PID namespace"),
            "%s: the message does not say why: %s", c->name, err.message);
    } else {
      CHECK(rc == 0, "%s: %d (%s)", c->name, rc, err.message);
      read_terminal_until(m, "ready");
      check_owns_terminal(proc.pid, s, c->name);
      check_user_namespace(proc.pid, c, &hs);
      CHECK(sprout_signal(proc.pid, SIGKILL) == 0, "sprout_signal");
      CHECK_OK(sprout_wait(proc.pid, 10000, NULL, &err), &err);
      sprout_tty_release(proc.tty);
    }
    close(w);
    close(m);
    close(s);
  }
  stop_userns_holders(&hs);
}

/* ---- cgroups ---- */

/* The cgroup2 hierarchy, found in /proc/self/mountinfo by need_cgroup2. */
static char cgroup2_mount_point[PATH_MAX], cgroup2_mount_root[PATH_MAX];
/* The last cgroup make_cgroup made: its path, and its line in /proc/PID/cgroup. */
static char cgroup_path[2 * PATH_MAX], cgroup_line[2 * PATH_MAX];

/* A new, uniquely named cgroup2 directory; returns an fd on it. */
static int make_cgroup(void) {
  static int serial;
  char name[64];
  snprintf(name, sizeof name, "sprout-test-%d-%d", getpid(), serial++);
  snprintf(cgroup_path, sizeof cgroup_path, "%s/%s", cgroup2_mount_point, name);
  snprintf(cgroup_line, sizeof cgroup_line, "0::%s/%s",
           strcmp(cgroup2_mount_root, "/") ? cgroup2_mount_root : "", name);
  const char *path = cgroup_path;
  CHECK(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
  /* A janitor removes it once this test process is gone, however it ends (CHECK exits at
   * once): it waits for the end of a pipe only this process can write to. It leaves the
   * test's process group, which the harness kills when the test ends. */
  int pipe_fds[2];
  CHECK(pipe2(pipe_fds, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
  int janitor = fork();
  CHECK(janitor >= 0, "fork: %s", strerror(errno));
  if (janitor == 0) {
    setpgid(0, 0);
    close(pipe_fds[1]);
    char byte;
    while (read(pipe_fds[0], &byte, 1) != 0 && errno == EINTR) {
    }
    for (int tries = 0; tries < 500 && rmdir(path) != 0 && errno == EBUSY; tries++) usleep(10000);
    _exit(0);
  }
  close(pipe_fds[0]);
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK(fd >= 0, "open %s: %s", path, strerror(errno));
  return fd;
}

static void remove_cgroup(int fd) {
  close(fd);
  CHECK(rmdir(cgroup_path) == 0, "rmdir %s: %s", cgroup_path, strerror(errno));
}

static void need_cgroup2(void) {
  need_root();
  if (!cgroup2_mount(cgroup2_mount_point, sizeof cgroup2_mount_point, cgroup2_mount_root,
                     sizeof cgroup2_mount_root))
    SKIP("no cgroup2 mount in /proc/self/mountinfo");
}

/* Makes system call `nr` fail with `errno_` in this (test) process and its children. */
static void refuse_syscall(long nr, int errno_) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)errno_),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
            prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &prog) == 0,
        "seccomp: %s", strerror(errno));
}

/* Makes clone3 fail with ENOSYS in this (test) process, as on kernels before 5.3 or under a
 * seccomp profile that hides it: sprout falls back to clone and makes up for what it lacks. */
static void hide_clone3(void) {
  refuse_syscall(SYS_clone3, ENOSYS);
  CHECK(syscall(SYS_clone3, NULL, 0) < 0 && errno == ENOSYS, "clone3 is not hidden");
}

static void check_cgroup_placement(int legacy) {
  need_cgroup2();
  if (legacy) hide_clone3();
  int cg = make_cgroup();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.cgroup_fd = cg;
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, NULL, 0, &p, &report, &err), &err);
  char *cgroups = proc_file(p.pid, "cgroup");
  CHECK(cgroups && has_line(cgroups, cgroup_line), "not in %s:\n%s", cgroup_line, cgroups);
  finish_ok(&p, report);
  remove_cgroup(cg);
}

NS_TEST(cgroup_placement) { check_cgroup_placement(0); }
NS_TEST(cgroup_placement_without_clone3) { check_cgroup_placement(1); }

/* A new cgroup namespace with a cgroup_fd is rooted at that cgroup: "/" inside. */
static void check_cgroup_namespace_root(int legacy) {
  need_cgroup2();
  if (legacy) hide_clone3();
  int cg = make_cgroup();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.cgroup_fd = cg;
  sprout_namespace ns = {CLONE_NEWCGROUP, -1};
  a.namespaces = &ns;
  a.namespaces_len = 1;
  const char *args[] = {"cat", "/proc/self/cgroup", "report", "wait", NULL};
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(&a, args, &p, &err), &err);
  char *report = read_report(&p);
  CHECK(has_line(report, "cat=0::/"), "inside, the cgroup is not the root:\n%s", report);
  char *cgroups = proc_file(p.pid, "cgroup");
  CHECK(cgroups && has_line(cgroups, cgroup_line), "not in %s:\n%s", cgroup_line, cgroups);
  finish_ok(&p, report);
  remove_cgroup(cg);
}

NS_TEST(new_cgroup_namespace_is_rooted_at_the_cgroup) { check_cgroup_namespace_root(0); }
NS_TEST(new_cgroup_namespace_is_rooted_at_the_cgroup_without_clone3) { check_cgroup_namespace_root(1); }

/* The map wait with the C library's clone (CLONE_CHILD_CLEARTID through its ctid). */
NS_TEST(new_user_namespace_with_maps_without_clone3) {
  need_root();
  hide_clone3();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.uid_map = &BIG_MAP;
  a.uid_map_len = 1;
  sprout_namespace ns[] = {{CLONE_NEWUSER, -1}, {CLONE_NEWPID, -1}};
  probe p;
  char *report;
  sprout_error err;
  CHECK_OK(start_in(&a, ns, 2, &p, &report, &err), &err);
  CHECK(!strcmp(squeezed_line(p.pid, "uid_map"), "0 100000 65536"), "uid_map: %s",
        squeezed_line(p.pid, "uid_map"));
  CHECK(!strcmp(field(report, "pid"), "1"), "pid inside = %s", field(report, "pid"));
  finish_ok(&p, report);
}

NS_TEST(new_time_namespace_without_clone3) {
  need_root();
  hide_clone3();
  check_new_kind(CLONE_NEWTIME);
}

/* A cgroup removed after it was opened: the kernel refuses, stage CGROUP, naming the fd. */
static void check_dead_cgroup(int legacy) {
  need_cgroup2();
  if (legacy) hide_clone3();
  int cg = make_cgroup();
  CHECK(rmdir(cgroup_path) == 0, "rmdir %s: %s", cgroup_path, strerror(errno));
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.cgroup_fd = cg;
  const char *argv[] = {probe_path(), NULL};
  a.argv = argv;
  sprout_process proc;
  sprout_error err;
  int rc = sprout_exec_async(&a, NULL, 0, &proc, &err);
  CHECK(rc < 0 && err.stage == SPROUT_STAGE_CGROUP && -rc == err.code, "rc %d stage %u: %s", rc,
        err.stage, err.message);
  char want[32];
  snprintf(want, sizeof want, "cgroup_fd %d", cg);
  CHECK(strstr(err.message, want), "message does not name %s: %s", want, err.message);
  CHECK(waitpid(-1, NULL, WNOHANG) <= 0, "a child was left behind");
  close(cg);
}

NS_TEST(dead_cgroup_is_a_cgroup_stage_error) { check_dead_cgroup(0); }
NS_TEST(dead_cgroup_is_a_cgroup_stage_error_without_clone3) { check_dead_cgroup(1); }

/* ---- refusals ---- */

static void expect_refusal(sprout_exec_args *a, int code, unsigned stage, const char *mention) {
  const char *argv[] = {probe_path(), NULL};
  a->argv = argv;
  sprout_process proc;
  sprout_error err;
  int rc = sprout_exec_async(a, NULL, 0, &proc, &err);
  CHECK(rc == -code && err.code == code && err.stage == stage,
        "want -%d stage %u, got %d stage %u: %s", code, stage, rc, err.stage, err.message);
  CHECK(strstr(err.message, mention), "message does not mention \"%s\": %s", mention, err.message);
  CHECK(waitpid(-1, NULL, WNOHANG) <= 0, "a child was left behind");
}

NS_TEST(refuses_a_bad_namespace_type) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace bad[] = {{CLONE_NEWNET, -1}, {0x1234, -1}};
  a.namespaces = bad;
  a.namespaces_len = 2;
  expect_refusal(&a, EINVAL, SPROUT_STAGE_ARGS, "namespaces[1].type = 0x1234");
  sprout_namespace two = {CLONE_NEWNET | CLONE_NEWUTS, -1};
  a.namespaces = &two;
  a.namespaces_len = 1;
  expect_refusal(&a, EINVAL, SPROUT_STAGE_ARGS, "namespaces[0].type");
}

NS_TEST(refuses_an_fd_of_another_namespace_type) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace ns = {CLONE_NEWUTS, open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)};
  a.namespaces = &ns;
  a.namespaces_len = 1;
  expect_refusal(&a, EINVAL, SPROUT_STAGE_ARGS, "is a net namespace, not uts");
  ns.fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
  expect_refusal(&a, EINVAL, SPROUT_STAGE_ARGS, "is not a namespace file");
  ns.fd = 999;
  expect_refusal(&a, EBADF, SPROUT_STAGE_ARGS, "namespaces[0].fd = 999");
}

NS_TEST(refuses_a_duplicate_type) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace ns[] = {{CLONE_NEWNET, -1},
                           {CLONE_NEWUTS, -1},
                           {CLONE_NEWNET, open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC)}};
  a.namespaces = ns;
  a.namespaces_len = 3;
  expect_refusal(&a, EINVAL, SPROUT_STAGE_ARGS, "namespaces[2]: a second net namespace");
}

NS_TEST(refuses_id_maps_without_a_new_user_namespace) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.gid_map = &BIG_MAP;
  a.gid_map_len = 1;
  expect_refusal(&a, EINVAL, SPROUT_STAGE_ARGS, "gid_map");
}

NS_TEST(refuses_a_cgroup_fd_that_is_not_cgroup2) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.cgroup_fd = open("/tmp", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  expect_refusal(&a, EINVAL, SPROUT_STAGE_ARGS, "is not a cgroup2 directory");
  a.cgroup_fd = 998;
  expect_refusal(&a, EBADF, SPROUT_STAGE_ARGS, "cgroup_fd 998");
}

NS_TEST(a_map_the_kernel_refuses_names_its_line) {
  need_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace ns = {CLONE_NEWUSER, -1};
  a.namespaces = &ns;
  a.namespaces_len = 1;
  /* 4294967295 is no id at all. */
  sprout_id_map no_id[] = {{0, 100000, 1000}, {1000, 4294967295u, 1}};
  a.uid_map = no_id;
  a.uid_map_len = 2;
  expect_refusal(&a, EINVAL, SPROUT_STAGE_NAMESPACES, "uid_map[1] = 1000 4294967295 1");
  /* Overlapping inside ranges. */
  sprout_id_map overlapping[] = {{0, 100000, 1000}, {500, 300000, 10}};
  a.uid_map = &BIG_MAP;
  a.uid_map_len = 1;
  a.gid_map = overlapping;
  a.gid_map_len = 2;
  expect_refusal(&a, EINVAL, SPROUT_STAGE_NAMESPACES, "gid_map[1] = 500 300000 10");
  /* More than its own id, for an unprivileged caller. */
  become_unprivileged();
  sprout_id_map more[] = {{0, 100000, 1}, {1, 100001, 1}};
  a.uid_map = more;
  a.uid_map_len = 2;
  a.gid_map = NULL;
  a.gid_map_len = 0;
  expect_refusal(&a, EPERM, SPROUT_STAGE_NAMESPACES, "uid_map[1] = 1 100001 1: without CAP_SETUID");
}

/* What the kernel refuses to an unprivileged caller, at each place it is done. */
NS_TEST(kernel_refusals_name_the_namespace) {
  need_root();
  const char *opts[] = {"--net", "--pid", NULL};
  holder h = start_holder(opts);
  int net = open_ns(h.target, "net"), pid = open_ns(h.target, "pid");
  stop_holder(&h); /* the fds keep the namespaces; an unprivileged caller could not kill it */
  become_unprivileged();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  /* setns in the child */
  sprout_namespace join_net = {CLONE_NEWNET, net};
  a.namespaces = &join_net;
  a.namespaces_len = 1;
  char want[64];
  snprintf(want, sizeof want, "namespaces[0]: joining net from fd %d", net);
  expect_refusal(&a, EPERM, SPROUT_STAGE_NAMESPACES, want);
  /* setns of the calling thread (PID) */
  sprout_namespace join_pid = {CLONE_NEWPID, pid};
  a.namespaces = &join_pid;
  snprintf(want, sizeof want, "namespaces[0]: joining pid from fd %d", pid);
  expect_refusal(&a, EPERM, SPROUT_STAGE_NAMESPACES, want);
  /* clone itself */
  sprout_namespace new_net = {CLONE_NEWNET, -1};
  a.namespaces = &new_net;
  expect_refusal(&a, EPERM, SPROUT_STAGE_NAMESPACES, "creating namespaces net");
}

/* A new time namespace refused to an unprivileged caller is a refusal of that request, not of
 * clone3: the error names the namespace and clone, and later spawns keep clone3 and what only
 * it has (CLONE_INTO_CGROUP here), rather than the legacy clone, which a filter then refuses. */
NS_TEST(a_refused_namespace_does_not_make_later_spawns_give_up_clone3) {
  need_cgroup2();
  int cg = make_cgroup();
  char path[sizeof cgroup_path + 32];
  /* The caller in one cgroup, the child started in another: an unprivileged caller may move a
   * process between them when it may write cgroup.procs of both the target and the common
   * ancestor (cgroup v2 delegation). */
  const char *const subdirs[] = {"caller", "child"};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", cgroup_path, subdirs[i]);
    CHECK(mkdir(path, 0755) == 0, "mkdir %s: %s", path, strerror(errno));
  }
  const char *const writable[] = {"cgroup.procs", "child/cgroup.procs"};
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", cgroup_path, writable[i]);
    CHECK(chown(path, 100000, 100000) == 0, "chown %s: %s", path, strerror(errno));
  }
  snprintf(path, sizeof path, "%s/child", cgroup_path);
  int child_cg = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK(child_cg >= 0, "open %s: %s", path, strerror(errno));

  int worker = fork();
  CHECK(worker >= 0, "fork: %s", strerror(errno));
  if (worker == 0) {
    snprintf(path, sizeof path, "%s/caller/cgroup.procs", cgroup_path);
    int procs = open(path, O_WRONLY | O_CLOEXEC);
    CHECK(procs >= 0 && write(procs, "0", 1) == 1, "moving into %s: %s", path, strerror(errno));
    close(procs);
    become_unprivileged();
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    sprout_namespace time_ns = {CLONE_NEWTIME, -1};
    a.namespaces = &time_ns;
    a.namespaces_len = 1;
    expect_refusal(&a, EPERM, SPROUT_STAGE_NAMESPACES, "creating namespaces time (clone)");
    refuse_syscall(SYS_clone, EXDEV);
    sprout_exec_args_init(&a);
    a.cgroup_fd = child_cg;
    probe p;
    char *report;
    sprout_error err;
    CHECK_OK(start_in(&a, NULL, 0, &p, &report, &err), &err);
    char *cgroups = proc_file(p.pid, "cgroup");
    char want[sizeof cgroup_line + 8];
    snprintf(want, sizeof want, "%s/child", cgroup_line);
    CHECK(cgroups && has_line(cgroups, want), "not in %s:\n%s", want, cgroups);
    finish_ok(&p, report);
    _exit(0);
  }
  int status;
  CHECK(waitpid(worker, &status, 0) == worker, "waitpid: %s", strerror(errno));
  close(child_cg);
  for (int i = 0; i < 2; i++) {
    snprintf(path, sizeof path, "%s/%s", cgroup_path, subdirs[i]);
    for (int tries = 0; tries < 100 && rmdir(path) != 0 && errno == EBUSY; tries++) usleep(10000);
  }
  remove_cgroup(cg);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the unprivileged caller failed: %#x", status);
}

NS_TEST(refuses_a_joined_time_namespace_with_id_maps) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace ns[] = {{CLONE_NEWUSER, -1},
                           {CLONE_NEWTIME, open("/proc/self/ns/time", O_RDONLY | O_CLOEXEC)}};
  a.namespaces = ns;
  a.namespaces_len = 2;
  a.uid_map = &BIG_MAP;
  a.uid_map_len = 1;
  expect_refusal(&a, EINVAL, SPROUT_STAGE_ARGS, "time namespace");
}

int main(int argc, char **argv) {
  if (argc == 3 && !strcmp(argv[1], "--switch-back")) return switch_back_under_injected_enomem(atoi(argv[2]));
  if (argc == 3 && !strcmp(argv[1], "--limits")) return limits_in_case((size_t)atoi(argv[2]));
  RUN(new_mnt);
  RUN(new_uts);
  RUN(new_ipc);
  RUN(new_net);
  RUN(new_pid);
  RUN(new_user);
  RUN(new_cgroup);
  RUN(new_time);
  RUN(joined_mnt);
  RUN(joined_uts);
  RUN(joined_ipc);
  RUN(joined_net);
  RUN(joined_pid);
  RUN(joined_user);
  RUN(joined_cgroup);
  RUN(joined_time);
  RUN(all_new_at_once);
  RUN(all_joined_at_once);
  RUN(unprivileged_caller_joins_the_user_namespace_first);
  RUN(new_pid_is_pid_1_inside_and_host_pid_outside);
  RUN(joined_pid_gets_the_next_pid_inside_and_is_waited_and_signalled_outside);
  RUN(joining_a_pid_namespace_never_moves_other_threads_children);
  RUN(a_failed_switch_back_from_a_joined_pid_namespace_is_retried);
  RUN(a_switch_back_whose_saved_fd_is_gone_returns_to_the_threads_own_namespace);
  RUN(parent_death_signal_in_another_pid_namespace);
  RUN(new_user_namespace_with_a_65536_id_map);
  RUN(credentials_are_ids_inside_the_new_user_namespace);
  RUN(unprivileged_caller_maps_its_own_id_to_root_inside);
  RUN(rootless_credentials_keep_a_supplementary_group_setgroups_cannot_drop);
  RUN(new_namespaces_are_owned_by_a_new_user_namespace);
  RUN(joined_user_namespace_owns_the_new_ones);
  RUN(new_user_namespace_with_a_joined_net_namespace);
  RUN(joining_the_callers_own_user_namespace_is_staying);
  RUN(a_hard_limit_is_raised_before_the_user_namespace_is_entered);
  RUN(a_terminal_is_handed_to_the_credentials_uid_whatever_user_namespace);
  RUN(a_write_only_terminal_is_taken_before_the_user_namespace_is_entered);
  RUN(cgroup_placement);
  RUN(cgroup_placement_without_clone3);
  RUN(new_cgroup_namespace_is_rooted_at_the_cgroup);
  RUN(new_cgroup_namespace_is_rooted_at_the_cgroup_without_clone3);
  RUN(new_user_namespace_with_maps_without_clone3);
  RUN(new_time_namespace_without_clone3);
  RUN(dead_cgroup_is_a_cgroup_stage_error);
  RUN(dead_cgroup_is_a_cgroup_stage_error_without_clone3);
  RUN(refuses_a_bad_namespace_type);
  RUN(refuses_an_fd_of_another_namespace_type);
  RUN(refuses_a_duplicate_type);
  RUN(refuses_id_maps_without_a_new_user_namespace);
  RUN(refuses_a_cgroup_fd_that_is_not_cgroup2);
  RUN(a_map_the_kernel_refuses_names_its_line);
  RUN(kernel_refusals_name_the_namespace);
  RUN(a_refused_namespace_does_not_make_later_spawns_give_up_clone3);
  RUN(refuses_a_joined_time_namespace_with_id_maps);
  return summary();
}
