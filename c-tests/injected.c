/*
 * injected: one spawn, for tests/injected.rs, which runs this program under strace with one
 * system call of the child made to fail (`-e inject=NAME:error=E:when=N`).
 *
 *   injected CONFIG [BURN_NAME BURN_COUNT]
 *
 * CONFIG picks the spawn (see the configs below): each makes the child take other steps.
 * Once it is set up, the program prints "waiting PID" and waits until a tracer attaches
 * (strace -p PID) and traces it (getcpu answers 42), so that strace counts only the calls
 * made from then on. strace counts calls per process, so an injection meant for the child's
 * Nth call of NAME would also hit this process's own Nth call: BURN_COUNT harmless calls of
 * BURN_NAME, made right after the attach, take that hit instead.
 *
 * Prints one line "outcome rc=RC code=CODE stage=STAGE message=MESSAGE" and, when the spawn
 * succeeded, checks that the process is exactly what was asked (its fds, signal state, ids,
 * capabilities, limits, umask, cwd, as its own report says); either way it checks that this
 * process's own state is unchanged and that it has no child left. Exits 0 when those checks
 * hold (whatever the outcome, which the Rust test judges), 1 otherwise; killed by SIGALRM
 * when the spawn hangs.
 */
#include "caller_state.h"
#include "core_util.h"

#include <grp.h>
#include <inttypes.h>
#include <linux/capability.h>
#include <sched.h>
#include <sys/ioctl.h>
#include <termios.h>

#ifndef CLONE_NEWTIME
#define CLONE_NEWTIME 0x80
#endif

#define BIT(n) (UINT64_C(1) << (n))

/* ---- burning this process's own calls ---------------------------------------------------- */

/* One harmless call of the system call `name` (it fails or changes nothing), or -1 when none
 * is known: the process then must not make that call itself during the spawn. */
static int harmless_call(const char *name) {
  static const struct {
    const char *name;
    long nr;
    long args[4];
  } CALLS[] = {
      {"rt_sigaction", SYS_rt_sigaction, {-1, 0, 0, 8}},
      {"rt_sigprocmask", SYS_rt_sigprocmask, {SIG_BLOCK, 0, 0, 8}},
      {"fcntl", SYS_fcntl, {-1, F_GETFD, 0, 0}},
      {"dup3", SYS_dup3, {-1, -1, 0, 0}},
      {"close", SYS_close, {-1, 0, 0, 0}},
      {"close_range", SYS_close_range, {~0L, 0, 0, 0}},
      {"openat", SYS_openat, {AT_FDCWD, 0, O_RDONLY, 0}},
      {"getdents64", SYS_getdents64, {-1, 0, 0, 0}},
      {"lseek", SYS_lseek, {-1, 0, 0, 0}},
      {"write", SYS_write, {-1, 0, 0, 0}},
      {"fstat", SYS_fstat, {-1, 0, 0, 0}},
      {"fchown", SYS_fchown, {-1, 0, 0, 0}},
      {"ioctl", SYS_ioctl, {-1, 0, 0, 0}},
      {"prlimit64", SYS_prlimit64, {0, 999, 0, 0}},
      {"chdir", SYS_chdir, {0, 0, 0, 0}},
      {"prctl", SYS_prctl, {-1, 0, 0, 0}},
      {"seccomp", SYS_seccomp, {-1, 0, 0, 0}},
      {"capset", SYS_capset, {0, 0, 0, 0}},
      {"getgroups", SYS_getgroups, {0, 0, 0, 0}},
      {"setns", SYS_setns, {-1, 0, 0, 0}},
      {"unshare", SYS_unshare, {0, 0, 0, 0}},
      {"getpid", SYS_getpid, {0, 0, 0, 0}},
      {"getppid", SYS_getppid, {0, 0, 0, 0}},
      {"futex", SYS_futex, {0, -1, 0, 0}},
      {"execve", SYS_execve, {0, 0, 0, 0}},
      {"execveat", SYS_execveat, {-1, 0, 0, 0}},
      {"kill", SYS_kill, {-999999, 0, 0, 0}},
      {"setpgid", SYS_setpgid, {-1, 0, 0, 0}},
      {"read", SYS_read, {-1, 0, 0, 0}},
  };
  for (size_t i = 0; i < sizeof CALLS / sizeof CALLS[0]; i++)
    if (!strcmp(CALLS[i].name, name)) {
      syscall(CALLS[i].nr, CALLS[i].args[0], CALLS[i].args[1], CALLS[i].args[2], CALLS[i].args[3]);
      return 0;
    }
  return -1;
}

