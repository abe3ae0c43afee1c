//go:build !race

package sprout_test

// largeHeapMiB is the live heap of the large-heap test.
const largeHeapMiB = 512
