/* Privileges through the C ABI: credentials, the five capability sets, rlimits, no_new_privs
 * and the seccomp filter, each checked in /proc/PID/status (or /proc/PID/limits) of the probe
 * from outside, and each invalid input refused with its stage. Expectations come from this
 * machine (cap_last_cap, the caller's bounding set and limits), never hard-coded. */
#include <dirent.h>
#include <inttypes.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <linux/securebits.h>
#include <pthread.h>
#include <stddef.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>

#include "harness.h"

#define BIT(n) (UINT64_C(1) << (n))
/* The errno the test filters answer getppid with. */
#define FILTER_ERRNO ENOMSG

/* --- what the machine says -------------------------------------------------------------- */

static unsigned last_cap(void) {
  char *text = read_file("/proc/sys/kernel/cap_last_cap");
  CHECK(text != NULL, "cannot read /proc/sys/kernel/cap_last_cap");
  unsigned last = (unsigned)strtoul(text, NULL, 10);
  free(text);
  return last;
}

static uint64_t hex_field(const char *status, const char *key) {
  const char *value = field(status, key);
  CHECK(value != NULL, "no %s line in:\n%s", key, status);
  return strtoull(value, NULL, 16);
}

/* The caller's own bounding set, as the kernel shows it. */
static uint64_t caller_bounding(void) {
  char *status = read_file("/proc/self/status");
  CHECK(status != NULL, "cannot read /proc/self/status");
  uint64_t bounding = hex_field(status, "CapBnd");
  free(status);
  return bounding;
}

/* Skips unless every capability of `needed` is in the caller's bounding set. */
static void need_caps(uint64_t needed) {
  uint64_t missing = needed & ~caller_bounding();
  if (missing) SKIP("capabilities %#" PRIx64 " are not in this machine's bounding set", missing);
}

/* A status line's value without the trailing blank the kernel leaves after a list. */
static const char *trimmed(const char *status, const char *key) {
  const char *value = field(status, key);
  CHECK(value != NULL, "no %s line in:\n%s", key, status);
  static char copy[4096];
  snprintf(copy, sizeof copy, "%s", value);
  size_t n = strlen(copy);
  while (n > 0 && (copy[n - 1] == ' ' || copy[n - 1] == '\t')) copy[--n] = 0;
  return copy;
}

/* Checks the line "KEY:\tv\tv\tv\tv" (real, effective, saved, filesystem ids). */
static void check_ids(const char *status, const char *key, unsigned id) {
  char want[128];
  snprintf(want, sizeof want, "%u\t%u\t%u\t%u", id, id, id, id);
  const char *got = trimmed(status, key);
  CHECK(!strcmp(got, want), "%s is '%s', want '%s'", key, got, want);
}

static void check_caps(const char *status, const char *key, uint64_t want) {
  uint64_t got = hex_field(status, key);
  CHECK(got == want, "%s is %#" PRIx64 ", want %#" PRIx64 "\n%s", key, got, want, status);
}

/* --- starting the probe ----------------------------------------------------------------- */

/* Starts the probe held in "wait" after running `first` (or nothing); returns its status as
 * read from outside. */
static char *held_probe_status(sprout_exec_args *a, const char *first, probe *p) {
  const char *args[] = {first ? first : "wait", first ? "wait" : NULL, NULL};
  sprout_error err;
  CHECK_OK(start_probe(a, args, p, &err), &err);
  char *status = proc_file(p->pid, "status");
  CHECK(status != NULL, "cannot read /proc/%d/status", p->pid);
  return status;
}

/* Reads one line from the probe's stdout (without the newline) into a static buffer. */
static const char *probe_line(probe *p) {
  static char line[512];
  size_t n = 0;
  char c;
  while (n + 1 < sizeof line) {
    ssize_t got = read(p->from_stdout, &c, 1);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0 || c == '\n') break;
    line[n++] = c;
  }
  line[n] = 0;
  return line;
}

static void finish_ok(probe *p) {
  int status = finish_probe(p);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "probe ended with status %#x", status);
}

/* Expects the spawn to be refused with -code at `stage`, the message naming `needle`. */
static void expect_refused(sprout_exec_args *a, int code, uint32_t stage, const char *needle) {
  probe p;
  sprout_error err;
  const char *args[] = {"exit", "0", NULL};
  int rc = start_probe(a, args, &p, &err);
  if (rc == 0) finish_probe(&p);
  CHECK(rc == -code, "returned %d (%s), want %d", rc, err.message, -code);
  CHECK(err.code == code && err.stage == stage, "code %d stage %s (%s), want %d %s", err.code,
        sprout_stage_name(err.stage), err.message, code, sprout_stage_name(stage));
  CHECK(strstr(err.message, needle) != NULL, "message '%s' does not name '%s'", err.message, needle);
}

