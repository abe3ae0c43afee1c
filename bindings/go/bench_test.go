package sprout_test

import (
	"os"
	"os/exec"
	"runtime"
	"runtime/debug"
	"sort"
	"sync"
	"syscall"
	"testing"
	"time"

	"sprout.invalid/sprout"
)

// The benchmarks run os/exec and sprout side by side in one process, interleaved (one of each
// per iteration, in alternating order), on the static do-nothing program (benches/nothing.c),
// and report the p50 and p90 of each and the ratio of the p50s (sprout / os/exec). Run them
// with a fixed count, as root:
//
//	go test -run '^$' -bench . -benchtime 400x
//
// ns/op is the time of both together and means nothing here.

// pair is one comparison: run starts and waits for the program once, the os/exec way or the
// sprout way.
type pair struct {
	exec, sprout func() error
}

func compare(b *testing.B, p pair) {
	b.Helper()
	execTimes := make([]time.Duration, 0, b.N)
	sproutTimes := make([]time.Duration, 0, b.N)
	timed := func(run func() error, into *[]time.Duration) {
		start := time.Now()
		if err := run(); err != nil {
			b.Fatal(err)
		}
		*into = append(*into, time.Since(start))
	}
	for i := 0; i < b.N; i++ {
		if i%2 == 0 {
			timed(p.exec, &execTimes)
			timed(p.sprout, &sproutTimes)
		} else {
			timed(p.sprout, &sproutTimes)
			timed(p.exec, &execTimes)
		}
	}
	b.StopTimer()
	execP50, execP90 := percentiles(execTimes)
	sproutP50, sproutP90 := percentiles(sproutTimes)
	b.ReportMetric(ms(execP50), "exec-p50-ms")
	b.ReportMetric(ms(execP90), "exec-p90-ms")
	b.ReportMetric(ms(sproutP50), "sprout-p50-ms")
	b.ReportMetric(ms(sproutP90), "sprout-p90-ms")
	b.ReportMetric(float64(sproutP50)/float64(execP50), "ratio-p50")
}

func percentiles(times []time.Duration) (p50, p90 time.Duration) {
	sort.Slice(times, func(i, j int) bool { return times[i] < times[j] })
	return times[len(times)/2], times[len(times)*9/10]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func execCmd() *exec.Cmd {
	cmd := exec.Command(nothing)
	cmd.Env = []string{} // as sprout's nil Env: empty
	return cmd
}

// A plain spawn, with a small heap and with 1 GiB of live heap: the second shows what the
// machine itself does with a large process (the user namespace case below is compared with
// it).
func BenchmarkPlain(b *testing.B) {
	atHeapSizes(b, pair{
		exec:   func() error { return execCmd().Run() },
		sprout: func() error { return sprout.Command(nothing).Run() },
	})
}

// atHeapSizes runs the comparison with the test's small heap, then with 1 GiB more of live
// heap, held only for that run.
func atHeapSizes(b *testing.B, p pair) {
	b.Run("heap=small", func(b *testing.B) { compare(b, p) })
	b.Run("heap=1GiB", func(b *testing.B) {
		heap := liveHeap(1 << 30)
		b.ResetTimer()
		compare(b, p)
		runtime.KeepAlive(heap)
		debug.FreeOSMemory() // so that later benchmarks run with a small heap again
	})
}

func BenchmarkCredential(b *testing.B) {
	needRootB(b)
	compare(b, pair{
		exec: func() error {
			cmd := execCmd()
			cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: 65534, Gid: 65534}}
			return cmd.Run()
		},
		sprout: func() error {
			cmd := sprout.Command(nothing)
			cmd.Credential = &sprout.Credential{Uid: 65534, Gid: 65534}
			return cmd.Run()
		},
	})
}

func BenchmarkOutputThroughAPipe(b *testing.B) {
	compare(b, pair{
		exec:   func() error { _, err := execCmd().Output(); return err },
		sprout: func() error { _, err := sprout.Command(nothing).Output(); return err },
	})
}

