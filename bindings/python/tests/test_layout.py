"""The ctypes view of sprout.h matches what the C compiler makes of the header: every struct,
every field, in order, at the same offset and of the same size. A field the header gains
that the binding lacks fails here."""

import ctypes
import re
import subprocess
import sys

from sprout import _lib

STRUCT = re.compile(r"typedef struct (sprout_\w+) \{(.*?)\} (sprout_\w+);", re.S)
FIELD = re.compile(r"(\w+)(\[\d+\])?;$")


def header_structs(header):
    structs = {}
    for name, body, _ in STRUCT.findall(header.read_text()):
        fields = []
        for line in body.splitlines():
            line = line.strip()
            if not line or line.startswith("//"):
                continue
            match = FIELD.search(line)
            assert match, f"{name}: cannot read the field of {line!r}"
            fields.append(match.group(1))
        structs[name] = fields
    assert structs, f"no struct in {header}"
    return structs


def c_layouts(header, structs, tmp_path):
    """(name, field or "-", offset, size) as the C compiler lays them out."""
    lines = ["#include <stddef.h>", "#include <stdio.h>", "#include <linux/filter.h>", '#include "sprout.h"', "int main(void) {"]
    all_structs = dict(structs, sock_filter=["code", "jt", "jf", "k"])
    for name, fields in all_structs.items():
        ctype = "struct sock_filter" if name == "sock_filter" else name
        lines.append(f'  printf("{name} - 0 %zu\\n", sizeof({ctype}));')
        for field in fields:
            lines.append(
                f'  printf("{name} {field} %zu %zu\\n", offsetof({ctype}, {field}), sizeof((({ctype} *)0)->{field}));'
            )
    lines += ["  return 0;", "}"]
    source = tmp_path / "layout.c"
    source.write_text("\n".join(lines) + "\n")
    program = tmp_path / "layout"
    subprocess.run(
        ["cc", "-std=c99", "-Wall", "-Werror", "-I", str(header.parent), "-o", str(program), str(source)],
        check=True,
    )
    out = subprocess.run([str(program)], check=True, capture_output=True, text=True).stdout
    return [tuple(int(v) if v.isdigit() else v for v in line.split()) for line in out.splitlines()]


def python_layouts():
    rows = []
    for name, struct in _lib.STRUCTS.items():
        rows.append((name, "-", 0, ctypes.sizeof(struct)))
        for field, _ in struct._fields_:
            descriptor = getattr(struct, field)
            rows.append((name, field, descriptor.offset, descriptor.size))
    return rows


def test_every_struct_of_the_header_has_the_same_fields_offsets_and_sizes_in_python(header, tmp_path):
    structs = header_structs(header)
    assert set(structs) | {"sock_filter"} == set(_lib.STRUCTS), "structs of sprout.h vs sprout._lib.STRUCTS"
    want = sorted(c_layouts(header, structs, tmp_path))
    got = sorted(python_layouts())
    assert got == want


def test_exec_args_have_the_librarys_defaults_and_the_bindings_own_size():
    # sprout_exec_args_init writes the size of the struct the library was built with: for a
    # library of another ABI version than the binding that is wrong (past the end of a
    # smaller struct, or a larger struct's tail left unsized). So the binding sets the same
    # defaults itself, and its own size.
    buffer = ctypes.create_string_buffer(4096)
    _lib.lib.sprout_exec_args_init(ctypes.cast(buffer, ctypes.POINTER(_lib.ExecArgs)))
    library_size = int.from_bytes(buffer.raw[:4], sys.byteorder)
    ours = bytes(_lib.ExecArgs())
    common = min(library_size, len(ours))
    assert ours[4:common] == buffer.raw[4:common]
    assert int.from_bytes(ours[:4], sys.byteorder) == ctypes.sizeof(_lib.ExecArgs)