/* --- changing the test process's own privileges (a forked, single-threaded test) ---------- */

/* Raw calls, so the test's own libc cannot hide a problem. */
static void become(unsigned uid, unsigned gid) {
  CHECK(syscall(SYS_setgroups, 0, NULL) == 0, "setgroups: %s", strerror(errno));
  CHECK(syscall(SYS_setresgid, gid, gid, gid) == 0, "setresgid: %s", strerror(errno));
  CHECK(syscall(SYS_setresuid, uid, uid, uid) == 0, "setresuid: %s", strerror(errno));
}

static void set_own_groups(size_t n, const gid_t *groups) {
  CHECK(syscall(SYS_setgroups, n, groups) == 0, "setgroups: %s", strerror(errno));
}

/* Removes one capability from the test process's effective set, and from its permitted set
 * too when `permitted`. */
static void lower_own(unsigned cap, int permitted) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  CHECK(syscall(SYS_capget, &header, data) == 0, "capget: %s", strerror(errno));
  data[cap / 32].effective &= ~(UINT32_C(1) << (cap % 32));
  if (permitted) data[cap / 32].permitted &= ~(UINT32_C(1) << (cap % 32));
  CHECK(syscall(SYS_capset, &header, data) == 0, "capset: %s", strerror(errno));
}

/* Puts one capability in the test process's inheritable and ambient sets. */
static void raise_own_ambient(unsigned cap) {
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2];
  CHECK(syscall(SYS_capget, &header, data) == 0, "capget: %s", strerror(errno));
  data[cap / 32].inheritable |= UINT32_C(1) << (cap % 32);
  CHECK(syscall(SYS_capset, &header, data) == 0, "capset: %s", strerror(errno));
  CHECK(prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_RAISE, cap, 0, 0) == 0, "ambient raise: %s",
        strerror(errno));
}

/* --- seccomp ------------------------------------------------------------------------------ */

#if defined(__x86_64__)
#define THIS_AUDIT_ARCH AUDIT_ARCH_X86_64
#elif defined(__aarch64__)
#define THIS_AUDIT_ARCH AUDIT_ARCH_AARCH64
#endif

/* getppid fails with FILTER_ERRNO; every other call (and every other architecture) passes. */
static const struct sock_filter getppid_filter[] = {
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, THIS_AUDIT_ARCH, 0, 3),
    BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
    BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_getppid, 0, 1),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ERRNO | (FILTER_ERRNO & SECCOMP_RET_DATA)),
    BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
};

static void use_getppid_filter(sprout_exec_args *a) {
  a->seccomp_filter = getppid_filter;
  a->seccomp_filter_len = sizeof getppid_filter / sizeof getppid_filter[0];
}

/* The probe's "try-getppid" line once the filter refused getppid. */
static void check_getppid_filtered(probe *p) {
  char want[64];
  snprintf(want, sizeof want, "getppid=-1 errno=%d", FILTER_ERRNO);
  const char *line = probe_line(p);
  CHECK(!strcmp(line, want), "probe said '%s', want '%s'", line, want);
}

/* --- credentials ----------------------------------------------------------------------------- */

TEST(credentials_set_real_effective_saved_ids_and_groups) {
  need_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const uint32_t groups[] = {4567, 17, 3456};
  sprout_credentials c = {.uid = 1234, .gid = 2345, .extra_gids = groups, .extra_gids_len = 3};
  a.credentials = &c;
  probe p;
  char *status = held_probe_status(&a, NULL, &p);
  check_ids(status, "Uid", 1234);
  check_ids(status, "Gid", 2345);
  const char *got = trimmed(status, "Groups");
  CHECK(!strcmp(got, "17 3456 4567"), "Groups is '%s'", got);
  /* Without capabilities, a non-root target holds none, as execve gives them. */
  check_caps(status, "CapEff", 0);
  check_caps(status, "CapPrm", 0);
  finish_ok(&p);
}

TEST(empty_extra_gids_means_no_supplementary_groups) {
  need_root();
  const gid_t own[] = {5, 6};
  set_own_groups(2, own);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_credentials c = {.uid = 1234, .gid = 1234, .extra_gids = NULL, .extra_gids_len = 0};
  a.credentials = &c;
  probe p;
  char *status = held_probe_status(&a, NULL, &p);
  const char *got = trimmed(status, "Groups");
  CHECK(!strcmp(got, ""), "Groups is '%s', want none", got);
  check_ids(status, "Uid", 1234);
  finish_ok(&p);
}

