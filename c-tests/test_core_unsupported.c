/* Fields of the v1 ABI whose implementation has not landed yet are refused with -ENOTSUP in
 * stage ARGS, before any process exists: never silently ignored. One test per field: delete a
 * field's test when its implementation lands (its own tests then cover it). */
#include "core_util.h"

#include <sched.h>
#include <sys/resource.h>

/* Spawns the probe under a and checks the refusal names `what`, and that no process started. */
static void check_refused(sprout_exec_args *a, const int32_t *fds, size_t fds_len, const char *what) {
  const char *args[] = {"exit", "0", NULL};
  int pid;
  sprout_error err;
  CHECK_FAILS(spawn_probe(a, args, fds, fds_len, &pid, &err), &err, ENOTSUP, SPROUT_STAGE_ARGS);
  char prefix[128];
  snprintf(prefix, sizeof prefix, "args: %s", what);
  CHECK(!strncmp(err.message, prefix, strlen(prefix)), "message \"%s\" does not start with \"%s\"",
        err.message, prefix);
  int status;
  CHECK(waitpid(-1, &status, WNOHANG) < 0 && errno == ECHILD, "a process was started");
}

TEST(namespaces_are_refused) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_namespace ns = {CLONE_NEWUTS, -1};
  a.namespaces = &ns;
  a.namespaces_len = 1;
  check_refused(&a, NULL, 0, "namespaces");
}

TEST(a_uid_map_is_refused) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_id_map map = {0, getuid(), 1};
  a.uid_map = &map;
  a.uid_map_len = 1;
  check_refused(&a, NULL, 0, "namespaces");
}

TEST(a_gid_map_is_refused) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  sprout_id_map map = {0, getgid(), 1};
  a.gid_map = &map;
  a.gid_map_len = 1;
  check_refused(&a, NULL, 0, "namespaces");
}

TEST(cgroup_fd_is_refused) {
  int dir = open("/sys/fs/cgroup", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dir < 0) dir = open("/", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  CHECK(dir >= 0, "open: %s", strerror(errno));
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.cgroup_fd = dir;
  check_refused(&a, NULL, 0, "cgroup_fd");
}

int main(void) {
  RUN(namespaces_are_refused);
  RUN(a_uid_map_is_refused);
  RUN(a_gid_map_is_refused);
  RUN(cgroup_fd_is_refused);
  return summary();
}
