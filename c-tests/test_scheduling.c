/*
 * ABI 1.1's scheduling properties, seen from outside on the waiting probe: the policy and its
 * parameters (sched_getattr), the I/O priority (ioprio_get), the CPU affinity
 * (sched_getaffinity, Cpus_allowed_list), oom_score_adj (/proc/PID/oom_score_adj), each with
 * its refusals at the right stage, and the caller's own oom_score_adj never changed.
 */
#include <pthread.h>
#include <grp.h>
#include <sched.h>
#include <sys/resource.h>

#include "core_util.h"

/* The kernel's struct sched_attr (SCHED_ATTR_SIZE_VER1), which older headers lack. */
struct test_sched_attr {
  uint32_t size, policy;
  uint64_t flags;
  int32_t nice;
  uint32_t priority;
  uint64_t runtime, deadline, period;
  uint32_t util_min, util_max;
};

static struct test_sched_attr sched_of(int pid) {
  struct test_sched_attr attr;
  memset(&attr, 0, sizeof attr);
  CHECK(syscall(SYS_sched_getattr, pid, &attr, sizeof attr, 0) == 0, "sched_getattr: %s", strerror(errno));
  return attr;
}

static probe waiting(sprout_exec_args *a) {
  probe p;
  sprout_error err;
  CHECK_OK(start_probe(a, (const char *const[]){"wait", NULL}, &p, &err), &err);
  return p;
}

/* Ends in `stage` with `errno_` and a message holding `text`, no process left. */
static void check_refused(sprout_exec_args *a, int errno_, uint32_t stage, const char *text) {
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a->argv = argv;
  sprout_process proc;
  sprout_error err;
  int rc = sprout_exec_async(a, NULL, 0, &proc, &err);
  CHECK(rc == -errno_ && err.code == errno_ && err.stage == stage, "returned %d, stage %s: %s", rc,
        sprout_stage_name(err.stage), err.message);
  CHECK_MESSAGE_HAS(&err, text);
  CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "a child is left");
  a->argv = NULL;
}

/* Makes this test process an unprivileged one (uid and gid 65534, no capabilities), still
 * dumpable so that its children may write their own /proc files. */
static void become_nobody(void) {
  CHECK(setgroups(0, NULL) == 0 && setresgid(65534, 65534, 65534) == 0 &&
            setresuid(65534, 65534, 65534) == 0,
        "dropping to nobody: %s", strerror(errno));
  CHECK(prctl(PR_SET_DUMPABLE, 1) == 0, "PR_SET_DUMPABLE");
}

TEST(sched_sets_the_policy_and_its_parameters) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  probe p = waiting(&a);
  struct test_sched_attr mine = sched_of(0), got = sched_of(p.pid);
  CHECK(got.policy == mine.policy && got.nice == mine.nice, "without sched: the caller's");
  finish_probe(&p);

  sprout_sched batch = {.policy = SCHED_BATCH, .nice = 7};
  a.sched = &batch;
  p = waiting(&a);
  got = sched_of(p.pid);
  CHECK(got.policy == SCHED_BATCH && got.nice == 7, "policy %u nice %d", got.policy, got.nice);
  finish_probe(&p);

  sprout_sched idle = {.policy = SCHED_IDLE};
  a.sched = &idle;
  p = waiting(&a);
  CHECK(sched_of(p.pid).policy == SCHED_IDLE, "policy %u", sched_of(p.pid).policy);
  finish_probe(&p);
}

TEST(realtime_and_deadline_policies_as_root) {
  need_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_sched fifo = {.policy = SCHED_FIFO, .priority = 10, .flags = 1 /* RESET_ON_FORK */};
  a.sched = &fifo;
  probe p = waiting(&a);
  struct test_sched_attr got = sched_of(p.pid);
  CHECK(got.policy == SCHED_FIFO && got.priority == 10 && (got.flags & 1), "policy %u priority %u flags %#llx",
        got.policy, got.priority, (unsigned long long)got.flags);
  finish_probe(&p);

  sprout_sched deadline = {.policy = 6, .runtime = 2000000, .deadline = 10000000, .period = 20000000};
  a.sched = &deadline;
  p = waiting(&a);
  got = sched_of(p.pid);
  CHECK(got.policy == 6 && got.runtime == 2000000 && got.deadline == 10000000 && got.period == 20000000,
        "policy %u runtime %llu deadline %llu period %llu", got.policy, (unsigned long long)got.runtime,
        (unsigned long long)got.deadline, (unsigned long long)got.period);
  finish_probe(&p);
  CHECK(sched_of(0).policy == SCHED_OTHER, "the caller's policy changed");
}

