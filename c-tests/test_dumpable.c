/*
 * The caller's dumpable flag (PR_GET_DUMPABLE) after spawns whose child changes credentials
 * or joins a user namespace: the child shares the caller's memory, and the kernel sets the
 * flag of that memory when the child's ids change. The caller must read what it read before,
 * whatever fs.suid_dumpable says, with one spawn or many at once, and an unprivileged caller
 * must keep its /proc files and its id-map spawns.
 */
#include "harness.h"

#include <linux/capability.h>
#include <pthread.h>
#include <sched.h>
#include <sys/stat.h>
#include <sys/syscall.h>

static int dumpable(void) { return prctl(PR_GET_DUMPABLE); }

static void set_dumpable(int value) {
  CHECK(prctl(PR_SET_DUMPABLE, value) == 0, "PR_SET_DUMPABLE %d: %s", value, strerror(errno));
}

/* Starts the probe with `a` (argv set here), waits for it and checks it exited 0. */
static void spawn_ok(sprout_exec_args *a, const char *what) {
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a->argv = argv;
  int status = -1;
  sprout_error err;
  int rc = sprout_exec(a, NULL, 0, &status, &err);
  CHECK(rc == 0, "%s: %d (%s)", what, rc, err.message);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "%s: status %#x", what, status);
}

static const sprout_id_map BIG_MAP = {0, 100000, 65536};

/* A process that sits in a user namespace of its own, created after dropping to `owner`: a
 * namespace the caller does not own. Its pid; *fd receives the namespace. */
static int user_namespace_owned_by(unsigned owner, int *fd) {
  int ready[2];
  CHECK(pipe(ready) == 0, "pipe");
  int pid = fork();
  CHECK(pid >= 0, "fork");
  if (pid == 0) {
    if (syscall(SYS_setresgid, owner, owner, owner) || syscall(SYS_setresuid, owner, owner, owner) ||
        unshare(CLONE_NEWUSER))
      _exit(1);
    (void)!write(ready[1], "x", 1);
    pause();
    _exit(0);
  }
  char c;
  CHECK(read(ready[0], &c, 1) == 1, "the namespace holder failed");
  close(ready[0]);
  close(ready[1]);
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/ns/user", pid);
  *fd = open(path, O_RDONLY | O_CLOEXEC);
  CHECK(*fd >= 0, "open %s: %s", path, strerror(errno));
  return pid;
}

/* Each kind of spawn that, tried alone, changed the caller's flag: the flag must read the same
 * after it, dumpable or not. */
TEST(spawns_that_change_ids_or_join_a_foreign_user_namespace_keep_the_callers_flag) {
  need_root();
  sprout_credentials nobody = {65534, 65534, NULL, 0};
  sprout_credentials other_gid = {0, 65534, NULL, 0};
  sprout_credentials root = {0, 0, NULL, 0};
  sprout_namespace new_user = {CLONE_NEWUSER, -1};
  int holder_fd;
  int holder = user_namespace_owned_by(65534, &holder_fd);
  sprout_namespace foreign_user = {CLONE_NEWUSER, holder_fd};
  for (int flag = 1; flag >= 0; flag--) {
    set_dumpable(flag);
    sprout_exec_args a;

    sprout_exec_args_init(&a);
    a.credentials = &nobody;
    spawn_ok(&a, "credentials 65534");
    CHECK(dumpable() == flag, "after credentials 65534: %d, not %d", dumpable(), flag);

    sprout_exec_args_init(&a);
    a.credentials = &other_gid;
    spawn_ok(&a, "credentials gid 65534");
    CHECK(dumpable() == flag, "after credentials gid 65534: %d, not %d", dumpable(), flag);

    sprout_exec_args_init(&a);
    a.namespaces = &new_user;
    a.namespaces_len = 1;
    a.uid_map = &BIG_MAP;
    a.uid_map_len = 1;
    a.gid_map = &BIG_MAP;
    a.gid_map_len = 1;
    a.credentials = &root;
    spawn_ok(&a, "root inside a new user namespace, 100000 outside");
    CHECK(dumpable() == flag, "after uid 0 -> 100000: %d, not %d", dumpable(), flag);

    sprout_exec_args_init(&a);
    a.namespaces = &foreign_user;
    a.namespaces_len = 1;
    spawn_ok(&a, "joining a user namespace owned by 65534");
    CHECK(dumpable() == flag, "after the join: %d, not %d", dumpable(), flag);
  }
  kill(holder, SIGKILL);
  waitpid(holder, NULL, 0);
}

