#!/usr/bin/env bash
# Installs every Debian 12 package threadleak needs to build, test, demo and
# benchmark, and the one registry package the tests run (esbuild, a stripped
# Go 1.26 executable). Idempotent: what is already present is left alone,
# apt and npm are only called when something is missing. Nothing is
# downloaded at build or test time.
set -euo pipefail

packages=(
  build-essential cmake pkg-config make
  libdw-dev libelf-dev elfutils       # reading, unwinding, symbolizing; eu-stack for comparisons
  libdebuginfod-dev debuginfod        # fetching missing files by build-id (dlopen'ed); the server the debuginfod test starts
  libzstd-dev liblz4-dev liblzma-dev # compressed cores (systemd-coredump's zstd, lz4, xz)
  zstd lz4 xz-utils                   # the tools the compressed-core tests compress with
  libprotobuf-dev protobuf-compiler zlib1g-dev   # --format pprof: profile.proto (lite runtime), gzip
  nlohmann-json3-dev libcli11-dev libfmt-dev
  libcpp-httplib-dev                  # watch --metrics-listen's /metrics endpoint
  libtomlplusplus-dev                 # --expect FILE: expectations files (TOML)
  prometheus                          # the metrics tests run their own prometheus and promtool (not the service)
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  gdb lldb-19 python3-lldb-19 python3 python3-jsonschema
  golang-go golang-uber-goleak-dev delve   # Go samples; dlv for the goroutine benchmark
  libc6-dbg
  time
  chromium                            # headless: the HTML report tests open the page and screenshot it
  caddy etcd-server                   # stripped Go 1.19 programs no one here wrote (go_stripped_test)
  memcached                           # a stripped C service no one here wrote (real_native_test; the service is not started)
)
# npm fetches esbuild below; NodeSource's nodejs brings its own npm, Debian's is a package.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"

if [ ${#missing[@]} -gt 0 ]; then
  echo "install-deps: installing ${missing[*]}" >&2
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

# esbuild from the npm registry (@esbuild/linux-x64): built by go1.26.5,
# static, stripped, no .go.buildinfo. The tarball is checked against a pinned
# sha512 (the registry's integrity value, in hex). CMake's THREADLEAK_ESBUILD
# points at the executable.
esbuild_version=0.28.2
esbuild_sha512=e314d9af5154992a105b85c85a68addedcd0ad44d933e3773f45d5f3144e298179d177c8ef178ef74fb56d9bcdc3122e7d0f610d0551247e588603d517c03f1d
npm_cache=/var/cache/threadleak/npm
esbuild_dir=$npm_cache/esbuild-$esbuild_version
if [ ! -x "$esbuild_dir/bin/esbuild" ]; then
  echo "install-deps: fetching @esbuild/linux-x64@$esbuild_version into $esbuild_dir" >&2
  work=$(mktemp -d)
  trap 'rm -rf "$work"' EXIT
  tgz=$work/esbuild-linux-x64-$esbuild_version.tgz
  if [ -f "$npm_cache/${tgz##*/}" ]; then
    cp "$npm_cache/${tgz##*/}" "$tgz"
  else
    (cd "$work" && npm pack --silent --pack-destination "$work" "@esbuild/linux-x64@$esbuild_version" >/dev/null)
  fi
  echo "$esbuild_sha512  $tgz" | sha512sum --check --quiet - || {
    echo "install-deps: $tgz does not have the pinned sha512; not installed" >&2
    exit 1
  }
  mkdir "$work/esbuild-$esbuild_version"
  tar -xzf "$tgz" -C "$work/esbuild-$esbuild_version" --strip-components=1 package/bin/esbuild
  $SUDO mkdir -p "$npm_cache"
  [ -f "$npm_cache/${tgz##*/}" ] || $SUDO cp "$tgz" "$npm_cache/"
  $SUDO cp -r "$work/esbuild-$esbuild_version" "$npm_cache/"
fi
