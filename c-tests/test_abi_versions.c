/*
 * ABI 1.1's mechanics, seen by a caller compiled against the 1.1 header: the inline
 * sprout_exec_args_init sizes the struct as the caller compiled it while the exported function
 * keeps initialising the 1.0 struct only, the version queries, and the size rule between
 * versions (a 1.0-sized struct is read only up to its size; sizes between versions are
 * refused). Callers compiled against the frozen 1.0 header, and this header against a 1.0
 * library, are in tests/abi_versions.rs.
 */
#include <stddef.h>
#include <sys/mman.h>

#include "core_util.h"

/* A struct followed by bytes that must stay as they are. */
struct guarded {
  sprout_exec_args a;
  unsigned char after[64];
};

static int all_bytes(const void *p, size_t n, unsigned char value) {
  const unsigned char *b = p;
  for (size_t i = 0; i < n; i++)
    if (b[i] != value) return 0;
  return 1;
}

TEST(the_macro_zeroes_and_sizes_the_struct_this_header_declares) {
  struct guarded g;
  memset(&g, 0xAA, sizeof g);
  sprout_exec_args_init(&g.a);
  CHECK(g.a.size == sizeof g.a, "size %u, sizeof %zu", g.a.size, sizeof g.a);
  CHECK(g.a.size == SPROUT_EXEC_ARGS_SIZE_1_1, "size %u", g.a.size);
  CHECK(sprout_exec_args_size() == sizeof g.a, "the library knows %zu bytes", sprout_exec_args_size());
  CHECK(g.a.umask == 022 && g.a.exec_fd == -1 && g.a.cgroup_fd == -1, "the 1.0 defaults");
  /* Every 1.1 field is zero, so unset; nothing past the struct is touched. */
  size_t tail = offsetof(sprout_exec_args, flags2);
  CHECK(tail == SPROUT_EXEC_ARGS_SIZE_1_0, "the 1.1 fields start at %zu", tail);
  CHECK(all_bytes((char *)&g.a + tail, sizeof g.a - tail, 0), "a 1.1 field is not zero");
  CHECK(all_bytes(g.after, sizeof g.after, 0xAA), "the macro wrote past the struct");
  sprout_exec_args_init(NULL); /* nothing, as the function does */
}

TEST(the_exported_function_initialises_only_the_1_0_struct) {
  struct guarded g;
  memset(&g, 0xAA, sizeof g);
  (sprout_exec_args_init)(&g.a);
  CHECK(g.a.size == SPROUT_EXEC_ARGS_SIZE_1_0, "size %u", g.a.size);
  CHECK(g.a.umask == 022 && g.a.exec_fd == -1 && g.a.cgroup_fd == -1, "the 1.0 defaults");
  CHECK(all_bytes((char *)&g.a + SPROUT_EXEC_ARGS_SIZE_1_0,
                  sizeof g - SPROUT_EXEC_ARGS_SIZE_1_0, 0xAA),
        "the function wrote past the 1.0 struct");
  /* Its address is the function's too. */
  void (*init)(sprout_exec_args *) = &sprout_exec_args_init;
  memset(&g, 0xAA, sizeof g);
  init(&g.a);
  CHECK(g.a.size == SPROUT_EXEC_ARGS_SIZE_1_0, "size %u", g.a.size);
}

TEST(the_version_queries_describe_this_library) {
  CHECK(sprout_abi_version() == SPROUT_ABI_VERSION && SPROUT_ABI_VERSION == 1, "generation");
  CHECK(sprout_abi_minor() == SPROUT_ABI_MINOR && SPROUT_ABI_MINOR == 1, "minor");
  uint64_t all = SPROUT_EXEC2_SETPGROUP | SPROUT_EXEC2_KEEP_IGNORED_SIGNALS |
                 SPROUT_EXEC2_KEEP_UMASK | SPROUT_EXEC2_OOM_SCORE_ADJ | SPROUT_EXEC2_PERSONALITY |
                 SPROUT_EXEC2_ROOT_FD | SPROUT_EXEC2_PTRACE | SPROUT_EXEC2_NO_DEFAULT_PATH |
                 SPROUT_EXEC2_PAUSED | SPROUT_EXEC2_LANDLOCK;
  CHECK(sprout_exec_flags2_known() == all, "known flags2 %#llx",
        (unsigned long long)sprout_exec_flags2_known());
}

TEST(the_stages_of_1_1_follow_those_of_1_0) {
  const uint32_t stages[] = {SPROUT_STAGE_SCHED, SPROUT_STAGE_OOM_SCORE_ADJ, SPROUT_STAGE_PERSONALITY,
                             SPROUT_STAGE_UTS, SPROUT_STAGE_CHROOT, SPROUT_STAGE_PTRACE,
                             SPROUT_STAGE_LANDLOCK};
  const char *names[] = {"sched", "oom_score_adj", "personality", "uts", "chroot", "ptrace",
                         "landlock"};
  for (size_t i = 0; i < sizeof stages / sizeof stages[0]; i++) {
    CHECK(stages[i] == SPROUT_STAGE_WAIT + 1 + i, "stage %s has value %u", names[i], stages[i]);
    CHECK(!strcmp(sprout_stage_name(stages[i]), names[i]), "stage %u is named %s", stages[i],
          sprout_stage_name(stages[i]));
  }
  CHECK(!strcmp(sprout_stage_name(SPROUT_STAGE_LANDLOCK + 1), "unknown"), "stage past the last");
}

