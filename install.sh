#!/bin/sh
# Installs libsprout as a system library:
#
#   LIBDIR/libsprout.so.1.MINOR.0      the shared library (SONAME libsprout.so.1, only sprout_*)
#   LIBDIR/libsprout.so.1 -> libsprout.so.1.MINOR.0  what programs load at run time
#   LIBDIR/libsprout.so   -> libsprout.so.1          what `cc -lsprout` links against
#   LIBDIR/libsprout.a                 the static library
#   LIBDIR/pkgconfig/sprout.pc         `pkg-config --cflags --libs sprout`
#   INCLUDEDIR/sprout.h
#
# Usage: ./install.sh [--prefix DIR] [--libdir DIR] [--includedir DIR] [--pkgconfigdir DIR]
#                     [--destdir DIR] [--from DIR]
#
#   --prefix      default /usr/local
#   --libdir      default PREFIX/lib (Debian's multiarch: --libdir /usr/lib/x86_64-linux-gnu);
#                 a relative path is taken under PREFIX, as meson does
#   --includedir  default PREFIX/include (relative: under PREFIX)
#   --pkgconfigdir default LIBDIR/pkgconfig (relative: under PREFIX)
#   --destdir     stage the files under DIR (for packagers); the installed paths and sprout.pc
#                 still say PREFIX (also read from $DESTDIR)
#   --from        install libsprout.so and libsprout.a already built in DIR instead of running
#                 `cargo build --release --lib` (CARGO_TARGET_DIR is honoured)
#
# Why a script and not cargo-c's `cargo cinstall`: see README "Install".
set -eu

root=$(cd "$(dirname "$0")" && pwd)

# The file name's version, from the header: the major is the ABI generation, the SONAME's
# number (libsprout.so.1, set in build.rs; SPROUT_ABI_VERSION); the minor counts compatible ABI
# additions (SPROUT_ABI_MINOR: ABI 1.1 installs libsprout.so.1.1.0); the last, releases that
# change no ABI.
abi_define() {
    sed -n "s/^#define $1 \([0-9][0-9]*\)\$/\1/p" "$root/include/sprout.h"
}
SONAME_MAJOR=$(abi_define SPROUT_ABI_VERSION)
ABI_MINOR=$(abi_define SPROUT_ABI_MINOR)
[ -n "$SONAME_MAJOR" ] && [ -n "$ABI_MINOR" ] || {
    echo "install.sh: no SPROUT_ABI_VERSION/SPROUT_ABI_MINOR in $root/include/sprout.h" >&2
    exit 1
}
LIBRARY_VERSION=$SONAME_MAJOR.$ABI_MINOR.0
prefix=/usr/local
libdir=lib
includedir=include
pkgconfigdir=
destdir=${DESTDIR:-}
from=

die() {
    echo "install.sh: $*" >&2
    exit 2
}

while [ $# -gt 0 ]; do
    case $1 in
    --*=*)
        option=${1%%=*}
        value=${1#*=}
        shift
        set -- "$option" "$value" "$@"
        continue
        ;;
    --prefix | --libdir | --includedir | --pkgconfigdir | --destdir | --from)
        [ $# -ge 2 ] || die "$1 needs a value"
        case $1 in
        --prefix) prefix=$2 ;;
        --libdir) libdir=$2 ;;
        --includedir) includedir=$2 ;;
        --pkgconfigdir) pkgconfigdir=$2 ;;
        --destdir) destdir=$2 ;;
        --from) from=$2 ;;
        esac
        shift 2
        ;;
    -h | --help)
        sed -n '2,/^set -eu/p' "$0" | sed '$d; s/^# \{0,1\}//'
        exit 0
        ;;
    *) die "unknown argument $1 (see --help)" ;;
    esac
done

case $prefix in
/*) ;;
*) die "--prefix must be an absolute path, not $prefix" ;;
esac
under_prefix() {
    case $1 in
    /*) echo "$1" ;;
    *) echo "$prefix/$1" ;;
    esac
}
libdir=$(under_prefix "$libdir")
includedir=$(under_prefix "$includedir")
pkgconfigdir=$(under_prefix "${pkgconfigdir:-$libdir/pkgconfig}")

if [ -z "$from" ]; then
    # The library alone: the command-line front end (feature "cli") is not part of it.
    (cd "$root" && cargo build --release --lib --no-default-features --locked)
    from=${CARGO_TARGET_DIR:-$root/target}/release
fi
for artifact in libsprout.so libsprout.a; do
    [ -f "$from/$artifact" ] || die "$from/$artifact is missing"
done

version=$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n 1)
[ -n "$version" ] || die "no version in $root/Cargo.toml"

real=libsprout.so.$LIBRARY_VERSION
install -d "$destdir$libdir" "$destdir$includedir" "$destdir$pkgconfigdir"
install -m 755 "$from/libsprout.so" "$destdir$libdir/$real"
ln -sfn "$real" "$destdir$libdir/libsprout.so.$SONAME_MAJOR"
ln -sfn "libsprout.so.$SONAME_MAJOR" "$destdir$libdir/libsprout.so"
install -m 644 "$from/libsprout.a" "$destdir$libdir/libsprout.a"
install -m 644 "$root/include/sprout.h" "$destdir$includedir/sprout.h"

# Libs.private: what the static library needs besides libc, as rustc reports it
# (`--print native-static-libs`) for the Rust standard library on Linux with glibc.
pc=$destdir$pkgconfigdir/sprout.pc
# Paths under the prefix are written relative to it, so that the file can be edited to move
# the install.
relative() {
    case $1 in
    "$prefix" | "$prefix"/*) echo "\${prefix}${1#"$prefix"}" ;;
    *) echo "$1" ;;
    esac
}
cat >"$pc.tmp" <<EOF
prefix=$prefix
libdir=$(relative "$libdir")
includedir=$(relative "$includedir")

Name: sprout
Description: Start Linux processes with an exact, verified set of properties (C ABI $SONAME_MAJOR)
Version: $version
Libs: -L\${libdir} -lsprout
Libs.private: -lgcc_s -lutil -lrt -lpthread -lm -ldl -lc
Cflags: -I\${includedir}
EOF
mv "$pc.tmp" "$pc"

echo "installed libsprout $version ($real, SONAME libsprout.so.$SONAME_MAJOR) into $destdir$libdir"
echo "  header $destdir$includedir/sprout.h, pkg-config file $pc"
if [ -z "$destdir" ]; then
    case :${PKG_CONFIG_PATH:-}: in
    *:"$pkgconfigdir":*) ;;
    *)
        case $pkgconfigdir in
        /usr/lib/pkgconfig | /usr/share/pkgconfig | /usr/local/lib/pkgconfig | /usr/local/share/pkgconfig | /usr/lib/*-linux-gnu/pkgconfig | /usr/local/lib/*-linux-gnu/pkgconfig) ;;
        *) echo "  pkg-config finds it with PKG_CONFIG_PATH=$pkgconfigdir" ;;
        esac
        ;;
    esac
    echo "  programs find libsprout.so.1 at run time with LD_LIBRARY_PATH=$libdir, or when linked"
    echo "  with -Wl,-rpath,$libdir; in a directory of /etc/ld.so.conf, once ldconfig has run"
fi