TEST(a_realtime_policy_without_privilege_fails_at_sched) {
  need_root();
  become_nobody();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_sched fifo = {.policy = SCHED_FIFO, .priority = 10};
  a.sched = &fifo;
  check_refused(&a, EPERM, SPROUT_STAGE_SCHED, "sched: sched SCHED_FIFO priority 10 (needs CAP_SYS_NICE");
  /* Within what RLIMIT_RTPRIO (asked for in the same call) allows, it works unprivileged. */
  struct rlimit mine;
  getrlimit(RLIMIT_RTPRIO, &mine);
  if (mine.rlim_max >= 10) {
    sprout_rlimit rtprio = {RLIMIT_RTPRIO, 10, 10};
    a.limits = &rtprio;
    a.limits_len = 1;
    probe p = waiting(&a);
    CHECK(sched_of(p.pid).policy == SCHED_FIFO, "policy %u", sched_of(p.pid).policy);
    finish_probe(&p);
  }
}

TEST(sched_parameters_that_do_not_fit_the_policy_are_einval) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_sched s = {.policy = SCHED_FIFO, .priority = 10, .nice = 3};
  a.sched = &s;
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "sched.nice 3 with SCHED_FIFO");
  sprout_sched d = {.policy = 6, .runtime = 30000, .deadline = 20000};
  a.sched = &d;
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "runtime <= deadline <= period");
  sprout_sched u = {.policy = 4};
  a.sched = &u;
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "sched.policy 4");
}

static int ioprio_of(int pid) {
  int prio = (int)syscall(SYS_ioprio_get, 1 /* IOPRIO_WHO_PROCESS */, pid);
  CHECK(prio >= 0, "ioprio_get: %s", strerror(errno));
  return prio;
}

TEST(ioprio_sets_the_class_and_level) {
  int mine = ioprio_of(getpid());
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.ioprio_class = 2;
  a.ioprio_level = 6;
  probe p = waiting(&a);
  CHECK(ioprio_of(p.pid) == (2 << 13 | 6), "ioprio %#x", ioprio_of(p.pid));
  finish_probe(&p);
  CHECK(ioprio_of(getpid()) == mine, "the caller's ioprio became %#x", ioprio_of(getpid()));
  a.ioprio_class = 3;
  a.ioprio_level = 0;
  p = waiting(&a);
  CHECK(ioprio_of(p.pid) >> 13 == 3, "ioprio %#x", ioprio_of(p.pid));
  finish_probe(&p);
  a.ioprio_class = 4;
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "ioprio_class 4");
  a.ioprio_class = 2;
  a.ioprio_level = 8;
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "ioprio_level 8");
}

TEST(the_realtime_io_class_as_root_and_refused_without_privilege) {
  need_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.ioprio_class = 1;
  a.ioprio_level = 2;
  probe p = waiting(&a);
  CHECK(ioprio_of(p.pid) == (1 << 13 | 2), "ioprio %#x", ioprio_of(p.pid));
  finish_probe(&p);
  become_nobody();
  check_refused(&a, EPERM, SPROUT_STAGE_SCHED, "ioprio_class 1 level 2 (the realtime class needs");
}

static uint64_t affinity_of(int pid) {
  cpu_set_t set;
  CHECK(sched_getaffinity(pid, sizeof set, &set) == 0, "sched_getaffinity: %s", strerror(errno));
  uint64_t bits = 0;
  for (int cpu = 0; cpu < 64; cpu++)
    if (CPU_ISSET(cpu, &set)) bits |= 1ull << cpu;
  return bits;
}