// Eight goroutines each start and wait for one process at once; the time is the batch's.
func BenchmarkEightGoroutines(b *testing.B) {
	batch := func(run func() error) func() error {
		return func() error {
			var wg sync.WaitGroup
			errs := make(chan error, 8)
			for g := 0; g < 8; g++ {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if err := run(); err != nil {
						errs <- err
					}
				}()
			}
			wg.Wait()
			close(errs)
			return <-errs
		}
	}
	compare(b, pair{
		exec:   batch(func() error { return execCmd().Run() }),
		sprout: batch(func() error { return sprout.Command(nothing).Run() }),
	})
}

// A new user namespace with uid and gid maps, which os/exec can do only by forking (it must
// write the maps while the child waits, and gives up CLONE_VM for that), with a small heap
// and with 1 GiB of live heap.
func BenchmarkUserNamespaceWithMaps(b *testing.B) {
	needRootB(b)
	maps := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	p := pair{
		exec: func() error {
			cmd := execCmd()
			cmd.SysProcAttr = &syscall.SysProcAttr{
				Cloneflags: syscall.CLONE_NEWUSER, UidMappings: maps, GidMappings: maps,
			}
			return cmd.Run()
		},
		sprout: func() error {
			cmd := sprout.Command(nothing)
			cmd.Namespaces = []sprout.Namespace{{Type: sprout.UserNS}}
			cmd.UidMappings, cmd.GidMappings = maps, maps
			return cmd.Run()
		},
	}
	atHeapSizes(b, p)
}

// sprout alone, a new user namespace with maps and a plain spawn interleaved, first with a
// small heap, then with 1 GiB of live heap: whether the spawn's cost depends on the heap.
// (Interleaved with os/exec, the 1 GiB runs follow os/exec's forks, which leave the whole
// heap copy-on-write: every page the program then writes faults once more, whatever
// launcher it uses next.) Reported: the p50s, and the ratios 1 GiB / small.
func BenchmarkSproutHeapSizes(b *testing.B) {
	needRootB(b)
	maps := []syscall.SysProcIDMap{{ContainerID: 0, HostID: 0, Size: 1}}
	userns := func() error {
		cmd := sprout.Command(nothing)
		cmd.Namespaces = []sprout.Namespace{{Type: sprout.UserNS}}
		cmd.UidMappings, cmd.GidMappings = maps, maps
		return cmd.Run()
	}
	plain := func() error { return sprout.Command(nothing).Run() }
	var p50s [2][2]time.Duration // [heap][userns, plain]
	for h, size := range []int{0, 1 << 30} {
		heap := liveHeap(size)
		times := [2][]time.Duration{}
		for i := 0; i < b.N; i++ {
			for v, run := range []func() error{userns, plain} {
				start := time.Now()
				if err := run(); err != nil {
					b.Fatal(err)
				}
				times[v] = append(times[v], time.Since(start))
			}
		}
		for v := range times {
			p50s[h][v], _ = percentiles(times[v])
		}
		runtime.KeepAlive(heap)
		debug.FreeOSMemory()
	}
	b.ReportMetric(ms(p50s[0][0]), "userns-small-p50-ms")
	b.ReportMetric(ms(p50s[1][0]), "userns-1GiB-p50-ms")
	b.ReportMetric(float64(p50s[1][0])/float64(p50s[0][0]), "userns-1GiB/small")
	b.ReportMetric(float64(p50s[1][1])/float64(p50s[0][1]), "plain-1GiB/small")
}

// liveHeap allocates and touches size bytes of Go heap, in 1 MiB pieces.
func liveHeap(size int) [][]byte {
	heap := make([][]byte, size>>20)
	for i := range heap {
		heap[i] = make([]byte, 1<<20)
		for j := 0; j < len(heap[i]); j += 4096 {
			heap[i][j] = 1
		}
	}
	return heap
}

func needRootB(b *testing.B) {
	if os.Geteuid() != 0 {
		b.Skip("needs root")
	}
}
