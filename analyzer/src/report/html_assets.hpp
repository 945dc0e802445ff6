// The CSS and JavaScript inlined into every HTML report (report/html_assets.cpp).
#pragma once

namespace threadleak::detail {

extern const char* const kHtmlCss;
extern const char* const kHtmlJs;

}  // namespace threadleak::detail
