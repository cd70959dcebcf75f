#!/bin/sh
# Compiles the verdict program with clang, against our own headers only.
# Usage: build.sh <source.c> <include dir> <output.o>   (CLANG overrides the compiler)
set -eu
src=$1
inc=$2
out=$3
clang=${CLANG:-clang}
if ! command -v "$clang" >/dev/null 2>&1; then
    echo "error: '$clang' not found: the BPF program needs clang. Install it with: apt-get install -y clang" >&2
    exit 1
fi
mkdir -p "$(dirname "$out")"
exec "$clang" -target bpf -O2 -g -Wall -Werror -nostdinc -I"$inc" -c "$src" -o "$out"
