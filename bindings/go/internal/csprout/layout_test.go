package csprout

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
)

var structRE = regexp.MustCompile(`(?s)typedef struct (sprout_\w+) \{(.*?)\} (sprout_\w+);`)
var fieldRE = regexp.MustCompile(`(\w+)(\[\d+\])?;$`)

// headerStructs reads the installed header (found through pkg-config, as cgo finds it) and
// returns each struct's fields in order.
func headerStructs(t *testing.T) map[string][]string {
	out, err := exec.Command("pkg-config", "--variable=includedir", "sprout").Output()
	if err != nil {
		t.Fatalf("pkg-config --variable=includedir sprout: %v", err)
	}
	header, err := os.ReadFile(filepath.Join(strings.TrimSpace(string(out)), "sprout.h"))
	if err != nil {
		t.Fatal(err)
	}
	structs := map[string][]string{}
	for _, m := range structRE.FindAllStringSubmatch(string(header), -1) {
		var fields []string
		for _, line := range strings.Split(m[2], "\n") {
			line = strings.TrimSpace(line)
			if line == "" || strings.HasPrefix(line, "//") {
				continue
			}
			f := fieldRE.FindStringSubmatch(line)
			if f == nil {
				t.Fatalf("%s: cannot read the field of %q", m[1], line)
			}
			fields = append(fields, f[1])
		}
		structs[m[1]] = fields
	}
	if len(structs) == 0 {
		t.Fatal("no struct found in sprout.h")
	}
	return structs
}

// cLayouts compiles and runs a C program that prints offsetof and sizeof of every field, and
// sizeof of every struct, as the C compiler sees them.
func cLayouts(t *testing.T, structs map[string][]string) (map[string][]Field, map[string]uintptr) {
	var prog strings.Builder
	prog.WriteString("#include <stddef.h>\n#include <stdio.h>\n#include <linux/filter.h>\n#include <sprout.h>\nint main(void) {\n")
	emit := func(typ, name string, fields []string) {
		fmt.Fprintf(&prog, "  printf(\"%s - 0 %%zu\\n\", sizeof(%s));\n", name, typ)
		for _, f := range fields {
			fmt.Fprintf(&prog, "  printf(\"%s %s %%zu %%zu\\n\", offsetof(%s, %s), sizeof(((%s *)0)->%s));\n",
				name, f, typ, f, typ, f)
		}
	}
	for name, fields := range structs {
		emit(name, name, fields)
	}
	emit("struct sock_filter", "sock_filter", []string{"code", "jt", "jf", "k"})
	prog.WriteString("  return 0;\n}\n")

	dir := t.TempDir()
	src := filepath.Join(dir, "layout.c")
	if err := os.WriteFile(src, []byte(prog.String()), 0o644); err != nil {
		t.Fatal(err)
	}
	cflags, err := exec.Command("pkg-config", "--cflags", "sprout").Output()
	if err != nil {
		t.Fatal(err)
	}
	bin := filepath.Join(dir, "layout")
	args := append(strings.Fields(string(cflags)), "-std=c99", "-Wall", "-Werror", "-o", bin, src)
	if out, err := exec.Command("cc", args...).CombinedOutput(); err != nil {
		t.Fatalf("cc %v: %v\n%s", args, err, out)
	}
	out, err := exec.Command(bin).Output()
	if err != nil {
		t.Fatal(err)
	}
	layouts := map[string][]Field{}
	sizes := map[string]uintptr{}
	for _, line := range strings.Split(strings.TrimSpace(string(out)), "\n") {
		var name, field string
		var offset, size uintptr
		if _, err := fmt.Sscan(line, &name, &field, &offset, &size); err != nil {
			t.Fatalf("%q: %v", line, err)
		}
		if field == "-" {
			sizes[name] = size
		} else {
			layouts[name] = append(layouts[name], Field{Name: field, Offset: offset, Size: size})
		}
	}
	return layouts, sizes
}

// cName is the C name cgo gave a Go name: C fields named like Go keywords get a leading
// underscore (`type` is `_type`).
func cName(goName string) string {
	return strings.ToLower(strings.TrimPrefix(goName, "_"))
}

