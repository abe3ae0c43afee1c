package csprout

/*
#include <stdlib.h>
#include <sprout.h>
*/
import "C"

import (
	"reflect"
	"unsafe"
)

// Field is one field of a C struct as Go sees it.
type Field struct {
	Name         string
	Offset, Size uintptr
}

// Layouts is the Go view of the C structs of the header: what cgo made of each, field by
// field. The layout test compares it with what the C compiler makes of the installed header.
func Layouts() map[string][]Field {
	out := map[string][]Field{}
	for name, value := range map[string]any{
		"sprout_exec_args":          C.sprout_exec_args{},
		"sprout_credentials":        C.sprout_credentials{},
		"sprout_capabilities":       C.sprout_capabilities{},
		"sprout_rlimit":             C.sprout_rlimit{},
		"sprout_namespace":          C.sprout_namespace{},
		"sprout_id_map":             C.sprout_id_map{},
		"sprout_process":            C.sprout_process{},
		"sprout_error":              C.sprout_error{},
		"sprout_sched":              C.sprout_sched{},
		"sprout_landlock_access":    C.sprout_landlock_access{},
		"sprout_landlock_path_rule": C.sprout_landlock_path_rule{},
		"sprout_landlock_port_rule": C.sprout_landlock_port_rule{},
		"sprout_landlock_ruleset":   C.sprout_landlock_ruleset{},
	} {
		out[name] = fields(reflect.TypeOf(value))
	}
	return out
}

// GoLayouts is the Go structs this package copies into C memory as they are, with the C
// struct each stands for.
func GoLayouts() map[string][]Field {
	return map[string][]Field{
		"sock_filter": fields(reflect.TypeOf(SockFilter{})),
	}
}

// Sizes is the size of each struct in Layouts and GoLayouts, by its C name.
func Sizes() map[string]uintptr {
	return map[string]uintptr{
		"sprout_exec_args":          C.sizeof_sprout_exec_args,
		"sprout_credentials":        C.sizeof_sprout_credentials,
		"sprout_capabilities":       C.sizeof_sprout_capabilities,
		"sprout_rlimit":             C.sizeof_sprout_rlimit,
		"sprout_namespace":          C.sizeof_sprout_namespace,
		"sprout_id_map":             C.sizeof_sprout_id_map,
		"sprout_process":            C.sizeof_sprout_process,
		"sprout_error":              C.sizeof_sprout_error,
		"sprout_sched":              C.sizeof_sprout_sched,
		"sprout_landlock_access":    C.sizeof_sprout_landlock_access,
		"sprout_landlock_path_rule": C.sizeof_sprout_landlock_path_rule,
		"sprout_landlock_port_rule": C.sizeof_sprout_landlock_port_rule,
		"sprout_landlock_ruleset":   C.sizeof_sprout_landlock_ruleset,
		"sock_filter":               unsafe.Sizeof(SockFilter{}),
	}
}

func fields(t reflect.Type) []Field {
	var out []Field
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if f.Name == "_" { // padding cgo adds
			continue
		}
		out = append(out, Field{Name: f.Name, Offset: f.Offset, Size: f.Type.Size()})
	}
	return out
}

// FilledArgs is the sprout_exec_args fill makes of s (a copy, as a C.sprout_exec_args), for
// the test that checks every field is set; free releases the allocation.
func FilledArgs(s *Spec) (args any, free func()) {
	size := measure(s)
	a := arena{base: C.malloc(C.size_t(size))}
	filled, _ := fill(&a, s)
	if a.used != size {
		panic("csprout: measure and fill disagree")
	}
	return *filled, func() { C.free(a.base) }
}
