/* The program every benchmark variant starts: a static C program that does nothing. Built by
 * benches/spawn.rs with: cc -static -O2. (SPROUT_BENCH_PROGRAM=bare uses nothing_bare.c, which
 * skips the C library's start-up too, to show the launcher's own cost at its largest.) */
int main(void) { return 0; }