/* ---- the spawns ---------------------------------------------------------------------------- */

typedef struct config {
  sprout_exec_args a;
  int32_t fds[8];
  size_t fds_len;
  const char *argv[8];
  const char *envv[4];
  sprout_credentials creds;
  uint32_t groups[2];
  sprout_capabilities caps;
  sprout_rlimit limits[2];
  sprout_namespace ns[4];
  sprout_id_map map;
  struct sock_filter filter[1];
  sprout_sched sched;
  uint64_t cpus[16];
  int report_from;   /* read end of the probe's stdout */
  int own_terminal;  /* the caller's own controlling terminal is the probe's */
  char path_dir[PATH_MAX];
} config;

static uint64_t status_hex(const char *status, const char *key) {
  const char *value = field(status, key);
  CHECK(value != NULL, "no %s in\n%s", key, status);
  return strtoull(value, NULL, 16);
}

static uint64_t own_bounding(void) {
  char *status = read_file("/proc/self/status");
  CHECK(status != NULL, "status");
  uint64_t bounding = status_hex(status, "CapBnd");
  free(status);
  return bounding;
}

/* The probe reports on a pipe at fd 1, and gets fds[3] and fds[4] from the layout. */
static void base(config *c) {
  sprout_exec_args_init(&c->a);
  c->argv[0] = probe_path();
  c->argv[1] = "report";
  c->a.argv = c->argv;
  int out[2];
  CHECK(pipe2(out, O_CLOEXEC) == 0, "pipe2");
  c->report_from = out[0];
  /* 0 and 2 at their own slots (fcntl), 1 from the pipe (dup3), 3 closed, 4 from 0 (parked
   * first, as its source is below its slot). */
  int32_t layout[] = {0, out[1], 2, -1, 0};
  memcpy(c->fds, layout, sizeof layout);
  c->fds_len = 5;
}

static void setup_full(config *c) {
  base(c);
  c->a.flags = SPROUT_EXEC_NO_NEW_PRIVS;
  c->a.working_directory = "/tmp";
  c->a.umask = 027;
  c->a.parent_death_signal = SIGKILL;
  c->groups[0] = 1000;
  c->groups[1] = 2000;
  c->creds = (sprout_credentials){.uid = 1000, .gid = 1000, .extra_gids = c->groups, .extra_gids_len = 2};
  c->a.credentials = &c->creds;
  uint64_t keep = BIT(CAP_NET_BIND_SERVICE);
  /* Two bits dropped at once; bits this caller lacks are asked about first. */
  c->caps = (sprout_capabilities){.effective = keep, .permitted = keep, .inheritable = keep,
                                  .ambient = keep,
                                  .bounding = own_bounding() & ~(BIT(CAP_SYS_MODULE) | BIT(CAP_SYS_BOOT))};
  c->a.capabilities = &c->caps;
  c->limits[0] = (sprout_rlimit){.resource = RLIMIT_CORE, .soft = 0, .hard = 0};
  c->limits[1] = (sprout_rlimit){.resource = RLIMIT_NOFILE, .soft = 256, .hard = 512};
  c->a.limits = c->limits;
  c->a.limits_len = 2;
  c->filter[0] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  c->a.seccomp_filter = c->filter;
  c->a.seccomp_filter_len = 1;
}