TEST(nonroot_caller_asking_for_uid_0_gets_eperm_at_credentials) {
  need_root();
  become(65534, 65534);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_credentials c = {.uid = 0, .gid = 65534, .extra_gids = NULL, .extra_gids_len = 0};
  a.credentials = &c;
  expect_refused(&a, EPERM, SPROUT_STAGE_CREDENTIALS, "uid 0");
  /* and its own gid is fine, but another one is not */
  c.uid = 65534;
  c.gid = 0;
  expect_refused(&a, EPERM, SPROUT_STAGE_CREDENTIALS, "gid 0");
  const uint32_t groups[] = {0};
  c.gid = 65534;
  c.extra_gids = groups;
  c.extra_gids_len = 1;
  expect_refused(&a, EPERM, SPROUT_STAGE_CREDENTIALS, "extra_gids [0]");
}

TEST(invalid_credentials_are_refused_before_any_process) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_credentials c = {.uid = UINT32_MAX, .gid = 0, .extra_gids = NULL, .extra_gids_len = 0};
  a.credentials = &c;
  expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "credentials.uid");
  c.uid = 0;
  c.gid = UINT32_MAX;
  expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "credentials.gid");
  const uint32_t groups[] = {1, UINT32_MAX};
  c.gid = 0;
  c.extra_gids = groups;
  c.extra_gids_len = 2;
  expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "credentials.extra_gids[1]");
}

/* --- the multithreaded caller ---------------------------------------------------------------- */

static int hold_threads[2];

static void *held_thread(void *unused) {
  (void)unused;
  char c;
  while (read(hold_threads[0], &c, 1) < 0 && errno == EINTR) {
  }
  return NULL;
}

/* Every thread's id and capability lines, "tid: lines...", in directory order. */
static char *threads_credentials(void) {
  static const char *const keys[] = {"Uid", "Gid", "Groups", "CapInh", "CapPrm",
                                     "CapEff", "CapBnd", "CapAmb"};
  size_t cap = 1 << 16, len = 0;
  char *out = calloc(1, cap);
  CHECK(out != NULL, "calloc");
  DIR *dir = opendir("/proc/self/task");
  CHECK(dir != NULL, "opendir: %s", strerror(errno));
  struct dirent *entry;
  int threads = 0;
  while ((entry = readdir(dir)) != NULL) {
    if (entry->d_name[0] == '.') continue;
    char path[300];
    snprintf(path, sizeof path, "/proc/self/task/%s/status", entry->d_name);
    char *status = read_file(path);
    CHECK(status != NULL, "cannot read %s", path);
    len += (size_t)snprintf(out + len, cap - len, "%s:", entry->d_name);
    for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++)
      len += (size_t)snprintf(out + len, cap - len, " %s=%s", keys[k], trimmed(status, keys[k]));
    len += (size_t)snprintf(out + len, cap - len, "\n");
    CHECK(len < cap, "too many threads");
    free(status);
    threads++;
  }
  closedir(dir);
  CHECK(threads >= 5, "only %d threads", threads);
  return out;
}

TEST(uid_change_leaves_every_caller_thread_alone) {
  need_root();
  const gid_t own[] = {7, 8};
  set_own_groups(2, own);
  CHECK(pipe2(hold_threads, O_CLOEXEC) == 0, "pipe2: %s", strerror(errno));
  pthread_t threads[4];
  for (int i = 0; i < 4; i++)
    CHECK(pthread_create(&threads[i], NULL, held_thread, NULL) == 0, "pthread_create");
  char *before = threads_credentials();

  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const uint32_t groups[] = {9};
  sprout_credentials c = {.uid = 4321, .gid = 4322, .extra_gids = groups, .extra_gids_len = 1};
  sprout_capabilities caps = {.effective = 0, .permitted = 0, .inheritable = 0,
                              .bounding = 0, .ambient = 0};
  a.credentials = &c;
  a.capabilities = &caps;
  probe p;
  char *status = held_probe_status(&a, NULL, &p);
  check_ids(status, "Uid", 4321);
  check_ids(status, "Gid", 4322);
  check_caps(status, "CapBnd", 0);

  char *after = threads_credentials();
  CHECK(!strcmp(before, after), "caller threads changed:\nbefore:\n%safter:\n%s", before, after);
  finish_ok(&p);
  close(hold_threads[1]);
  for (int i = 0; i < 4; i++) pthread_join(threads[i], NULL);
}

/* --- capabilities ------------------------------------------------------------------------------ */

