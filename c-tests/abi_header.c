/* Compiled as strict C99 and as C++ by tests/abi.rs: the header must be clean in both, and
 * the contract's names must exist with their types. */
#include "sprout.h"

int main(void) {
  sprout_exec_args args;
  sprout_process process = {0, 0};
  sprout_error error;
  sprout_credentials credentials = {0, 0, 0, 0};
  sprout_capabilities capabilities = {0, 0, 0, 0, 0};
  sprout_rlimit limit = {0, 0, 0};
  sprout_namespace ns = {0, -1};
  sprout_id_map map = {0, 0, 1};
  enum sprout_stage stage = SPROUT_STAGE_WAIT;
  unsigned flags = SPROUT_EXEC_NO_NEW_PRIVS | SPROUT_EXEC_INHERIT_ENV | SPROUT_EXEC_NO_TTY;
  sprout_exec_args_init(&args);
  args.credentials = &credentials;
  args.capabilities = &capabilities;
  args.limits = &limit;
  args.namespaces = &ns;
  args.uid_map = &map;
  (void)process;
  (void)error;
  (void)stage;
  (void)flags;
  return SPROUT_ABI_VERSION == sprout_abi_version() ? 0 : 1;
}