/* The filter without no_new_privs: before the credentials change. */
static void setup_early_seccomp(config *c) {
  setup_full(c);
  c->a.flags = 0;
  c->a.capabilities = NULL;
}

static void setup_tty(config *c) {
  base(c);
  int master, slave;
  CHECK(sprout_openpty(&master, &slave, 24, 80) == 0, "sprout_openpty");
  c->fds[0] = slave;
  c->fds[2] = slave;
  c->creds = (sprout_credentials){.uid = 1000, .gid = 1000};
  c->a.credentials = &c->creds;
}

/* The caller's own controlling terminal: a new foreground process group. */
static void setup_own_tty(config *c) {
  base(c);
  int master, slave;
  CHECK(sprout_openpty(&master, &slave, 24, 80) == 0, "sprout_openpty");
  CHECK(setsid() > 0 && ioctl(slave, TIOCSCTTY, 0) == 0, "taking a terminal: %s", strerror(errno));
  c->fds[0] = slave;
  c->fds[2] = slave;
  c->own_terminal = 1;
}

/* Joins (the caller's own uts namespace), then creates a user and an ipc namespace with
 * unshare, owned by the new user namespace. */
static void setup_join(config *c) {
  base(c);
  c->ns[0] = (sprout_namespace){CLONE_NEWUTS, open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC)};
  c->ns[1] = (sprout_namespace){CLONE_NEWUSER, -1};
  c->ns[2] = (sprout_namespace){CLONE_NEWIPC, -1};
  c->a.namespaces = c->ns;
  c->a.namespaces_len = 3;
}

/* A new user namespace with id maps: the child waits for them. */
static void setup_maps(config *c) {
  base(c);
  c->ns[0] = (sprout_namespace){CLONE_NEWUSER, -1};
  c->a.namespaces = c->ns;
  c->a.namespaces_len = 1;
  c->map = (sprout_id_map){0, 100000, 65536};
  c->a.uid_map = &c->map;
  c->a.uid_map_len = 1;
  c->a.gid_map = &c->map;
  c->a.gid_map_len = 1;
}

/* ... which the child creates itself after a join, saying READY first. */
static void setup_maps_after_join(config *c) {
  setup_maps(c);
  c->ns[1] = (sprout_namespace){CLONE_NEWUTS, open("/proc/self/ns/uts", O_RDONLY | O_CLOEXEC)};
  c->a.namespaces_len = 2;
}

/* A seccomp filter on this process: `nr` fails with errno_. */
static void refuse(long nr, int errno_) {
  struct sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, (unsigned)nr, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (unsigned)errno_),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  struct sock_fprog prog = {sizeof filter / sizeof filter[0], filter};
  CHECK(prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == 0 &&
            syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0, &prog) == 0,
        "seccomp: %s", strerror(errno));
}

/* The legacy clone (clone3 refused): the child moves itself into the cgroup and creates the
 * cgroup and time namespaces with unshare. */