TEST(nonroot_target_holds_its_ambient_capabilities) {
  need_root();
  const uint64_t used = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE) |
                        BIT(CAP_NET_RAW) | BIT(CAP_SYS_MODULE) | BIT(CAP_SYS_BOOT);
  need_caps(used);
  sprout_capabilities caps;
  caps.bounding = caller_bounding() & ~(BIT(CAP_SYS_MODULE) | BIT(CAP_SYS_BOOT));
  caps.permitted = BIT(CAP_CHOWN) | BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_NET_RAW);
  caps.effective = BIT(CAP_CHOWN) | BIT(CAP_NET_BIND_SERVICE);
  caps.inheritable = BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE) | BIT(CAP_NET_RAW);
  caps.ambient = BIT(CAP_KILL) | BIT(CAP_NET_BIND_SERVICE);
  sprout_credentials c = {.uid = 1000, .gid = 1000, .extra_gids = NULL, .extra_gids_len = 0};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.credentials = &c;
  a.capabilities = &caps;
  probe p;
  char *status = held_probe_status(&a, NULL, &p);
  check_ids(status, "Uid", 1000);
  /* execve for a non-root program without file capabilities: P' = E' = ambient. */
  check_caps(status, "CapEff", caps.ambient);
  check_caps(status, "CapPrm", caps.ambient);
  check_caps(status, "CapInh", caps.inheritable);
  check_caps(status, "CapBnd", caps.bounding);
  check_caps(status, "CapAmb", caps.ambient);
  finish_ok(&p);
}

TEST(root_target_with_a_reduced_bounding_set) {
  need_root();
  const uint64_t dropped = BIT(CAP_SYS_ADMIN) | BIT(CAP_NET_RAW) | BIT(CAP_SYS_MODULE);
  need_caps(dropped | BIT(CAP_CHOWN) | BIT(CAP_KILL));
  sprout_capabilities caps;
  caps.bounding = caller_bounding() & ~dropped;
  caps.permitted = BIT(CAP_CHOWN) | BIT(CAP_KILL);
  caps.effective = caps.permitted;
  caps.inheritable = BIT(CAP_KILL);
  caps.ambient = 0;
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.capabilities = &caps;
  probe p;
  char *status = held_probe_status(&a, NULL, &p);
  check_ids(status, "Uid", 0);
  /* execve for root: P' = E' = bounding | inheritable. */
  check_caps(status, "CapEff", caps.bounding | caps.inheritable);
  check_caps(status, "CapPrm", caps.bounding | caps.inheritable);
  check_caps(status, "CapInh", caps.inheritable);
  check_caps(status, "CapBnd", caps.bounding);
  check_caps(status, "CapAmb", 0);
  finish_ok(&p);
}

/* A root target: a change to a non-root uid would clear the ambient set anyway. */
TEST(the_callers_ambient_set_does_not_leak_into_the_child) {
  need_root();
  need_caps(BIT(CAP_CHOWN) | BIT(CAP_KILL));
  raise_own_ambient(CAP_KILL);
  char *own = read_file("/proc/self/status");
  CHECK(own && hex_field(own, "CapAmb") == BIT(CAP_KILL), "the caller could not raise CAP_KILL");
  sprout_capabilities caps;
  caps.bounding = caller_bounding();
  caps.permitted = BIT(CAP_CHOWN) | BIT(CAP_KILL);
  caps.effective = 0;
  caps.inheritable = BIT(CAP_KILL);
  caps.ambient = 0;
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.capabilities = &caps;
  probe p;
  char *status = held_probe_status(&a, NULL, &p);
  check_caps(status, "CapAmb", 0);
  check_caps(status, "CapInh", caps.inheritable);
  check_caps(status, "CapPrm", caps.bounding | caps.inheritable);
  finish_ok(&p);
}

TEST(sets_the_kernel_refuses_fail_at_capabilities) {
  need_root();
  need_caps(BIT(CAP_NET_RAW) | BIT(CAP_KILL));
  char *own = read_file("/proc/self/status");
  CHECK(own != NULL, "cannot read /proc/self/status");
  if (hex_field(own, "CapInh") & BIT(CAP_NET_RAW)) SKIP("CAP_NET_RAW is inheritable already");
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_capabilities caps;
  caps.bounding = caller_bounding() & ~BIT(CAP_NET_RAW);
  caps.permitted = BIT(CAP_NET_RAW);
  caps.effective = 0;
  caps.inheritable = BIT(CAP_NET_RAW);
  caps.ambient = 0;
  a.capabilities = &caps;
  /* Inheritable outside the new bounding set and not inheritable already. */
  expect_refused(&a, EPERM, SPROUT_STAGE_CAPABILITIES, "inheritable CAP_NET_RAW (13)");
  /* Permitted beyond what the caller holds. */
  lower_own(CAP_KILL, 1);
  caps.bounding = caller_bounding();
  caps.permitted = BIT(CAP_KILL);
  caps.inheritable = 0;
  expect_refused(&a, EPERM, SPROUT_STAGE_CAPABILITIES, "the caller does not hold CAP_KILL (5)");
  /* Dropping from the bounding set without CAP_SETPCAP. */
  become(65534, 65534);
  caps.bounding = caller_bounding() & ~BIT(CAP_NET_RAW);
  caps.permitted = 0;
  expect_refused(&a, EPERM, SPROUT_STAGE_CAPABILITIES,
                 "dropping CAP_NET_RAW (13) from the bounding set");
}