// The Go view of every struct of the installed header, and of the Go structs copied into C
// memory as they are, matches the C compiler's: the same fields, in the same order, at the
// same offsets, of the same sizes. A field the header gained (ABI 1.1) that the Go view lacks,
// or a struct cgo lays out otherwise, fails here.
func TestGoViewOfTheCStructsMatchesTheHeader(t *testing.T) {
	structs := headerStructs(t)
	want, wantSizes := cLayouts(t, structs)
	got := Layouts()
	for name, fields := range GoLayouts() {
		got[name] = fields
	}
	for name := range structs {
		if _, ok := got[name]; !ok {
			t.Errorf("struct %s of the header has no Go view in Layouts()", name)
		}
	}
	gotSizes := Sizes()
	for name, fields := range got {
		cFields, ok := want[name]
		if !ok {
			t.Errorf("%s: not in the installed header", name)
			continue
		}
		if gotSizes[name] != wantSizes[name] {
			t.Errorf("sizeof(%s): Go %d, C %d", name, gotSizes[name], wantSizes[name])
		}
		var goNames, cNames []string
		for _, f := range fields {
			goNames = append(goNames, cName(f.Name))
		}
		for _, f := range cFields {
			cNames = append(cNames, f.Name)
		}
		if strings.Join(goNames, " ") != strings.Join(cNames, " ") {
			t.Errorf("%s fields: Go %v, C %v", name, goNames, cNames)
			continue
		}
		for i, f := range fields {
			c := cFields[i]
			if f.Offset != c.Offset || f.Size != c.Size {
				t.Errorf("%s.%s: Go offset %d size %d, C offset %d size %d", name, c.Name, f.Offset, f.Size, c.Offset, c.Size)
			}
		}
	}
	// The arguments struct must fit the room the arena gives it.
	if wantSizes["sprout_exec_args"] > argsRoom {
		t.Errorf("sizeof(sprout_exec_args) = %d > %d", wantSizes["sprout_exec_args"], argsRoom)
	}
}

// A Spec with every field set fills every field of sprout_exec_args: a field the header
// gained (ABI 1.1) that fill does not set yet fails here.
func TestFillSetsEveryFieldOfTheArguments(t *testing.T) {
	keyring := "k"
	full := &Spec{
		Flags:          FlagNoNewPrivs,
		Filename:       "/bin/true",
		ExecFD:         3,
		Argv:           []string{"true"},
		Env:            []string{"A=b"},
		Dir:            "/tmp",
		Credentials:    &Credentials{UID: 1, GID: 1, Groups: []uint32{1}},
		Caps:           &Caps{Bounding: 1},
		Rlimits:        []Rlimit{{Resource: 7, Soft: 1, Hard: 1}},
		Umask:          0o77,
		Namespaces:     []Namespace{{Type: 0x10000000, FD: -1}},
		UIDMap:         []IDMap{{0, 0, 1}},
		GIDMap:         []IDMap{{0, 0, 1}},
		CgroupFD:       4,
		Seccomp:        []SockFilter{{Code: 6, K: 0x7fff0000}},
		Pdeathsig:      9,
		ContainerID:    "c",
		Fds:            []int32{0, 1, 2},
		Flags2:         Flag2Setpgroup,
		Pgid:           5,
		OOMScoreAdj:    10,
		Sigmask:        1,
		Sigdefault:     2,
		Sched:          &Sched{Nice: 1},
		IOPrioClass:    2,
		IOPrioLevel:    4,
		CPUSet:         []uint64{1},
		Personality:    8,
		RootFD:         5,
		RootDir:        "/",
		Hostname:       "h",
		Domainname:     "d",
		ExtraCgroupFDs: []int32{6},
		SessionKeyring: &keyring,

		LandlockRulesetFD:     7,
		LandlockRestrictFlags: 1,
		SeccompFlags:          8,
	}
	args, free := FilledArgs(full)
	defer free()
	v := reflect.ValueOf(args)
	for i := 0; i < v.NumField(); i++ {
		if name := v.Type().Field(i).Name; name != "_" && v.Field(i).IsZero() {
			t.Errorf("sprout_exec_args.%s is not set by fill", cName(name))
		}
	}
}