/* A struct of 1.0's size placed right before an inaccessible page: the library must read no
 * byte past `size` (the fault would end this test). */
TEST(a_1_0_sized_struct_is_read_up_to_its_size_only) {
  long page = sysconf(_SC_PAGESIZE);
  char *area = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  CHECK(area != MAP_FAILED, "mmap");
  CHECK(mprotect(area + page, (size_t)page, PROT_NONE) == 0, "mprotect");
  sprout_exec_args *a = (sprout_exec_args *)(void *)(area + page - SPROUT_EXEC_ARGS_SIZE_1_0);
  (sprout_exec_args_init)(a);
  const char *argv[] = {probe_path(), "exit", "7", NULL};
  a->argv = argv;
  int status = -1;
  sprout_error err;
  CHECK_OK(sprout_exec(a, NULL, 0, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 7, "status %#x", status);
}

/* With size 1.0's, whatever follows is not the struct: not read, so not refused. */
TEST(fields_past_size_are_not_read) {
  struct guarded g;
  memset(&g, 0xFF, sizeof g);
  (sprout_exec_args_init)(&g.a);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  g.a.argv = argv;
  int status = -1;
  sprout_error err;
  CHECK_OK(sprout_exec(&g.a, NULL, 0, &status, &err), &err);
  CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "status %#x", status);
}

/* Any size from 1.0's up is read up to its end: a field it cuts off is unset. Below 1.0's is
 * -EINVAL; a newer caller's tail is fine when zero, -E2BIG naming the first set byte. */
TEST(sizes_are_read_up_to_their_end_and_unknown_tails_are_e2big) {
  struct {
    sprout_exec_args a;
    unsigned char tail[32];
  } l;
  memset(&l, 0, sizeof l);
  sprout_exec_args_init(&l.a);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  l.a.argv = argv;
  sprout_process proc;
  sprout_error err;
  l.a.size = SPROUT_EXEC_ARGS_SIZE_1_0 - 8;
  CHECK_FAILS(sprout_exec_async(&l.a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "args.size 168 is smaller than sprout_exec_args v1 (ABI 1.0: 176 bytes)");

  /* A size that ends before sigmask: the mask set after it is not read. */
  l.a.sigmask = 1ull << (SIGUSR1 - 1);
  l.a.size = offsetof(sprout_exec_args, sigmask);
  char *out = run_probe(&l.a, (const char *const[]){"report", NULL});
  CHECK(!strcmp(field(out, "status=SigBlk"), "0000000000000000"), "SigBlk %s", field(out, "status=SigBlk"));
  free(out);
  l.a.size = offsetof(sprout_exec_args, sigmask) + sizeof l.a.sigmask;
  out = run_probe(&l.a, (const char *const[]){"report", NULL});
  CHECK(!strcmp(field(out, "status=SigBlk"), "0000000000000200"), "SigBlk %s", field(out, "status=SigBlk"));
  free(out);
  l.a.sigmask = 0;
  l.a.argv = argv;

  l.a.size = sizeof l;
  int status = -1;
  CHECK_OK(sprout_exec(&l.a, NULL, 0, &status, &err), &err);
  l.tail[3] = 1;
  CHECK_FAILS(sprout_exec_async(&l.a, NULL, 0, &proc, &err), &err, E2BIG, SPROUT_STAGE_ARGS);
  char byte[64];
  snprintf(byte, sizeof byte, "byte %zu is set", sizeof l.a + 3);
  CHECK_MESSAGE_HAS(&err, byte);
}

TEST(unknown_flags2_and_values_without_their_flag_are_einval) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  const char *argv[] = {probe_path(), "exit", "0", NULL};
  a.argv = argv;
  sprout_process proc;
  sprout_error err;
  a.flags2 = 1ull << 63;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "flags2: unknown bits 0x8000000000000000");
  a.flags2 = 0;

  a.pgid = 5;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "pgid is 5 without SPROUT_EXEC2_SETPGROUP");
  a.pgid = 0;
  a.oom_score_adj = -5;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "oom_score_adj is -5 without SPROUT_EXEC2_OOM_SCORE_ADJ");
  a.oom_score_adj = 0;
  a.personality = 8;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "personality is 8 without SPROUT_EXEC2_PERSONALITY");
  a.personality = 0;
  a.root_fd = 3;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "root_fd is 3 without SPROUT_EXEC2_ROOT_FD");
  a.root_fd = 0;
  a.ioprio_level = 4;
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "ioprio_level 4 without an ioprio_class");
  a.ioprio_level = 0;
  a.flags2 = SPROUT_EXEC2_ROOT_FD;
  a.root_fd = 0;
  a.root_directory = "/";
  CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, EINVAL, SPROUT_STAGE_ARGS);
  CHECK_MESSAGE_HAS(&err, "one root directory, not both");
  CHECK(waitpid(-1, NULL, WNOHANG) < 0 && errno == ECHILD, "a child was started");
}

int main(void) {
  RUN(the_macro_zeroes_and_sizes_the_struct_this_header_declares);
  RUN(the_exported_function_initialises_only_the_1_0_struct);
  RUN(the_version_queries_describe_this_library);
  RUN(the_stages_of_1_1_follow_those_of_1_0);
  RUN(a_1_0_sized_struct_is_read_up_to_its_size_only);
  RUN(fields_past_size_are_not_read);
  RUN(sizes_are_read_up_to_their_end_and_unknown_tails_are_e2big);
  RUN(unknown_flags2_and_values_without_their_flag_are_einval);
  return summary();
}