/* A caller without CAP_SETPCAP may pass its own, already reduced, bounding set: the bits that
 * are out already are not dropped again, which would need CAP_SETPCAP (EPERM). */
TEST(a_caller_without_cap_setpcap_passes_its_own_reduced_bounding_set) {
  need_root();
  need_caps(BIT(CAP_NET_RAW) | BIT(CAP_SYS_MODULE));
  CHECK(prctl(PR_CAPBSET_DROP, CAP_NET_RAW, 0, 0, 0) == 0 &&
            prctl(PR_CAPBSET_DROP, CAP_SYS_MODULE, 0, 0, 0) == 0,
        "PR_CAPBSET_DROP: %s", strerror(errno));
  become(100000, 100000);
  char *own = read_file("/proc/self/status");
  CHECK(own != NULL, "cannot read /proc/self/status");
  CHECK(!(hex_field(own, "CapEff") & BIT(CAP_SETPCAP)), "the caller still holds CAP_SETPCAP");
  uint64_t bounding = hex_field(own, "CapBnd");
  CHECK(!(bounding & (BIT(CAP_NET_RAW) | BIT(CAP_SYS_MODULE))), "CapBnd %#" PRIx64, bounding);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_capabilities caps = {.effective = 0, .permitted = 0, .inheritable = 0,
                              .bounding = bounding, .ambient = 0};
  a.capabilities = &caps;
  probe p;
  char *status = held_probe_status(&a, NULL, &p);
  check_caps(status, "CapBnd", bounding);
  check_caps(status, "CapEff", 0);
  finish_ok(&p);
}

TEST(an_ambient_raise_the_kernel_refuses_fails_at_capabilities) {
  need_root();
  need_caps(BIT(CAP_KILL));
  CHECK(prctl(PR_SET_SECUREBITS, SECBIT_NO_CAP_AMBIENT_RAISE) == 0, "PR_SET_SECUREBITS: %s",
        strerror(errno));
  sprout_capabilities caps;
  caps.bounding = caller_bounding();
  caps.permitted = BIT(CAP_KILL);
  caps.effective = 0;
  caps.inheritable = BIT(CAP_KILL);
  caps.ambient = BIT(CAP_KILL);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.capabilities = &caps;
  expect_refused(&a, EPERM, SPROUT_STAGE_CAPABILITIES, "raising CAP_KILL (5) in the ambient set");
}

TEST(invalid_capabilities_are_refused_before_any_process) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_capabilities caps = {0, 0, 0, 0, 0};
  a.capabilities = &caps;
  unsigned last = last_cap();
  if (last < 63) {
    uint64_t *sets[] = {&caps.effective, &caps.permitted, &caps.inheritable, &caps.bounding,
                        &caps.ambient};
    const char *names[] = {"capabilities.effective", "capabilities.permitted",
                           "capabilities.inheritable", "capabilities.bounding",
                           "capabilities.ambient"};
    for (int i = 0; i < 5; i++) {
      memset(&caps, 0, sizeof caps);
      *sets[i] = BIT(last + 1);
      expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, names[i]);
      expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "above cap_last_cap");
    }
  }
  memset(&caps, 0, sizeof caps);
  caps.effective = BIT(CAP_KILL);
  expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "capabilities.effective: CAP_KILL (5)");
  caps.effective = 0;
  caps.permitted = BIT(CAP_KILL);
  caps.ambient = BIT(CAP_KILL);
  expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "capabilities.ambient: CAP_KILL (5)");
  caps.permitted = 0;
  caps.inheritable = BIT(CAP_KILL);
  expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "capabilities.ambient: CAP_KILL (5)");
}

/* --- rlimits ---------------------------------------------------------------------------------- */

/* "soft hard" of a /proc/PID/limits line, e.g. "Max open files  37  71  files". */
static const char *proc_limit(int pid, const char *name) {
  char *limits = proc_file(pid, "limits");
  CHECK(limits != NULL, "cannot read /proc/%d/limits", pid);
  const char *line = strstr(limits, name);
  CHECK(line != NULL, "no '%s' in:\n%s", name, limits);
  static char soft[32], hard[32], both[80];
  CHECK(sscanf(line + strlen(name), "%31s %31s", soft, hard) == 2, "cannot parse '%s'", line);
  snprintf(both, sizeof both, "%s %s", soft, hard);
  free(limits);
  return both;
}