TEST(cpu_set_is_the_processes_affinity) {
  long cpus = sysconf(_SC_NPROCESSORS_ONLN);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  uint64_t last = 1ull << (cpus - 1);
  a.cpu_set = &last;
  a.cpu_set_len = 1;
  probe p = waiting(&a);
  CHECK(affinity_of(p.pid) == last, "affinity %#llx, asked %#llx", (unsigned long long)affinity_of(p.pid),
        (unsigned long long)last);
  char want[32];
  snprintf(want, sizeof want, "%ld", cpus - 1);
  CHECK(!strcmp(status_of(p.pid, "Cpus_allowed_list"), want), "Cpus_allowed_list %s",
        status_of(p.pid, "Cpus_allowed_list"));
  finish_probe(&p);
  CHECK(affinity_of(0) != last || cpus == 1, "the caller's affinity changed");

  /* A set of any size: the same CPU in a set of 1024 words. */
  uint64_t *large = calloc(1024, sizeof *large);
  large[0] = last;
  a.cpu_set = large;
  a.cpu_set_len = 1024;
  uint64_t zero = 0;
  (void)zero;
  /* Its CPUs above the kernel's are refused, not dropped. */
  large[1023] = 1ull << 63;
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "cpu_set: CPU 65535 is above the last CPU");
  large[1023] = 0;
  p = waiting(&a);
  CHECK(affinity_of(p.pid) == last, "affinity %#llx", (unsigned long long)affinity_of(p.pid));
  finish_probe(&p);
  a.cpu_set = &zero;
  a.cpu_set_len = 1;
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "cpu_set holds no CPU");
  free(large);
}

/* A cpuset holding CPU 0 alone, with this test process moved into it: in a cgroup-v1 cpuset
 * hierarchy, or in cgroup2 where its root already enables the cpuset controller for its
 * children (nothing global is changed). Fills `dir` and `back` (where to move back); 0 when
 * the host has neither. */
static int cpuset_with_cpu0(char *dir, size_t size, char *back, size_t back_size) {
  char *info = read_file("/proc/self/mountinfo");
  CHECK(info != NULL, "mountinfo");
  char mount_point[PATH_MAX] = "";
  int v2 = 0;
  for (char *line = info, *next; line && *line && !mount_point[0]; line = next) {
    next = strchr(line, '\n');
    if (next) *next++ = 0;
    char *dash = strstr(line, " - ");
    if (!dash) continue;
    char fstype[32] = "", options[512] = "", point[PATH_MAX] = "";
    if (sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1) continue;
    if (sscanf(dash + 3, "%31s %*s %511s", fstype, options) != 2) continue;
    mountinfo_unescape(point);
    if (!strcmp(fstype, "cgroup") && strstr(options, "cpuset")) {
      snprintf(mount_point, sizeof mount_point, "%s", point);
    } else if (!strcmp(fstype, "cgroup2")) {
      char path[PATH_MAX + 32];
      snprintf(path, sizeof path, "%s/cgroup.subtree_control", point);
      char *control = read_file(path);
      if (control && strstr(control, "cpuset")) {
        snprintf(mount_point, sizeof mount_point, "%s", point);
        v2 = 1;
      }
      free(control);
    }
  }
  free(info);
  if (!mount_point[0]) return 0;
  snprintf(dir, size, "%s/sprout-test-cpuset-%d", mount_point, getpid());
  snprintf(back, back_size, "%s/cgroup.procs", mount_point);
  CHECK(mkdir(dir, 0755) == 0, "mkdir %s: %s", dir, strerror(errno));
  char path[PATH_MAX + 32];
  snprintf(path, sizeof path, "%s/cpuset.cpus", dir);
  write_file(path, "0", 1, 0644);
  if (!v2) {
    char mems[PATH_MAX + 32];
    snprintf(mems, sizeof mems, "%s/cpuset.mems", mount_point);
    char *all = read_file(mems);
    snprintf(path, sizeof path, "%s/cpuset.mems", dir);
    write_file(path, all, strlen(all), 0644);
    free(all);
  }
  char pid[32];
  snprintf(pid, sizeof pid, "%d", getpid());
  snprintf(path, sizeof path, "%s/cgroup.procs", dir);
  write_file(path, pid, strlen(pid), 0644);
  return 1;
}

