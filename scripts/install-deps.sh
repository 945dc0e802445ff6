#!/usr/bin/env bash
# Installs every Debian 12 package threadleak needs to build, test, demo and
# benchmark. Idempotent: packages already present are left alone, and apt is
# only called when something is missing.
set -euo pipefail

packages=(
  build-essential cmake pkg-config make
  libdw-dev libelf-dev elfutils       # reading, unwinding, symbolizing; eu-stack for comparisons
  nlohmann-json3-dev libcli11-dev libfmt-dev
  libgtest-dev libgmock-dev googletest libbenchmark-dev
  gdb lldb-19 python3-lldb-19 python3 python3-jsonschema
  golang-go golang-uber-goleak-dev
  libc6-dbg
  time
  chromium                            # headless: the HTML report tests open the page and screenshot it
)

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}" >&2
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
