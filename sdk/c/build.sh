#!/usr/bin/env bash
# Builds a C migration into a WebAssembly component:
#   sdk/c/build.sh app.c [more.c ...] out.wasm
# generates the bindings of wit/ with wit-bindgen (its C generator), compiles the app with
# sdk/c/godwit.c for wasm32-wasi with clang 19 and Debian's wasi-libc, and links it with
# rustup's wasm-component-ld, which turns the module into a component.
# Needs: clang-19, lld-19, wasi-libc, libclang-rt-19-dev-wasm32 (Debian), wit-bindgen
# (`cargo install wit-bindgen-cli --no-default-features --features c`, or WIT_BINDGEN=path)
# and a Rust toolchain installed with rustup (for wasm-component-ld).
set -euo pipefail

if [ "$#" -lt 2 ]; then
  echo "usage: $0 app.c [more.c ...] out.wasm" >&2
  exit 2
fi
sdk=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$sdk/../.." && pwd)
out=${*: -1}
sources=("${@:1:$#-1}")

wit_bindgen=${WIT_BINDGEN:-wit-bindgen}
clang=${CLANG:-clang-19}
for tool in "$wit_bindgen" "$clang"; do
  if ! command -v "$tool" >/dev/null; then
    echo "error: $tool not found; see the requirements at the top of $0" >&2
    exit 1
  fi
done
sysroot=$(rustc --print sysroot)
linker="$sysroot/lib/rustlib/$(rustc -vV | sed -n 's/^host: //p')/bin/wasm-component-ld"
if [ ! -x "$linker" ]; then
  echo "error: $linker not found; it comes with a Rust toolchain installed by rustup" >&2
  exit 1
fi
# wasm-component-ld runs wasm-ld to link the module first; LLVM 19's.
llvm_bin=$("$clang" -print-prog-name=clang | xargs dirname)
export PATH="$llvm_bin:$PATH"

gen=$(mktemp -d)
trap 'rm -rf "$gen"' EXIT
if ! "$wit_bindgen" c "$root/wit" --world migration-component --out-dir "$gen" >"$gen/log" 2>&1; then
  cat "$gen/log" >&2
  exit 1
fi
"$clang" --target=wasm32-wasi --sysroot=/usr -mexec-model=reactor -O2 -Wall -Werror \
  -Wno-unused-parameter -I"$sdk" -I"$gen" \
  "${sources[@]}" "$sdk/godwit.c" "$gen/migration_component.c" \
  "$gen/migration_component_component_type.o" \
  -fuse-ld="$linker" -o "$out"
