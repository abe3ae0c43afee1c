/*
 * A caller compiled against the 1.1 header, run against the library being built and against
 * a 1.0 library built from the 1.0 release (tests/abi_versions.rs). It finds out which it got
 * the way the header says (dlsym for sprout_abi_minor, which 1.0 lacks), prints "library 1.N",
 * and checks: what it leaves unset spawns as in 1.0 either way; a 1.1 field it sets works on
 * 1.1 and is -E2BIG (stage ARGS, naming the first byte past 1.0's struct) on 1.0.
 */
#include <dlfcn.h>
#include <stddef.h>

#include "core_util.h"

static unsigned library_minor(void) {
  void *symbol = dlsym(RTLD_DEFAULT, "sprout_abi_minor");
  uint32_t (*minor)(void);
  /* POSIX's way from dlsym's object pointer to a function pointer (ISO C has none). */
  memcpy(&minor, &symbol, sizeof minor);
  return symbol ? minor() : 0;
}

TEST(an_unset_1_1_struct_spawns_as_1_0_did) {
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  CHECK(a.size == SPROUT_EXEC_ARGS_SIZE_1_1, "size %u", a.size);
  char *out = run_probe(&a, (const char *const[]){"report", NULL});
  CHECK(!strcmp(field(out, "umask"), "0022"), "umask %s", field(out, "umask"));
  CHECK(!strcmp(field(out, "status=SigBlk"), "0000000000000000"), "SigBlk");
  free(out);
}

TEST(a_set_1_1_field_is_e2big_on_1_0_and_applied_on_1_1) {
  unsigned minor = library_minor();
  sprout_exec_args a;
  sprout_exec_args_init(&a);
  a.sigmask = 1ull << (SIGHUP - 1); /* the first byte of the field */
  sprout_error err;
  if (minor == 0) {
    const char *argv[] = {probe_path(), "exit", "0", NULL};
    a.argv = argv;
    sprout_process proc;
    CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, E2BIG, SPROUT_STAGE_ARGS);
    char byte[64];
    snprintf(byte, sizeof byte, "byte %zu is set", offsetof(sprout_exec_args, sigmask));
    CHECK_MESSAGE_HAS(&err, byte);
    a.sigmask = 0;
    a.flags2 = SPROUT_EXEC2_KEEP_UMASK;
    CHECK_FAILS(sprout_exec_async(&a, NULL, 0, &proc, &err), &err, E2BIG, SPROUT_STAGE_ARGS);
    CHECK_MESSAGE_HAS(&err, "byte 176 is set");
  } else {
    char *out = run_probe(&a, (const char *const[]){"report", NULL});
    CHECK(!strcmp(field(out, "status=SigBlk"), "0000000000000001"), "SigBlk %s",
          field(out, "status=SigBlk"));
    free(out);
  }
  printf("library 1.%u\n", minor);
}

int main(void) {
  RUN(an_unset_1_1_struct_spawns_as_1_0_did);
  RUN(a_set_1_1_field_is_e2big_on_1_0_and_applied_on_1_1);
  return summary();
}
