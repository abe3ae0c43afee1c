/*
 * A caller compiled against the frozen ABI 1.0 header (c-tests/v1/sprout.h), run against the
 * library being built (tests/abi_versions.rs): its sprout_exec_args is 1.0's size, and the
 * library must neither write past it (sprout_exec_args_init) nor read past it.
 */
#include <stddef.h>
#include <sys/mman.h>

#include "core_util.h"

TEST(the_header_is_the_1_0_one) {
  CHECK(sizeof(sprout_exec_args) == 176, "sizeof(sprout_exec_args) %zu", sizeof(sprout_exec_args));
  CHECK(sprout_abi_version() == SPROUT_ABI_VERSION, "sprout_abi_version() %u", sprout_abi_version());
}

/* The struct ends right before an inaccessible page: initialising it or spawning with it must
 * touch no byte past it (the fault would end this test). */
TEST(init_and_spawn_stay_inside_a_1_0_struct) {
  long page = sysconf(_SC_PAGESIZE);
  char *area = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(area != MAP_FAILED, "mmap");
  CHECK(mprotect(area + page, (size_t)page, PROT_NONE) == 0, "mprotect");
  sprout_exec_args *a = (sprout_exec_args *)(void *)(area + page - sizeof(sprout_exec_args));
  memset(a, 0x5A, sizeof *a);
  sprout_exec_args_init(a);
  CHECK(a->size == sizeof *a, "size %u", a->size);
  CHECK(a->umask == 022 && a->exec_fd == -1 && a->cgroup_fd == -1 && a->flags == 0 &&
            a->argv == NULL && a->container_id == NULL,
        "the 1.0 defaults");
  const char *argv[] = {probe_path(), "report", NULL};
  a->argv = argv;
  char *out = run_probe(a, (const char *const[]){"report", NULL});
  CHECK(!strcmp(field(out, "umask"), "0022"), "umask %s", field(out, "umask"));
  CHECK(!strcmp(field(out, "status=SigBlk"), "0000000000000000"), "SigBlk %s", field(out, "status=SigBlk"));
  free(out);
}

int main(void) {
  RUN(the_header_is_the_1_0_one);
  RUN(init_and_spawn_stay_inside_a_1_0_struct);
  return summary();
}
