/* sprout never reads a byte of the caller's memory beyond what the caller said: each array
 * and the struct itself end right before an inaccessible page here, and a length above its
 * maximum is refused before anything is read through it (reading would fault). Bad pointers
 * are named in the message. */
#include "core_util.h"

#include <sched.h>
#include <sys/mman.h>
#include <sys/resource.h>

/* The last `bytes` bytes of a readable page followed by an inaccessible one. */
static void *at_the_edge(size_t bytes) {
  long page = sysconf(_SC_PAGESIZE);
  char *area = mmap(NULL, 2 * (size_t)page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(area != MAP_FAILED, "mmap: %s", strerror(errno));
  CHECK(mprotect(area + page, (size_t)page, PROT_NONE) == 0, "mprotect: %s", strerror(errno));
  memset(area, 0, (size_t)page);
  return area + page - bytes;
}

static const char *argv_true[] = {"/bin/true", NULL};

/* Spawns with a, expecting -errno_ at stage ARGS and `culprit` in the message. */
static void check_refused(sprout_exec_args *a, int errno_, const char *culprit) {
  sprout_process proc;
  sprout_error err;
  CHECK_FAILS(sprout_exec_async(a, NULL, 0, &proc, &err), &err, errno_, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, culprit);
}

TEST(lengths_above_their_maxima_are_refused_before_anything_is_read) {
  const size_t huge = (size_t)1 << 40;
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv_true;

  sprout_credentials c = {.uid = 0, .gid = 0, .extra_gids = at_the_edge(4), .extra_gids_len = huge};
  a.credentials = &c;
  check_refused(&a, EINVAL, "credentials.extra_gids_len 1099511627776 is above NGROUPS_MAX 65536");
  c.extra_gids_len = 65537;
  check_refused(&a, EINVAL, "credentials.extra_gids_len 65537 is above NGROUPS_MAX 65536");
  a.credentials = NULL;

  a.seccomp_filter = at_the_edge(8);
  a.seccomp_filter_len = huge;
  check_refused(&a, EINVAL, "seccomp_filter_len 1099511627776 is above BPF_MAXINSNS 4096");
  a.seccomp_filter_len = 4097;
  check_refused(&a, EINVAL, "seccomp_filter_len 4097 is above BPF_MAXINSNS 4096");
  a.seccomp_filter = NULL;
  a.seccomp_filter_len = 0;

  sprout_namespace user = {CLONE_NEWUSER, -1};
  a.namespaces = &user;
  a.namespaces_len = 1;
  a.uid_map = at_the_edge(sizeof(sprout_id_map));
  a.uid_map_len = huge;
  check_refused(&a, EINVAL, "uid_map_len 1099511627776 is above the 340 lines the kernel takes");
  a.uid_map_len = 341;
  check_refused(&a, EINVAL, "uid_map_len 341 is above the 340 lines the kernel takes");
  a.uid_map_len = 0;
  a.gid_map = at_the_edge(sizeof(sprout_id_map));
  a.gid_map_len = huge;
  check_refused(&a, EINVAL, "gid_map_len 1099511627776 is above the 340 lines the kernel takes");
}

TEST(arrays_that_end_at_an_inaccessible_page_are_read_to_their_end_and_no_further) {
  /* One group, one limit, one fd, each the last item before the inaccessible page. */
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv_true;
  uint32_t *group = at_the_edge(sizeof *group);
  *group = getegid();
  sprout_credentials c = {.uid = geteuid(), .gid = getegid(), .extra_gids = group, .extra_gids_len = 1};
  a.credentials = &c;
  sprout_rlimit *limit = at_the_edge(sizeof *limit);
  *limit = (sprout_rlimit){RLIMIT_CORE, 0, 0};
  a.limits = limit;
  a.limits_len = 1;
  int32_t *fds = at_the_edge(sizeof *fds);
  *fds = -1;
  int status = -1;
  sprout_error err;
  CHECK_OK(sprout_exec(&a, fds, 1, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

TEST(a_struct_shorter_than_v1_is_read_no_further_than_its_size) {
  /* Only the 8 bytes the caller declares are accessible. */
  sprout_exec_args *a = at_the_edge(8);
  a->size = 8;
  check_refused(a, EINVAL, "args.size 8 is smaller than sprout_exec_args v1");
}

TEST(null_and_misaligned_arrays_and_structs_are_named) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.argv = argv_true;
  sprout_process proc;
  sprout_error err;
  int32_t fds[4] = {0, 1, 2, 0};
  CHECK_FAILS(sprout_exec_async(&a, (const int32_t *)(const void *)((const char *)fds + 1), 2, &proc, &err),
              &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "fds is misaligned");
  CHECK_FAILS(sprout_exec_async(&a, NULL, 3, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "fds is NULL with fds_len 3");
  a.limits_len = 2;
  check_refused(&a, EINVAL, "limits is NULL with limits_len 2");
  a.limits_len = 0;
  static uint64_t words[8];
  a.credentials = (const sprout_credentials *)(const void *)((const char *)words + 2);
  check_refused(&a, EINVAL, "credentials is misaligned");
}

int main(void) {
  RUN(lengths_above_their_maxima_are_refused_before_anything_is_read);
  RUN(arrays_that_end_at_an_inaccessible_page_are_read_to_their_end_and_no_further);
  RUN(a_struct_shorter_than_v1_is_read_no_further_than_its_size);
  RUN(null_and_misaligned_arrays_and_structs_are_named);
  return summary();
}