/* The kernel keeps only the CPUs of the process's cpuset: a CPU outside it is refused at
 * SCHED, naming it, rather than silently dropped. */
TEST(a_cpu_outside_the_cpuset_is_einval_at_sched_naming_it) {
  need_root();
  if (sysconf(_SC_NPROCESSORS_ONLN) < 2) SKIP("one CPU: no CPU can be outside a cpuset");
  char dir[PATH_MAX], back[PATH_MAX];
  if (!cpuset_with_cpu0(dir, sizeof dir, back, sizeof back))
    SKIP("neither a cgroup-v1 cpuset hierarchy nor a cgroup2 root with the cpuset controller");
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  uint64_t both = 3;
  a.cpu_set = &both;
  a.cpu_set_len = 1;
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  sprout_process proc;
  sprout_error err;
  int rc = sprout_exec_async(&a, NULL, 0, &proc, &err);
  /* Out of the cpuset (and remove it) before any CHECK can end this process. */
  char pid[32];
  snprintf(pid, sizeof pid, "%d", getpid());
  write_file(back, pid, strlen(pid), 0644);
  CHECK(rmdir(dir) == 0, "rmdir %s: %s", dir, strerror(errno));
  CHECK(rc == -EINVAL && err.stage == SPROUT_STAGE_SCHED, "returned %d stage %s: %s", rc,
        sprout_stage_name(err.stage), err.message);
  CHECK_MESSAGE_HAS(&err, "sched: cpu_set: CPU 1 is not available to the process");
}

static int oom_of(int pid) {
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/oom_score_adj", pid);
  char *text = read_file(path);
  CHECK(text != NULL, "%s", path);
  int value = atoi(text);
  free(text);
  return value;
}

static void set_own_oom(int value) {
  char text[16];
  int len = snprintf(text, sizeof text, "%d", value);
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  CHECK(fd >= 0 && write(fd, text, (size_t)len) == len, "setting our oom_score_adj to %d: %s", value,
        strerror(errno));
  close(fd);
}

static int has_capability(int cap) {
  char *text = proc_file(getpid(), "status");
  unsigned long long effective = strtoull(field(text, "CapEff"), NULL, 16);
  free(text);
  return (effective >> cap) & 1;
}

TEST(oom_score_adj_is_the_processes_and_the_callers_stays) {
  set_own_oom(100);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  probe p = waiting(&a);
  CHECK(oom_of(p.pid) == 100, "without the flag: %d, not the caller's", oom_of(p.pid));
  finish_probe(&p);
  a.flags2 = SPROUT_EXEC2_OOM_SCORE_ADJ;
  /* Below oom_score_adj_min (0 here: only a writer with CAP_SYS_RESOURCE moves it), a value
   * needs CAP_SYS_RESOURCE. */
  const int values[] = {1000, 500, 0, -1};
  for (size_t i = 0; i < sizeof values / sizeof values[0]; i++) {
    a.oom_score_adj = values[i];
    if (values[i] < 0 && !has_capability(24 /* CAP_SYS_RESOURCE */)) {
      check_refused(&a, EACCES, SPROUT_STAGE_OOM_SCORE_ADJ,
                    "oom_score_adj: oom_score_adj -1 (below oom_score_adj_min, which needs CAP_SYS_RESOURCE");
      continue;
    }
    p = waiting(&a);
    CHECK(oom_of(p.pid) == values[i], "oom_score_adj %d, asked %d", oom_of(p.pid), values[i]);
    finish_probe(&p);
    CHECK(oom_of(getpid()) == 100, "the caller's became %d", oom_of(getpid()));
  }
  a.oom_score_adj = 1001;
  check_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "oom_score_adj 1001 is outside -1000..1000");
}

