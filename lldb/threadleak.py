# lldb front end of threadleak: the `leaks` command (tested with lldb-19).
#
#   (lldb) command script import /usr/local/share/threadleak/lldb/threadleak.py   # or in ~/.lldbinit
#   (lldb) leaks
#
# Thin on purpose: this file only collects what lldb has (the registers of
# every thread of a stopped live process and an open /proc/PID/mem, or the
# path of the core lldb has open) and hands it to the threadleak CLI through
# threadleak_common, which imports no debugger. The analyzer is found from the
# THREADLEAK environment variable, the install layout, the build tree, or PATH.
import os
import shlex
import sys

import lldb

_HERE = os.path.dirname(os.path.realpath(__file__))
for _d in (_HERE, os.path.join(os.path.dirname(_HERE), "analyzer", "python")):
    if os.path.isfile(os.path.join(_d, "threadleak_common.py")) and _d not in sys.path:
        sys.path.insert(0, _d)
import threadleak_common as common  # noqa: E402

_SESSION = {"session": None}

# Reading 18 registers of 1,000 threads one by one is 5x faster when lldb
# reads each thread's registers with one 'g' packet; the setting must be on
# before the process is attached, so importing this in ~/.lldbinit helps.
_G_PACKET = "settings set plugin.process.gdb-remote.use-g-packet-for-reading true"


def _session():
    analyzer = common.find_analyzer(None, __file__)
    s = _SESSION["session"]
    if s is None:
        s = _SESSION["session"] = common.Session(analyzer)
    s.analyzer = analyzer
    return s


def _read_registers(process):
    """[(tid, {name: int})] for every thread; lldb's selection is untouched."""
    out = []
    names = list(common.REGISTERS)   # lldb-server has no orig_rax: then the analyzer reads /proc
    err = lldb.SBError()
    for thread in process:
        frame = thread.GetFrameAtIndex(0)
        if not frame.IsValid():
            continue
        regs = {}
        for name in names:
            v = frame.FindRegister(name)
            if v.IsValid():
                err.Clear()
                value = v.GetValueAsUnsigned(err, 0)
                if err.Success():
                    regs[name] = value
        if not out:
            names = [n for n in names if n in regs]
        out.append((thread.GetThreadID(), regs))
    return out


def _target(exe_ctx):
    process = exe_ctx.GetProcess()
    if not process.IsValid() or process.GetState() in (lldb.eStateInvalid, lldb.eStateUnloaded,
                                                       lldb.eStateExited, lldb.eStateDetached):
        raise common.LeaksError("leaks: no process: attach (lldb -p PID), launch, or open a core (-c CORE)")
    if process.GetPluginName() == "elf-core":
        path = process.GetCoreFile().fullpath
        if not path:
            raise common.LeaksError("leaks: lldb has a core open but does not name its file")
        return common.Core(path)
    if process.GetState() not in (lldb.eStateStopped, lldb.eStateSuspended, lldb.eStateCrashed):
        raise common.LeaksError("leaks: pid %d is %s; stop it first (process interrupt)"
                                % (process.GetProcessID(), lldb.SBDebugger.StateAsCString(process.GetState())))
    pid = process.GetProcessID()
    if not os.path.isdir("/proc/%d" % pid):
        raise common.LeaksError("leaks: pid %d is not a process on this machine" % pid)
    threads = _read_registers(process)
    if not threads:
        raise common.LeaksError("leaks: pid %d is running (no thread has a frame); stop it first "
                                "(process interrupt)" % pid)
    return common.Live(pid, threads, common.open_mem(pid))


def _run(command, exe_ctx):
    try:
        words = shlex.split(command)
    except ValueError as e:
        raise common.UsageError("leaks: %s" % e)
    req = common.parse_args(words)
    session = _session()
    target = None if req.action == "baseline-load" else _target(exe_ctx)
    try:
        return session.run(req, target)
    finally:
        if isinstance(target, common.Live):
            os.close(target.mem_fd)


class LeaksCommand:
    def __init__(self, debugger, internal_dict):
        pass

    def get_short_help(self):
        return "Threads grouped by identical stack, and what grew since a baseline (threadleak)."

    def get_long_help(self):
        return (common.USAGE + "\n\nThe analyzer is found from the THREADLEAK environment variable, "
                "the install layout, the build tree beside this script, or PATH.\n")

    def __call__(self, debugger, command, exe_ctx, result):
        try:
            res = _run(command, exe_ctx)
        except common.LeaksError as e:
            result.SetError(str(e))
            return
        except Exception as e:  # never a traceback
            result.SetError("leaks: internal error: %s: %s" % (type(e).__name__, e))
            return
        for w in res.warnings:
            sys.stderr.write("threadleak: warning: %s\n" % w)
        result.AppendMessage(res.text.rstrip("\n"))
        result.SetStatus(lldb.eReturnStatusSuccessFinishResult)


def __lldb_init_module(debugger, internal_dict):
    debugger.HandleCommand(_G_PACKET)
    debugger.HandleCommand("command script add -o -C disk-file -c %s.LeaksCommand leaks" % __name__)
