// The shared library of samples/cpp/container_app.cpp, built twice
// (container_lib.cpp with VARIANT 1 and 2): same file name and interface,
// different code, so different build-ids.
#pragma once

extern "C" {
// Calls parked() once, then sleeps forever in a function whose name and
// line depend on the build: park_in_variant_1 or park_in_variant_2.
void container_lib_park(void (*parked)());
}