TEST(lowering_oom_score_adj_without_cap_sys_resource_is_eacces) {
  need_root();
  become_nobody();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = SPROUT_EXEC2_OOM_SCORE_ADJ;
  a.oom_score_adj = 300; /* raising needs nothing */
  probe p = waiting(&a);
  CHECK(oom_of(p.pid) == 300, "oom_score_adj %d", oom_of(p.pid));
  finish_probe(&p);
  a.oom_score_adj = -5;
  check_refused(&a, EACCES, SPROUT_STAGE_OOM_SCORE_ADJ,
                "oom_score_adj -5 (below oom_score_adj_min, which needs CAP_SYS_RESOURCE");
}

/* A child that shares the caller's memory without being a vfork child (the id-map handshake)
 * would give its oom_score_adj to the caller: the kernel sets it on every process sharing the
 * writer's memory. Such a spawn refuses it. */
static sprout_id_map root_map = {0, 0, 1};
static sprout_namespace new_user = {CLONE_NEWUSER, -1};

static void with_maps(sprout_exec_args *a) {
  a->namespaces = &new_user;
  a->namespaces_len = 1;
  a->uid_map = &root_map;
  a->uid_map_len = 1;
}

TEST(oom_score_adj_with_a_child_that_waits_is_einval_and_the_callers_stays) {
  need_root();
  set_own_oom(100);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  with_maps(&a);
  a.flags2 = SPROUT_EXEC2_OOM_SCORE_ADJ;
  a.oom_score_adj = 700;
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  sprout_process proc;
  sprout_error err;
  int rc = sprout_exec_async(&a, NULL, 0, &proc, &err);
  /* First what matters: had the child written it, the caller would have it now. */
  CHECK(oom_of(getpid()) == 100, "the caller's became %d", oom_of(getpid()));
  CHECK(rc == -EINVAL && err.stage == SPROUT_STAGE_ARGS, "returned %d, stage %s: %s", rc,
        sprout_stage_name(err.stage), err.message);
  CHECK_MESSAGE_HAS(&err, "oom_score_adj 700 in a spawn whose child waits for the caller");
}

static int keep_waiting_children = 1;

static void *spawn_waiting_children(void *arg) {
  (void)arg;
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  with_maps(&a);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  while (FLAG_GET(keep_waiting_children)) {
    int status;
    sprout_error err;
    if (sprout_exec(&a, NULL, 0, &status, &err) != 0) break;
  }
  return NULL;
}

/* Once a child that waits has marked the caller's memory as shared by processes (for good),
 * spawns with oom_score_adj still leave the caller's alone, while such children keep coming
 * on another thread. */
TEST(oom_score_adj_spawns_beside_children_that_wait_leave_the_callers_alone) {
  need_root();
  set_own_oom(100);
  pthread_t other;
  CHECK(pthread_create(&other, NULL, spawn_waiting_children, NULL) == 0, "pthread_create");
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags2 = SPROUT_EXEC2_OOM_SCORE_ADJ;
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  int changed = 0;
  for (int i = 0; i < 200 && !changed; i++) {
    a.oom_score_adj = i % 2 ? 900 : 300;
    int status;
    sprout_error err;
    CHECK_OK(sprout_exec(&a, NULL, 0, &status, &err), &err);
    changed = oom_of(getpid()) != 100;
  }
  FLAG_SET(keep_waiting_children, 0);
  pthread_join(other, NULL);
  CHECK(!changed, "the caller's oom_score_adj became %d", oom_of(getpid()));
}

int main(void) {
  RUN(sched_sets_the_policy_and_its_parameters);
  RUN(realtime_and_deadline_policies_as_root);
  RUN(a_realtime_policy_without_privilege_fails_at_sched);
  RUN(sched_parameters_that_do_not_fit_the_policy_are_einval);
  RUN(ioprio_sets_the_class_and_level);
  RUN(the_realtime_io_class_as_root_and_refused_without_privilege);
  RUN(cpu_set_is_the_processes_affinity);
  RUN(a_cpu_outside_the_cpuset_is_einval_at_sched_naming_it);
  RUN(oom_score_adj_is_the_processes_and_the_callers_stays);
  RUN(lowering_oom_score_adj_without_cap_sys_resource_is_eacces);
  RUN(oom_score_adj_with_a_child_that_waits_is_einval_and_the_callers_stays);
  RUN(oom_score_adj_spawns_beside_children_that_wait_leave_the_callers_alone);
  return summary();
}
