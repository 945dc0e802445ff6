// The CSS and JavaScript inlined into every HTML report. Nothing here may
// load anything: the page's Content-Security-Policy forbids it anyway.
#include "report/html_assets.hpp"

namespace threadleak::detail {

const char* const kHtmlCss = R"CSS(
:root { --fg: #1d1d1f; --muted: #666; --line: #ddd; --grew: #fde2e1; --grew-edge: #c62828; --shrank: #e6f4e6; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; color: var(--fg); margin: 0 auto; padding: 16px 24px; max-width: 1400px; }
h1 { font-size: 20px; margin: 0 0 4px; }
h2 { font-size: 16px; margin: 24px 0 8px; }
.summary { font-size: 15px; font-weight: 600; margin: 4px 0; }
.meta, .warning { color: var(--muted); margin: 2px 0; }
.warning { color: #8a5a00; }
code, .fn, .frames, #icicle text { font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { font-weight: 600; color: var(--muted); font-size: 12px; text-transform: uppercase; }
td.count, th.count { text-align: right; white-space: nowrap; font-variant-numeric: tabular-nums; }
td.fn { word-break: break-all; }
td.fn .fp { color: var(--muted); font-size: 12px; }
td.tids { color: var(--muted); font-size: 12px; }
td.fn .waits, td.fn .activity { font-size: 12px; color: var(--muted); word-break: break-word; }
ul.waits { margin: 0 0 4px; padding-left: 2.5em; font: 12px ui-monospace, "DejaVu Sans Mono", Menlo, monospace; color: var(--muted); }
.spinning, td.fn .activity.spinning, ul.activity li.spinning { color: var(--grew-edge); font-weight: 600; }
ul.activity { margin: 2px 0; padding-left: 2em; font-family: ui-monospace, "DejaVu Sans Mono", Menlo, monospace; font-size: 12px; }
tr.head { cursor: pointer; }
tr.head:hover { background: #f5f7fa; }
tbody.grew tr.head { background: var(--grew); }
tbody.grew td.count { color: var(--grew-edge); font-weight: 700; }
tbody.shrank tr.head, tbody.gone tr.head { background: var(--shrank); }
button.toggle { border: 0; background: none; cursor: pointer; font-size: 12px; width: 1.5em; padding: 0; }
.state { display: inline-block; padding: 0 6px; border-radius: 3px; font-size: 12px; white-space: nowrap; }
.frames { margin: 0; padding-left: 2.5em; font-size: 12px; }
.frames li { white-space: pre-wrap; word-break: break-all; }
.frames li.system { color: var(--muted); }
.frames li.first { font-weight: 700; }
.frames .loc, .frames .mod { color: var(--muted); }
.controls { margin: 4px 0 8px; }
.controls button { font: inherit; font-size: 12px; }
#icicle { width: 100%; height: auto; display: block; border: 1px solid var(--line); }
#icicle rect { stroke: #fff; stroke-width: 0.5; }
#icicle g.marked rect { stroke: var(--grew-edge); stroke-width: 1.5; }
#icicle text { font-size: 11px; fill: #111; pointer-events: none; }
.legend span { margin-right: 10px; }
.s-running { fill: #f2d675; background: #f2d675; }
.s-crashed { fill: #ef8a80; background: #ef8a80; }
.s-mutex, .s-rwlock, .s-sem, .s-join { fill: #d7a6db; background: #d7a6db; }
.s-condvar { fill: #9db6ee; background: #9db6ee; }
.s-sleep { fill: #8fd3df; background: #8fd3df; }
.s-io, .s-poll { fill: #a4d9a0; background: #a4d9a0; }
.s-signal-wait, .s-syscall, .s-unknown { fill: #cfcfcf; background: #cfcfcf; }
.s-mixed { fill: #ececec; background: #ececec; }
footer { margin-top: 24px; color: var(--muted); font-size: 12px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  .controls, button.toggle { display: none; }
  tr.stack[hidden] { display: table-row; }
  tbody { break-inside: avoid; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
}
)CSS";

const char* const kHtmlJs = R"JS(
(function () {
  function setOpen(body, open) {
    var stack = body.querySelector('tr.stack');
    var button = body.querySelector('button.toggle');
    if (!stack || !button) return;
    stack.hidden = !open;
    button.setAttribute('aria-expanded', open ? 'true' : 'false');
    button.textContent = open ? '\u25BE' : '\u25B8';
  }
  var bodies = document.querySelectorAll('tbody.group');
  bodies.forEach(function (body) {
    var head = body.querySelector('tr.head');
    if (head) head.addEventListener('click', function () {
      setOpen(body, body.querySelector('tr.stack').hidden);
    });
  });
  function all(open) { bodies.forEach(function (b) { setOpen(b, open); }); }
  var expand = document.getElementById('expand-all');
  var collapse = document.getElementById('collapse-all');
  if (expand) expand.addEventListener('click', function () { all(true); });
  if (collapse) collapse.addEventListener('click', function () { all(false); });
  window.addEventListener('beforeprint', function () { all(true); });
  document.body.setAttribute('data-ready', '1');
})();
)JS";

}  // namespace threadleak::detail
