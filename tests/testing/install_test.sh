#!/bin/sh
# Installs the build tree to a fresh prefix, then builds and runs one small
# consumer twice: with find_package(threadleak) and with pkg-config.
#   install_test.sh BUILD_DIR CONSUMER_SRC WORK_DIR
set -eu
build=$1 src=$2 work=$3
rm -rf "$work"
mkdir -p "$work"
prefix=$work/prefix
cmake --install "$build" --prefix "$prefix" >"$work/install.log"
export EXPECT_PREFIX="$prefix"

echo "== find_package(threadleak)"
cmake -S "$src" -B "$work/cmake-build" -DCMAKE_PREFIX_PATH="$prefix" \
  -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$work/configure.log"
cmake --build "$work/cmake-build" >"$work/build.log"
"$work/cmake-build/consumer_test"

echo "== pkg-config threadleak-testing"
pc=$(dirname "$(find "$prefix" -name threadleak-testing.pc)")
flags=$(PKG_CONFIG_PATH="$pc" pkg-config --cflags --libs threadleak-testing gtest_main)
# shellcheck disable=SC2086
c++ -std=c++20 -g -O1 "$src/consumer_test.cpp" -o "$work/pc_consumer_test" $flags
"$work/pc_consumer_test"
echo "install_test: both consumers passed"
rm -rf "$work"  # kept only when something failed
