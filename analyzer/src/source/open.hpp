#pragma once
#include <string>

#include "target.hpp"

namespace threadleak::detail {
enum class InputKind { core, snapshot };
// Throws Error naming the path when it is missing, a directory, or neither kind.
InputKind detect_input(const std::string& path);
}  // namespace threadleak::detail
