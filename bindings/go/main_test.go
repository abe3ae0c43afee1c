package sprout_test

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"sprout.invalid/sprout"
)

// The programs the tests start, built by TestMain from the repository's C sources: the
// static probe (c-tests/probe.c), which reports its own state as the kernel shows it, and a
// static do-nothing program (benches/nothing.c) for the benchmarks.
var probe, nothing string

func TestMain(m *testing.M) {
	if helper := os.Getenv("SPROUT_GO_HELPER"); helper != "" {
		runHelper(helper)
		return
	}
	dir, err := os.MkdirTemp("", "sprout-go-test-")
	if err == nil {
		err = os.Chmod(dir, 0o755) // the programs run under other uids too
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	probe = os.Getenv("SPROUT_PROBE")
	if probe == "" {
		probe = buildStatic(dir, "probe", "../../c-tests/probe.c")
	}
	nothing = buildStatic(dir, "nothing", "../../benches/nothing.c")
	code := m.Run()
	os.RemoveAll(dir)
	os.Exit(code)
}

func buildStatic(dir, name, source string) string {
	out := filepath.Join(dir, name)
	cmd := exec.Command("cc", "-std=c99", "-O2", "-static", "-o", out, source)
	if msg, err := cmd.CombinedOutput(); err != nil {
		fmt.Fprintf(os.Stderr, "building %s: %v\n%s", source, err, msg)
		os.Exit(1)
	}
	return out
}

// report is what the probe printed: each key's values, in order.
type report map[string][]string

func (r report) one(t *testing.T, key string) string {
	t.Helper()
	if len(r[key]) != 1 {
		t.Fatalf("probe reported %s %d times: %q", key, len(r[key]), r[key])
	}
	return r[key][0]
}

// status is the value of a /proc/self/status line of the probe, e.g. "Uid".
func (r report) status(t *testing.T, field string) string {
	t.Helper()
	for _, line := range r["status"] {
		if name, value, ok := strings.Cut(line, ":"); ok && name == field {
			return strings.Join(strings.Fields(value), " ")
		}
	}
	t.Fatalf("no %s in the probe's status", field)
	return ""
}

func parseReport(out []byte) report {
	r := report{}
	scanner := bufio.NewScanner(strings.NewReader(string(out)))
	for scanner.Scan() {
		if key, value, ok := strings.Cut(scanner.Text(), "="); ok {
			r[key] = append(r[key], value)
		}
	}
	return r
}

// probeReport runs the probe with "report" (and more commands) as cmd describes, and parses
// what it printed.
func probeReport(t *testing.T, cmd *sprout.Cmd) report {
	t.Helper()
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("%v: %v\n%s", cmd, err, out)
	}
	return parseReport(out)
}

// probeCmd is a Cmd running the probe with args.
func probeCmd(args ...string) *sprout.Cmd {
	return sprout.Command(probe, args...)
}

func needRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		if os.Getenv("SPROUT_TESTS_ALLOW_SKIP") == "1" {
			t.Skip("needs root")
		}
		t.Fatal("needs root (set SPROUT_TESTS_ALLOW_SKIP=1 to skip such tests)")
	}
}