TEST(rlimits_apply_in_the_child_and_never_in_the_caller) {
  need_root();
  struct rlimit files, core;
  CHECK(getrlimit(RLIMIT_NOFILE, &files) == 0 && getrlimit(RLIMIT_CORE, &core) == 0, "getrlimit");
  if (files.rlim_max != RLIM_INFINITY && files.rlim_max < 71) SKIP("RLIMIT_NOFILE hard limit below 71");
  if (core.rlim_max != RLIM_INFINITY) SKIP("RLIMIT_CORE hard limit is not unlimited here");
  /* So that asking for "unlimited" is visible. */
  core.rlim_cur = 0;
  CHECK(setrlimit(RLIMIT_CORE, &core) == 0, "setrlimit: %s", strerror(errno));

  sprout_rlimit limits[] = {
      {.resource = RLIMIT_NOFILE, .soft = 37, .hard = 71},
      {.resource = RLIMIT_CORE, .soft = UINT64_MAX, .hard = UINT64_MAX},
  };
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.limits = limits;
  a.limits_len = 2;
  probe p;
  free(held_probe_status(&a, NULL, &p));
  const char *got = proc_limit(p.pid, "Max open files");
  CHECK(!strcmp(got, "37 71"), "open files '%s'", got);
  got = proc_limit(p.pid, "Max core file size");
  CHECK(!strcmp(got, "unlimited unlimited"), "core file size '%s'", got);
  finish_ok(&p);

  struct rlimit files_after, core_after;
  CHECK(getrlimit(RLIMIT_NOFILE, &files_after) == 0 && getrlimit(RLIMIT_CORE, &core_after) == 0,
        "getrlimit");
  CHECK(files_after.rlim_cur == files.rlim_cur && files_after.rlim_max == files.rlim_max,
        "the caller's RLIMIT_NOFILE changed");
  CHECK(core_after.rlim_cur == 0 && core_after.rlim_max == core.rlim_max,
        "the caller's RLIMIT_CORE changed");
}

TEST(raising_a_hard_limit_without_cap_sys_resource_fails_at_rlimits) {
  need_root();
  /* The child has the caller's capabilities when it sets its limits: take this one away. */
  lower_own(CAP_SYS_RESOURCE, 0);
  struct rlimit files;
  CHECK(getrlimit(RLIMIT_NOFILE, &files) == 0, "getrlimit");
  if (files.rlim_max == RLIM_INFINITY) SKIP("RLIMIT_NOFILE is unlimited: nothing to raise");
  sprout_rlimit limits[] = {
      {.resource = RLIMIT_CORE, .soft = 0, .hard = 0},
      {.resource = RLIMIT_NOFILE, .soft = files.rlim_cur, .hard = files.rlim_max + 1},
  };
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.limits = limits;
  a.limits_len = 2;
  expect_refused(&a, EPERM, SPROUT_STAGE_RLIMITS, "limits[1] RLIMIT_NOFILE");
}

TEST(invalid_rlimits_are_refused_before_any_process) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_rlimit limits[2] = {{.resource = RLIMIT_NOFILE, .soft = 10, .hard = 9}};
  a.limits = limits;
  a.limits_len = 1;
  expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "limits[0]: RLIMIT_NOFILE soft limit 10");
  limits[0].soft = UINT64_MAX;
  expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "soft limit unlimited");
  limits[0] = (sprout_rlimit){.resource = 99, .soft = 1, .hard = 1};
  expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "limits[0]: unknown resource 99");
  limits[0].resource = -1;
  expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "unknown resource -1");
  limits[0].resource = RLIM_NLIMITS;
  expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "unknown resource");
  limits[0] = (sprout_rlimit){.resource = RLIMIT_CORE, .soft = 0, .hard = 0};
  limits[1] = limits[0];
  a.limits_len = 2;
  expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "limits[1]: RLIMIT_CORE is already set by limits[0]");
}

/* --- no_new_privs and seccomp -------------------------------------------------------------- */

TEST(no_new_privs_is_0_without_the_flag_and_1_with_it) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  probe p;
  char *status = held_probe_status(&a, NULL, &p);
  CHECK(!strcmp(trimmed(status, "NoNewPrivs"), "0"), "NoNewPrivs without the flag:\n%s", status);
  finish_ok(&p);
  a.flags = SPROUT_EXEC_NO_NEW_PRIVS;
  status = held_probe_status(&a, NULL, &p);
  CHECK(!strcmp(trimmed(status, "NoNewPrivs"), "1"), "NoNewPrivs with the flag:\n%s", status);
  finish_ok(&p);
}

