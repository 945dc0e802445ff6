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

# Executables from the npm registry, each tarball checked against a pinned
# sha512 (the registry's integrity value, in hex) and kept in $npm_cache:
# fetch_npm_exe PACKAGE VERSION SHA512 DIR TARBALL puts PACKAGE's
# bin/esbuild in $npm_cache/DIR/bin/.
npm_cache=/var/cache/threadleak/npm
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fetch_npm_exe() {
  local package=$1 version=$2 sha512=$3 dir=$4 tgz=$work/$5
  [ -x "$npm_cache/$dir/bin/esbuild" ] && return 0
  echo "install-deps: fetching $package@$version into $npm_cache/$dir" >&2
  if [ -f "$npm_cache/${tgz##*/}" ]; then
    cp "$npm_cache/${tgz##*/}" "$tgz"
  else
    (cd "$work" && npm pack --silent --pack-destination "$work" "$package@$version" >/dev/null)
  fi
  echo "$sha512  $tgz" | sha512sum --check --quiet - || {
    echo "install-deps: $tgz does not have the pinned sha512; not installed" >&2
    exit 1
  }
  mkdir "$work/$dir"
  tar -xzf "$tgz" -C "$work/$dir" --strip-components=1 package/bin/esbuild
  $SUDO mkdir -p "$npm_cache"
  [ -f "$npm_cache/${tgz##*/}" ] || $SUDO cp "$tgz" "$npm_cache/"
  $SUDO cp -r "$work/$dir" "$npm_cache/"
}

# esbuild 0.28.2 (@esbuild/linux-x64): built by go1.26.5, static, stripped,
# no .go.buildinfo. CMake's THREADLEAK_ESBUILD points at it.
fetch_npm_exe @esbuild/linux-x64 0.28.2 \
  e314d9af5154992a105b85c85a68addedcd0ad44d933e3773f45d5f3144e298179d177c8ef178ef74fb56d9bcdc3122e7d0f610d0551247e588603d517c03f1d \
  esbuild-0.28.2 esbuild-linux-x64-0.28.2.tgz
# esbuild 0.8.36 (esbuild-linux-64, the package's old name): built by
# go1.15.5 (the Go 1.2-1.15 pclntab), static, stripped.
# CMake's THREADLEAK_ESBUILD_GO115 points at it.
fetch_npm_exe esbuild-linux-64 0.8.36 \
  86ba6e020a4b7078985e1ac1279c7c1aa3c0c554046cff7fd57dffeae86d10ca9bf5c6d3e5e2c06da62ee81053b7b9897af3bcfbc7ec88235120484ca98e1fe7 \
  esbuild-0.8.36 esbuild-linux-64-0.8.36.tgz
# esbuild 0.5.26 (esbuild-linux-64): built by go1.14.2, static, stripped.
# CMake's THREADLEAK_ESBUILD_GO114 points at it.
fetch_npm_exe esbuild-linux-64 0.5.26 \
  ad95f0b9765e26e16801220c3a731719ee9837646b8d9ed6683b81f900a26c3e0c8dbcb2aa6669656ed9066a902f16a33bffdc25635d7dc557b4d9f41d138250 \
  esbuild-0.5.26 esbuild-linux-64-0.5.26.tgz
