# gdb front end of threadleak: the `leaks` command.
#
#   (gdb) source /usr/local/share/threadleak/gdb/threadleak.py   # or in ~/.gdbinit
#   (gdb) leaks
#
# Thin on purpose: this file only collects what gdb has (the registers of
# every thread of a stopped live inferior and an open /proc/PID/mem, or the
# path of the core gdb has open) and hands it to the threadleak CLI through
# threadleak_common, which imports no debugger.
import inspect
import os
import re
import sys

import gdb

# `source` runs this file without __file__; its code object knows the path.
_SCRIPT = os.path.realpath(inspect.currentframe().f_code.co_filename)
_HERE = os.path.dirname(_SCRIPT)
for _d in (_HERE, os.path.join(os.path.dirname(_HERE), "analyzer", "python")):
    if os.path.isfile(os.path.join(_d, "threadleak_common.py")) and _d not in sys.path:
        sys.path.insert(0, _d)
import threadleak_common as common  # noqa: E402


class ThreadleakPath(gdb.Parameter):
    """Where the threadleak analyzer (the CLI) is.

Empty: the THREADLEAK environment variable, the install layout, the build
tree beside this script, then PATH."""

    set_doc = "Set the path of the threadleak analyzer."
    show_doc = "Show the path of the threadleak analyzer."

    def __init__(self):
        super().__init__("threadleak-path", gdb.COMMAND_DATA, gdb.PARAM_OPTIONAL_FILENAME)
        self.value = ""

    def get_show_string(self, svalue):
        return "The threadleak analyzer is %s." % (svalue or "found automatically")


_PATH = ThreadleakPath()
_SESSION = {"session": None}


def _session():
    analyzer = common.find_analyzer(_PATH.value or None, _SCRIPT)
    s = _SESSION["session"]
    if s is None:
        s = _SESSION["session"] = common.Session(analyzer)
    s.analyzer = analyzer
    return s


def _core_path():
    text = gdb.execute("info target", to_string=True)
    m = re.search(r"Local core dump file:\s*`([^']+)'", text)
    if not m:
        raise common.LeaksError("leaks: gdb has a core open but 'info target' does not name its file")
    return m.group(1)


def _read_registers(threads):
    """[(tid, {name: int})] for every thread; gdb's selection is restored."""
    names = common.REGISTERS
    out = []
    thread0 = gdb.selected_thread()
    try:
        frame0 = gdb.selected_frame()
    except gdb.error:
        frame0 = None
    try:
        descs = None
        for t in threads:
            t.switch()
            f = gdb.newest_frame()
            if descs is None:
                regs = f.architecture().registers()
                descs = [(n, regs.find(n)) for n in names]
                descs = [(n, d) for n, d in descs if d is not None]
            out.append((t.ptid[1], {n: int(f.read_register(d)) for n, d in descs}))
    finally:
        if thread0 is not None and thread0.is_valid():
            thread0.switch()
            if frame0 is not None and frame0.is_valid():
                frame0.select()
    return out


def _live_target(inf):
    threads = [t for t in inf.threads() if t.is_valid() and not t.is_exited()]
    if not threads:
        raise common.LeaksError("leaks: the inferior has no threads")
    if any(t.is_running() for t in threads):
        raise common.LeaksError("leaks: pid %d is running; stop it first (Ctrl-C or 'interrupt')" % inf.pid)
    regs = _read_registers(threads)
    return common.Live(inf.pid, regs, common.open_mem(inf.pid))


def _target():
    inf = gdb.selected_inferior()
    conn = inf.connection
    if conn is None or (inf.pid == 0 and conn.type != "core"):
        raise common.LeaksError("leaks: no inferior: run, attach to a process (gdb -p PID) or open a core")
    if conn.type == "core":
        return common.Core(_core_path())
    if conn.type != "native":
        raise common.LeaksError("leaks: the inferior is on a '%s' connection; only native processes and "
                                "cores are supported" % conn.type)
    return _live_target(inf)


class Leaks(gdb.Command):
    """Threads grouped by identical stack, and what grew since a baseline.

Usage:
  leaks [-json]                     every thread of the inferior, grouped by identical stack
  leaks baseline [-json]            remember the current state as this session's baseline
  leaks baseline save FILE [-json]  write the baseline (taken now if there is none) to FILE
  leaks baseline load FILE [-json]  use a snapshot file (or core) FILE as the baseline
  leaks diff [FILE] [-json]         what grew since the baseline, or since the snapshot FILE

Works on a stopped live inferior and on a core; the answers are those of the
threadleak CLI (`threadleak stacks`, `threadleak diff`), and snapshot files are
those of `threadleak snapshot`. The analyzer is found with `set threadleak-path`,
the THREADLEAK environment variable, the install layout, the build tree, or PATH."""

    def __init__(self):
        super().__init__("leaks", gdb.COMMAND_STATUS)

    def invoke(self, arg, from_tty):
        self.dont_repeat()
        try:
            req = common.parse_args(gdb.string_to_argv(arg))
            session = _session()
            target = None if req.action == "baseline-load" else _target()
            try:
                result = session.run(req, target)
            finally:
                if isinstance(target, common.Live):
                    os.close(target.mem_fd)
        except common.LeaksError as e:
            raise gdb.GdbError(str(e))
        except gdb.GdbError:
            raise
        except gdb.error as e:
            raise gdb.GdbError("leaks: %s" % str(e).splitlines()[0] if str(e) else "leaks: gdb error")
        except Exception as e:  # never a traceback
            raise gdb.GdbError("leaks: internal error: %s: %s" % (type(e).__name__, e))
        for w in result.warnings:
            gdb.write("threadleak: warning: %s\n" % w, gdb.STDERR)
        gdb.write(result.text)

    def complete(self, text, word):
        words = gdb.string_to_argv(text)
        if text and not text[-1].isspace() and words:
            words = words[:-1]
        got = common.complete(words, word or "")
        return gdb.COMPLETE_FILENAME if got is None else got


Leaks()