static char cgroup_path[2 * PATH_MAX];
static void setup_legacy(config *c) {
  base(c);
  refuse(SYS_clone3, ENOSYS);
  char mount_point[PATH_MAX], root[PATH_MAX];
  CHECK(cgroup2_mount(mount_point, sizeof mount_point, root, sizeof root), "no cgroup2 mount");
  snprintf(cgroup_path, sizeof cgroup_path, "%s/sprout-injected-%d", mount_point, getpid());
  CHECK(mkdir(cgroup_path, 0755) == 0, "mkdir %s: %s", cgroup_path, strerror(errno));
  c->a.cgroup_fd = open(cgroup_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK(c->a.cgroup_fd >= 0, "open %s", cgroup_path);
  c->ns[0] = (sprout_namespace){CLONE_NEWCGROUP, -1};
  c->ns[1] = (sprout_namespace){CLONE_NEWTIME, -1};
  c->a.namespaces = c->ns;
  c->a.namespaces_len = 2;
}

/* close_range refused: the child closes what /proc/self/fd lists. */
static void setup_close_fallback(config *c) {
  for (int i = 0; i < 40; i++) CHECK(open("/dev/null", O_RDONLY) >= 0, "open");
  base(c);
  refuse(SYS_close_range, ENOSYS);
}

static void setup_exec_fd(config *c) {
  base(c);
  c->a.exec_fd = open(probe_path(), O_RDONLY | O_CLOEXEC);
}

/* A name searched in PATH: execve on each candidate. */
static void setup_path(config *c) {
  base(c);
  snprintf(c->path_dir, sizeof c->path_dir, "%s", probe_path());
  *strrchr(c->path_dir, '/') = 0;
  static char path[PATH_MAX + 64];
  snprintf(path, sizeof path, "PATH=/sprout-none-a:/sprout-none-b:%s", c->path_dir);
  c->envv[0] = path;
  c->a.envv = c->envv;
  c->argv[0] = strrchr(probe_path(), '/') + 1;
}

/* ABI 1.1's attributes: a new process group, a signal mask, oom_score_adj, the scheduling
 * policy, I/O priority and CPUs (the caller's own, so all granted), a personality, a new UTS
 * namespace's names, and a chroot to "/". */
static void setup_attributes(config *c) {
  base(c);
  c->a.flags2 = SPROUT_EXEC2_SETPGROUP | SPROUT_EXEC2_OOM_SCORE_ADJ | SPROUT_EXEC2_PERSONALITY;
  c->a.pgid = 0;
  c->a.sigmask = BIT(SIGUSR2 - 1);
  c->a.oom_score_adj = 500;
  c->sched = (sprout_sched){.policy = SCHED_BATCH, .nice = 5};
  c->a.sched = &c->sched;
  c->a.ioprio_class = 2; /* IOPRIO_CLASS_BE */
  c->a.ioprio_level = 6;
  cpu_set_t own;
  CHECK(sched_getaffinity(0, sizeof own, &own) == 0, "sched_getaffinity: %s", strerror(errno));
  for (int cpu = 0; cpu < CPU_SETSIZE && cpu < 64 * 16; cpu++)
    if (CPU_ISSET(cpu, &own)) c->cpus[cpu / 64] |= BIT(cpu % 64);
  c->a.cpu_set = c->cpus;
  c->a.cpu_set_len = 16;
  c->a.personality = 0x0040000; /* PER_LINUX | ADDR_NO_RANDOMIZE */
  c->ns[0] = (sprout_namespace){CLONE_NEWUTS, -1};
  c->a.namespaces = c->ns;
  c->a.namespaces_len = 1;
  c->a.hostname = "injected";
  c->a.domainname = "sprout";
  c->a.root_directory = "/";
}

/* Issue 14's steps: a Landlock ruleset (handling only directory creation, which the probe
 * never does), a seccomp filter with a new listener (handed to the caller), and a paused
 * start (the caller takes the listener, then starts the process). */
static void setup_sandbox(config *c) {
  base(c);
  c->a.flags = SPROUT_EXEC_NO_NEW_PRIVS;
  c->a.flags2 = SPROUT_EXEC2_LANDLOCK | SPROUT_EXEC2_PAUSED;
  sprout_landlock_ruleset r = {0};
  r.size = sizeof r;
  r.handled_access_fs = SPROUT_LANDLOCK_ACCESS_FS_MAKE_DIR;
  sprout_error err;
  c->a.landlock_ruleset_fd = sprout_landlock_create_ruleset(&r, NULL, &err);
  CHECK(c->a.landlock_ruleset_fd >= 0, "sprout_landlock_create_ruleset: %s", err.message);
  c->filter[0] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  c->a.seccomp_filter = c->filter;
  c->a.seccomp_filter_len = 1;
  c->a.seccomp_flags = SECCOMP_FILTER_FLAG_NEW_LISTENER;
}

static const struct {
  const char *name;
  void (*setup)(config *c);
} CONFIGS[] = {
    {"full", setup_full},         {"early-seccomp", setup_early_seccomp},
    {"tty", setup_tty},           {"own-tty", setup_own_tty},
    {"join", setup_join},         {"maps", setup_maps},
    {"maps-after-join", setup_maps_after_join}, {"legacy", setup_legacy},
    {"close-fallback", setup_close_fallback},   {"exec-fd", setup_exec_fd},
    {"path", setup_path},         {"attributes", setup_attributes},
    {"sandbox", setup_sandbox},
};

/* ---- checking a process that started -------------------------------------------------------- */

/* The process is what `c` asked for, by its own report. */
static void check_process(const config *c, const char *report) {
  /* Exactly the fds of the layout (the probe lists fds before opening any). */
  int listed = 0;
  for (size_t slot = 0; slot < c->fds_len; slot++) {
    char prefix[32];
    snprintf(prefix, sizeof prefix, "fd=%zu ", slot);
    int present = count_lines(report, prefix);
    CHECK(present == (c->fds[slot] >= 0), "fd %zu is %s:\n%s", slot, present ? "open" : "closed", report);
    listed += present;
  }
  CHECK(count_lines(report, "fd=") == listed, "fds beyond the layout:\n%s", report);
  char mask[32];
  snprintf(mask, sizeof mask, "%016" PRIx64, c->a.sigmask);
  CHECK(!strcmp(field(report, "status=SigBlk"), mask) &&
            !strcmp(field(report, "status=SigIgn"), "0000000000000000") &&
            !strcmp(field(report, "status=SigCgt"), "0000000000000000"),
        "signal state:\n%s", report);
  char want[64];
  snprintf(want, sizeof want, "%04o", c->a.umask);
  CHECK(!strcmp(field(report, "umask"), want), "umask %s, not %s", field(report, "umask"), want);
  const char *cwd = c->a.working_directory ? c->a.working_directory : "/";
  CHECK(!strcmp(field(report, "cwd"), cwd), "cwd %s, not %s", field(report, "cwd"), cwd);
  if (c->a.credentials && !c->a.namespaces_len) {
    snprintf(want, sizeof want, "%u\t%u\t%u\t%u", c->creds.uid, c->creds.uid, c->creds.uid, c->creds.uid);
    CHECK(!strncmp(field(report, "status=Uid"), want, strlen(want)), "Uid %s", field(report, "status=Uid"));
  }
  if (c->a.capabilities) {
    CHECK(status_hex(report, "status=CapBnd") == c->caps.bounding, "CapBnd %s", field(report, "status=CapBnd"));
    CHECK(status_hex(report, "status=CapAmb") == c->caps.ambient, "CapAmb %s", field(report, "status=CapAmb"));
    CHECK(status_hex(report, "status=CapInh") == c->caps.inheritable, "CapInh %s", field(report, "status=CapInh"));
  }
  if (c->a.flags & SPROUT_EXEC_NO_NEW_PRIVS)
    CHECK(!strcmp(field(report, "status=NoNewPrivs"), "1"), "NoNewPrivs %s", field(report, "status=NoNewPrivs"));
  if (c->a.seccomp_filter_len)
    CHECK(!strcmp(field(report, "status=Seccomp"), "2"), "Seccomp %s", field(report, "status=Seccomp"));
  for (size_t i = 0; i < c->a.limits_len; i++) {
    snprintf(want, sizeof want, "%d %llu %llu", c->limits[i].resource,
             (unsigned long long)c->limits[i].soft, (unsigned long long)c->limits[i].hard);
    int found = 0;
    for (int n = 0; field_nth(report, "rlimit", n); n++) found |= !strcmp(field_nth(report, "rlimit", n), want);
    CHECK(found, "no rlimit %s:\n%s", want, report);
  }
}

int main(int argc, char **argv) {
  CHECK(argc == 2 || argc == 4, "usage: injected CONFIG [BURN_NAME BURN_COUNT]");
  config c;
  memset(&c, 0, sizeof c);
  size_t i = 0;
  while (i < sizeof CONFIGS / sizeof CONFIGS[0] && strcmp(CONFIGS[i].name, argv[1])) i++;
  CHECK(i < sizeof CONFIGS / sizeof CONFIGS[0], "no config %s", argv[1]);
  CONFIGS[i].setup(&c);
  /* A hang (a step that waits for ever once a call failed) ends this process, a failure. */
  alarm(test_seconds(120));
  printf("waiting %d\n", getpid());
  fflush(stdout);
  /* Until strace traces this process's system calls: tests/injected.rs has it answer getcpu
   * with 42. (TracerPid turns non-zero at the attach, before strace sees any call: calls
   * burned then would not count.) The loop makes only getcpu and clock_nanosleep calls, which
   * no case injects. */
  for (int tries = 0; syscall(SYS_getcpu, NULL, NULL, NULL) != 42; tries++) {
    CHECK(tries < 60000, "no tracer attached");
    usleep(1000);
  }
  if (argc == 4)
    for (int n = atoi(argv[3]); n > 0; n--)
      CHECK(harmless_call(argv[2]) == 0, "no harmless call of %s is known", argv[2]);

  /* Signals the program must not find ignored, whichever rt_sigaction of the child fails. */
  int ignored[] = {SIGHUP, SIGINT, SIGPIPE, SIGRTMAX};
  for (size_t s = 0; s < sizeof ignored / sizeof ignored[0]; s++)
    CHECK(signal(ignored[s], SIG_IGN) != SIG_ERR, "ignoring %d", ignored[s]);
  caller_state before;
  snapshot(&before);
  sprout_process proc = {0, NULL};
  sprout_error err;
  int rc = sprout_exec_async(&c.a, c.fds, c.fds_len, &proc, &err);
  /* A listener is the caller's once the spawn returned; a paused process runs its program
   * only once started, which may fail too. */
  int listener = -1;
  if (rc == 0 && c.a.seccomp_flags) {
    listener = sprout_seccomp_listener(proc.pid);
    CHECK(listener >= 0, "sprout_seccomp_listener: %s", strerror(-listener));
  }
  if (rc == 0 && (c.a.flags2 & SPROUT_EXEC2_PAUSED)) rc = sprout_start(proc.pid, &err);
  printf("outcome rc=%d code=%d stage=%s message=%s\n", rc, err.code, sprout_stage_name(err.stage),
         err.message);
  fflush(stdout);
  if (rc == 0) {
    char *report = read_until_end(c.report_from);
    int status = -1;
    CHECK_OK(sprout_wait(proc.pid, 10000, &status, &err), &err);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "the probe ended with %#x:\n%s", status, report);
    check_process(&c, report);
    if (proc.tty) {
      if (c.own_terminal) CHECK(sprout_tty_set_foreground(proc.tty, getpgrp()) == 0, "taking the terminal back");
      CHECK(sprout_tty_release(proc.tty) == 0, "sprout_tty_release");
    }
  } else if (proc.pid > 0) {
    /* A process that failed after the spawn returned (at its start) is forgotten too. */
    CHECK(sprout_seccomp_listener(proc.pid) == -ESRCH, "the failed process %d is still tracked", proc.pid);
  }
  if (listener >= 0) close(listener);
  check_unchanged(argv[1], &before);
  close(c.fds[1]);
  if (cgroup_path[0]) CHECK(rmdir(cgroup_path) == 0, "rmdir %s: %s", cgroup_path, strerror(errno));
  return 0;
}
