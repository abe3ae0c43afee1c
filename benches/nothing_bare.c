/* The do-nothing program of SPROUT_BENCH_PROGRAM=bare: static, no C library, exits at once,
 * so that a spawn's cost is the kernel's clone + execve + exit + wait and the launcher's own
 * work. Built by benches/spawn.rs with: cc -static -nostdlib -O2 (x86_64). */
void _start(void) {
  __asm__ volatile("mov $60, %eax\n\txor %edi, %edi\n\tsyscall");
  for (;;) {
  }
}