TEST(seccomp_filter_makes_getppid_fail_with_its_errno) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_NO_NEW_PRIVS;
  probe p;
  /* Without a filter, getppid answers. */
  char *status = held_probe_status(&a, "try-getppid", &p);
  char want[64];
  snprintf(want, sizeof want, "getppid=%d errno=0", (int)getpid());
  const char *line = probe_line(&p);
  CHECK(!strcmp(line, want), "probe said '%s', want '%s'", line, want);
  CHECK(!strcmp(trimmed(status, "Seccomp"), "0"), "Seccomp without a filter:\n%s", status);
  finish_ok(&p);

  use_getppid_filter(&a);
  status = held_probe_status(&a, "try-getppid", &p);
  check_getppid_filtered(&p);
  CHECK(!strcmp(trimmed(status, "Seccomp"), "2"), "Seccomp:\n%s", status);
  CHECK(!strcmp(trimmed(status, "Seccomp_filters"), "1"), "Seccomp_filters:\n%s", status);
  CHECK(!strcmp(trimmed(status, "NoNewPrivs"), "1"), "NoNewPrivs:\n%s", status);
  finish_ok(&p);
}

TEST(root_gives_a_nonroot_target_a_filter_without_no_new_privs) {
  need_root();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_credentials c = {.uid = 1000, .gid = 1000, .extra_gids = NULL, .extra_gids_len = 0};
  a.credentials = &c;
  use_getppid_filter(&a);
  /* sprout's own getppid check after PR_SET_PDEATHSIG now runs under the filter: its
   * failure must not read as "the parent died". */
  a.parent_death_signal = SIGKILL;
  probe p;
  char *status = held_probe_status(&a, "try-getppid", &p);
  check_getppid_filtered(&p);
  check_ids(status, "Uid", 1000);
  CHECK(!strcmp(trimmed(status, "Seccomp"), "2"), "Seccomp:\n%s", status);
  CHECK(!strcmp(trimmed(status, "NoNewPrivs"), "0"), "NoNewPrivs:\n%s", status);
  finish_ok(&p);
}

TEST(nonroot_caller_without_no_new_privs_cannot_install_a_filter) {
  need_root();
  become(65534, 65534);
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  use_getppid_filter(&a);
  expect_refused(&a, EACCES, SPROUT_STAGE_SECCOMP, "without no_new_privs");
  /* with no_new_privs it can */
  a.flags = SPROUT_EXEC_NO_NEW_PRIVS;
  probe p;
  char *status = held_probe_status(&a, "try-getppid", &p);
  check_getppid_filtered(&p);
  CHECK(!strcmp(trimmed(status, "Seccomp"), "2"), "Seccomp:\n%s", status);
  finish_ok(&p);
}

TEST(a_filter_the_kernel_rejects_fails_at_seccomp) {
  need_root();
  /* No final return: the kernel's checker refuses it. */
  static const struct sock_filter no_return[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
  };
  /* A load beyond struct seccomp_data. */
  static const struct sock_filter out_of_bounds[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, 4096),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  for (int nnp = 0; nnp < 2; nnp++) {
    a.flags = nnp ? SPROUT_EXEC_NO_NEW_PRIVS : 0;
    a.seccomp_filter = no_return;
    a.seccomp_filter_len = 1;
    expect_refused(&a, EINVAL, SPROUT_STAGE_SECCOMP, "seccomp_filter of 1 instructions");
    a.seccomp_filter = out_of_bounds;
    a.seccomp_filter_len = 2;
    expect_refused(&a, EINVAL, SPROUT_STAGE_SECCOMP, "seccomp_filter of 2 instructions");
  }
  /* Longer than BPF_MAXINSNS: refused before any process. */
  static struct sock_filter too_long[BPF_MAXINSNS + 1];
  for (size_t i = 0; i < BPF_MAXINSNS + 1; i++)
    too_long[i] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
  a.seccomp_filter = too_long;
  a.seccomp_filter_len = BPF_MAXINSNS + 1;
  expect_refused(&a, EINVAL, SPROUT_STAGE_ARGS, "BPF_MAXINSNS");
}

/* --- everything at once ------------------------------------------------------------------------ */