/* Capability numbers (capabilities(7)). */
#define CAP_SETGID_BIT 6
#define CAP_SETUID_BIT 7

/* Makes the test process uid and gid 1000, no groups, holding only CAP_SETUID and CAP_SETGID:
 * an unprivileged caller allowed to start processes under other ids and to map any ids. It
 * is dumpable, as such a process is once it has settled (the id change cleared the flag). */
static void become_1000_with_setuid_setgid(void) {
  CHECK(prctl(PR_SET_KEEPCAPS, 1) == 0, "PR_SET_KEEPCAPS");
  CHECK(syscall(SYS_setgroups, 0, NULL) == 0, "setgroups: %s", strerror(errno));
  CHECK(syscall(SYS_setresgid, 1000, 1000, 1000) == 0, "setresgid: %s", strerror(errno));
  CHECK(syscall(SYS_setresuid, 1000, 1000, 1000) == 0, "setresuid: %s", strerror(errno));
  struct __user_cap_header_struct header = {_LINUX_CAPABILITY_VERSION_3, 0};
  struct __user_cap_data_struct data[2] = {{0, 0, 0}, {0, 0, 0}};
  data[0].effective = data[0].permitted = (1u << CAP_SETUID_BIT) | (1u << CAP_SETGID_BIT);
  CHECK(syscall(SYS_capset, &header, data) == 0, "capset: %s", strerror(errno));
  set_dumpable(1);
}

static unsigned owner_of(const char *path) {
  struct stat st;
  CHECK(stat(path, &st) == 0, "stat %s: %s", path, strerror(errno));
  return st.st_uid;
}

/* A new user namespace, root inside and 100000.. outside, whose maps the caller writes. */
static void id_map_spawn_ok(const char *what) {
  sprout_namespace new_user = {CLONE_NEWUSER, -1};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.namespaces = &new_user;
  a.namespaces_len = 1;
  a.uid_map = &BIG_MAP;
  a.uid_map_len = 1;
  a.gid_map = &BIG_MAP;
  a.gid_map_len = 1;
  spawn_ok(&a, what);
}

TEST(an_unprivileged_caller_keeps_its_proc_files_and_its_id_map_spawns) {
  need_root();
  become_1000_with_setuid_setgid();
  sprout_credentials other = {1001, 1001, NULL, 0};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.credentials = &other;
  spawn_ok(&a, "credentials 1001");
  CHECK(dumpable() == 1, "after credentials 1001 the caller reads dumpable %d", dumpable());
  CHECK(owner_of("/proc/self") == 1000, "/proc/self is owned by %u", owner_of("/proc/self"));
  CHECK(owner_of("/proc/self/status") == 1000, "/proc/self/status is owned by %u",
        owner_of("/proc/self/status"));
  /* The maps are written to /proc/CHILD/uid_map, owned by root while the shared memory is not
   * dumpable. */
  id_map_spawn_ok("id maps after a credentials spawn");
}

/* Runs `body` in a child process with fs.suid_dumpable at `value`, and puts the sysctl back
 * once the child has ended, however it ended (a failed CHECK exits it; it is killed after
 * 20 s). Returns the child's wait status. */
static int with_suid_dumpable(const char *value, void (*body)(void)) {
  char *old = read_file("/proc/sys/fs/suid_dumpable");
  CHECK(old != NULL, "cannot read fs.suid_dumpable");
  int fd = open("/proc/sys/fs/suid_dumpable", O_WRONLY | O_CLOEXEC);
  CHECK(fd >= 0, "open fs.suid_dumpable: %s", strerror(errno));
  int pid = -1;
  if (write(fd, value, strlen(value)) == (ssize_t)strlen(value)) {
    pid = fork();
    if (pid == 0) {
      body();
      _exit(0);
    }
  }
  int status = -1;
  for (int i = 0; pid > 0 && i < 20000; i++) {
    if (waitpid(pid, &status, WNOHANG) == pid) break;
    usleep(1000);
  }
  if (pid > 0 && kill(pid, SIGKILL) == 0) waitpid(pid, &status, 0);
  int restored = pwrite(fd, old, strlen(old), 0) == (ssize_t)strlen(old);
  close(fd);
  CHECK(restored, "could not restore fs.suid_dumpable to %s", old);
  CHECK(pid > 0, "could not set fs.suid_dumpable to %s", value);
  free(old);
  return status;
}

