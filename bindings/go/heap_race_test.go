//go:build race

package sprout_test

// largeHeapMiB is the live heap of the large-heap test; the race detector's shadow memory
// multiplies what a heap costs, so less under it.
const largeHeapMiB = 128