TEST(full_profile_in_one_spawn) {
  need_root();
  need_caps(BIT(CAP_CHOWN) | BIT(CAP_NET_BIND_SERVICE));
  struct rlimit files;
  CHECK(getrlimit(RLIMIT_NOFILE, &files) == 0, "getrlimit");
  if (files.rlim_max != RLIM_INFINITY && files.rlim_max < 60) SKIP("RLIMIT_NOFILE hard limit below 60");

  const uint32_t groups[] = {1002, 1001};
  sprout_credentials c = {.uid = 1000, .gid = 1003, .extra_gids = groups, .extra_gids_len = 2};
  sprout_capabilities caps;
  caps.bounding = BIT(CAP_CHOWN) | BIT(CAP_NET_BIND_SERVICE);
  caps.permitted = BIT(CAP_CHOWN) | BIT(CAP_NET_BIND_SERVICE);
  caps.effective = BIT(CAP_CHOWN);
  caps.inheritable = BIT(CAP_NET_BIND_SERVICE);
  caps.ambient = BIT(CAP_NET_BIND_SERVICE);
  sprout_rlimit limits[] = {
      {.resource = RLIMIT_NOFILE, .soft = 50, .hard = 60},
      {.resource = RLIMIT_CORE, .soft = 0, .hard = 0},
  };
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.flags = SPROUT_EXEC_NO_NEW_PRIVS;
  a.credentials = &c;
  a.capabilities = &caps;
  a.limits = limits;
  a.limits_len = 2;
  a.parent_death_signal = SIGKILL;
  a.umask = 077;
  a.working_directory = "/tmp";
  use_getppid_filter(&a);
  probe p;
  char *status = held_probe_status(&a, "try-getppid", &p);
  check_getppid_filtered(&p);
  check_ids(status, "Uid", 1000);
  check_ids(status, "Gid", 1003);
  CHECK(!strcmp(trimmed(status, "Groups"), "1001 1002"), "Groups:\n%s", status);
  check_caps(status, "CapEff", caps.ambient);
  check_caps(status, "CapPrm", caps.ambient);
  check_caps(status, "CapInh", caps.inheritable);
  check_caps(status, "CapBnd", caps.bounding);
  check_caps(status, "CapAmb", caps.ambient);
  CHECK(!strcmp(trimmed(status, "NoNewPrivs"), "1"), "NoNewPrivs:\n%s", status);
  CHECK(!strcmp(trimmed(status, "Seccomp"), "2"), "Seccomp:\n%s", status);
  CHECK(!strcmp(trimmed(status, "Umask"), "0077"), "Umask:\n%s", status);
  const char *got = proc_limit(p.pid, "Max open files");
  CHECK(!strcmp(got, "50 60"), "open files '%s'", got);
  got = proc_limit(p.pid, "Max core file size");
  CHECK(!strcmp(got, "0 0"), "core file size '%s'", got);
  char cwd[256];
  char link[64];
  snprintf(link, sizeof link, "/proc/%d/cwd", p.pid);
  ssize_t n = readlink(link, cwd, sizeof cwd - 1);
  cwd[n < 0 ? 0 : n] = 0;
  CHECK(!strcmp(cwd, "/tmp"), "cwd is '%s'", cwd);
  finish_ok(&p);
}

int main(void) {
  RUN(credentials_set_real_effective_saved_ids_and_groups);
  RUN(empty_extra_gids_means_no_supplementary_groups);
  RUN(nonroot_caller_asking_for_uid_0_gets_eperm_at_credentials);
  RUN(invalid_credentials_are_refused_before_any_process);
  RUN(uid_change_leaves_every_caller_thread_alone);
  RUN(nonroot_target_holds_its_ambient_capabilities);
  RUN(root_target_with_a_reduced_bounding_set);
  RUN(the_callers_ambient_set_does_not_leak_into_the_child);
  RUN(sets_the_kernel_refuses_fail_at_capabilities);
  RUN(a_caller_without_cap_setpcap_passes_its_own_reduced_bounding_set);
  RUN(an_ambient_raise_the_kernel_refuses_fails_at_capabilities);
  RUN(invalid_capabilities_are_refused_before_any_process);
  RUN(rlimits_apply_in_the_child_and_never_in_the_caller);
  RUN(raising_a_hard_limit_without_cap_sys_resource_fails_at_rlimits);
  RUN(invalid_rlimits_are_refused_before_any_process);
  RUN(no_new_privs_is_0_without_the_flag_and_1_with_it);
  RUN(seccomp_filter_makes_getppid_fail_with_its_errno);
  RUN(root_gives_a_nonroot_target_a_filter_without_no_new_privs);
  RUN(nonroot_caller_without_no_new_privs_cannot_install_a_filter);
  RUN(a_filter_the_kernel_rejects_fails_at_seccomp);
  RUN(full_profile_in_one_spawn);
  return summary();
}