static void credentials_spawn_from_a_non_dumpable_caller(void) {
  set_dumpable(0);
  sprout_credentials nobody = {65534, 65534, NULL, 0};
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.credentials = &nobody;
  spawn_ok(&a, "credentials 65534");
  CHECK(dumpable() == 0, "a caller that made itself non-dumpable reads %d", dumpable());
}

/* With fs.suid_dumpable=1 the kernel makes the shared memory dumpable when the child's ids
 * change: a caller that chose to be non-dumpable must stay so. */
TEST(with_suid_dumpable_1_a_caller_that_chose_to_be_non_dumpable_stays_so) {
  need_root();
  int status = with_suid_dumpable("1", credentials_spawn_from_a_non_dumpable_caller);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

/* --- many threads at once -------------------------------------------------------------------- */

#define ROUNDS 150

struct worker {
  pthread_t thread;
  int id_maps; /* id-map spawns; otherwise credentials spawns */
  unsigned uid; /* for credentials spawns */
  char failure[300];
};

static void *work(void *arg) {
  struct worker *w = arg;
  sprout_credentials other = {w->uid, w->uid, NULL, 0};
  sprout_namespace new_user = {CLONE_NEWUSER, -1};
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  for (int i = 0; i < ROUNDS && !w->failure[0]; i++) {
    sprout_exec_args a;
    sprout_exec_args_init(&a);
    a.argv = argv;
    if (w->id_maps) {
      a.namespaces = &new_user;
      a.namespaces_len = 1;
      a.uid_map = &BIG_MAP;
      a.uid_map_len = 1;
      a.gid_map = &BIG_MAP;
      a.gid_map_len = 1;
    } else {
      a.credentials = &other;
    }
    int status = -1;
    sprout_error err;
    int rc = sprout_exec(&a, NULL, 0, &status, &err);
    if (rc != 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
      snprintf(w->failure, sizeof w->failure, "%s spawn %d: rc %d status %#x (%s)",
               w->id_maps ? "id-map" : "credentials", i, rc, status, err.message);
  }
  return NULL;
}

/* Runs `n` workers at once, the first `id_map_workers` of them doing id-map spawns. */
static void run_workers(int n, int id_map_workers, unsigned uid) {
  struct worker workers[8];
  CHECK(n <= 8, "too many workers");
  for (int i = 0; i < n; i++) {
    workers[i] = (struct worker){.id_maps = i < id_map_workers, .uid = uid};
    CHECK(pthread_create(&workers[i].thread, NULL, work, &workers[i]) == 0, "pthread_create");
  }
  for (int i = 0; i < n; i++) pthread_join(workers[i].thread, NULL);
  for (int i = 0; i < n; i++) CHECK(!workers[i].failure[0], "%s", workers[i].failure);
}

/* Overlapping credentials spawns: one spawn must not save the flag another one's child has
 * just changed, and put that back at the end. */
TEST(threads_changing_credentials_at_once_leave_the_flag_as_it_was) {
  need_root();
  for (int flag = 1; flag >= 0; flag--) {
    set_dumpable(flag);
    run_workers(4, 0, 65534);
    CHECK(dumpable() == flag, "after 4 x %d credentials spawns: %d, not %d", ROUNDS, dumpable(),
          flag);
  }
}

/* An unprivileged caller's id-map spawns, while other threads' children change their ids and
 * with them the flag of the memory all share: the maps must still be written. */
TEST(an_unprivileged_caller_maps_ids_while_other_threads_change_credentials) {
  need_root();
  become_1000_with_setuid_setgid();
  run_workers(4, 2, 1001);
  CHECK(dumpable() == 1, "after the spawns: %d", dumpable());
  CHECK(owner_of("/proc/self") == 1000, "/proc/self is owned by %u", owner_of("/proc/self"));
}

int main(void) {
  RUN(spawns_that_change_ids_or_join_a_foreign_user_namespace_keep_the_callers_flag);
  RUN(an_unprivileged_caller_keeps_its_proc_files_and_its_id_map_spawns);
  RUN(with_suid_dumpable_1_a_caller_that_chose_to_be_non_dumpable_stays_so);
  RUN(threads_changing_credentials_at_once_leave_the_flag_as_it_was);
  RUN(an_unprivileged_caller_maps_ids_while_other_threads_change_credentials);
  return summary();
}
