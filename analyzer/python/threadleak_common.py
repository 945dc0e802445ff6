"""The debugger-independent half of the gdb and lldb `leaks` commands.

The commands stay thin: they collect what only the debugger has (the
registers of every thread of a stopped live inferior, an open /proc/PID/mem
descriptor, or the path of the core it has open) and hand it to the
threadleak CLI, which unwinds, symbolizes, classifies, groups and diffs.
This module imports no debugger, so plain python3 can test it.

    req = parse_args(["diff", "-json"])            # raises UsageError
    session = Session(find_analyzer(setting, __file__))
    out = session.run(req, Live(pid, threads, mem_fd) or Core(path))

Every failure the user can cause or meet is a LeaksError with one line of
text; the front ends turn it into a debugger error (gdb.GdbError, the lldb
result's SetError), never a traceback.
"""

import json
import os
import shutil
import subprocess
import tempfile

# Registers the analyzer uses, in the names of x86-64 user_regs_struct.
REGISTERS = ("rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "rsp", "r8", "r9",
             "r10", "r11", "r12", "r13", "r14", "r15", "rip", "orig_rax",
             "fs_base")   # the thread pointer: glibc's struct pthread (docs/threads.md)

SUBCOMMANDS = ("baseline", "diff")
BASELINE_ACTIONS = ("save", "load")

USAGE = """\
leaks [-json]                     every thread of the inferior, grouped by identical stack
leaks baseline [-json]            remember the current state as this session's baseline
leaks baseline save FILE [-json]  write the baseline (taken now if there is none) to FILE
leaks baseline load FILE [-json]  use a snapshot file (or core) FILE as the baseline
leaks diff [FILE] [-json]         what grew since the baseline, or since the snapshot FILE

The analyzer is the threadleak CLI; the commands work on a stopped live
inferior and on a core. Snapshot files are those of `threadleak snapshot`."""

ANALYZER_TIMEOUT_S = 600


class LeaksError(Exception):
    """A one-line message for the user; never shown as a traceback."""


class UsageError(LeaksError):
    pass


class Request:
    """A parsed `leaks` command line."""

    def __init__(self, action, file=None, json_out=False):
        self.action = action        # stacks | baseline | baseline-save | baseline-load | diff
        self.file = file
        self.json = json_out

    def __repr__(self):
        return "Request(%r, %r, %r)" % (self.action, self.file, self.json)


def parse_args(argv):
    """argv: the words after `leaks`. Returns a Request or raises UsageError."""
    json_out = False
    words = []
    for w in argv:
        if w in ("-json", "--json"):
            json_out = True
        elif w.startswith("-") and w != "-":
            raise UsageError("leaks: unknown option '%s' (only -json)" % w)
        else:
            words.append(w)
    if not words:
        return Request("stacks", None, json_out)
    head, rest = words[0], words[1:]
    if head == "diff":
        if len(rest) > 1:
            raise UsageError("leaks diff: at most one FILE, got %d words" % len(rest))
        return Request("diff", rest[0] if rest else None, json_out)
    if head == "baseline":
        if not rest:
            return Request("baseline", None, json_out)
        if rest[0] in BASELINE_ACTIONS:
            if len(rest) != 2:
                raise UsageError("leaks baseline %s: give exactly one FILE" % rest[0])
            return Request("baseline-" + rest[0], rest[1], json_out)
        raise UsageError("leaks baseline: expected 'save FILE' or 'load FILE', got '%s'" % rest[0])
    raise UsageError("leaks: unknown sub-command '%s' (try: baseline, diff; see 'help leaks')" % head)


def complete(words, text):
    """Completion candidates for the word being typed (`text`), after `words`.

    Returns a list of strings, or None when the word is a FILE (the front end
    then offers file names)."""
    words = [w for w in words if w not in ("-json", "--json")]
    if not words:
        return [c for c in SUBCOMMANDS + ("-json",) if c.startswith(text)]
    if words == ["baseline"]:
        return [c for c in BASELINE_ACTIONS + ("-json",) if c.startswith(text)]
    if words == ["diff"] or (len(words) == 2 and words[0] == "baseline" and words[1] in BASELINE_ACTIONS):
        return None
    return [c for c in ("-json",) if c.startswith(text)]


# ---------------------------------------------------------------- analyzer

def find_analyzer(setting, script_file, env=None):
    """The threadleak executable: an explicit setting, the THREADLEAK
    environment variable, the install layout (PREFIX/share/threadleak/X/ ->
    PREFIX/bin), the build tree beside a checkout (CHECKOUT/build*/analyzer),
    then PATH. Raises LeaksError when none exists."""
    env = os.environ if env is None else env
    for explicit in (setting, env.get("THREADLEAK")):
        if explicit:
            if os.path.isfile(explicit) and os.access(explicit, os.X_OK):
                return explicit
            raise LeaksError("threadleak analyzer '%s' (set explicitly) is not an executable file" % explicit)
    here = os.path.dirname(os.path.realpath(script_file))
    for cand in _candidates(here):
        if os.path.isfile(cand) and os.access(cand, os.X_OK):
            return cand
    found = shutil.which("threadleak", path=env.get("PATH", os.defpath))
    if found:
        return found
    raise LeaksError("threadleak analyzer not found: build it, put it on PATH, or name it "
                     "(gdb: set threadleak-path FILE; gdb or lldb: environment variable THREADLEAK=FILE)")


def _candidates(here):
    prefix = os.path.normpath(os.path.join(here, "..", "..", ".."))
    yield os.path.join(prefix, "bin", "threadleak")
    checkout = os.path.dirname(here)
    builds = []
    try:
        builds = [d for d in os.listdir(checkout) if d.startswith("build")]
    except OSError:
        pass
    found = [os.path.join(checkout, d, "analyzer", "threadleak") for d in sorted(builds)]
    found = [f for f in found if os.path.isfile(f)]
    found.sort(key=lambda f: (os.path.basename(os.path.dirname(os.path.dirname(f))) != "build",
                              -os.path.getmtime(f)))
    for f in found:
        yield f


# ---------------------------------------------------------------- targets

class Core:
    """A core file the debugger has open."""

    def __init__(self, path):
        self.path = path

    def args(self):
        return [self.path]


class Live:
    """A live inferior that the debugger holds stopped.

    threads: [(tid, {register name: int})]; mem_fd: an open /proc/PID/mem
    the caller owns (it stays open while the analyzer runs)."""

    def __init__(self, pid, threads, mem_fd):
        self.pid = pid
        self.threads = threads
        self.mem_fd = mem_fd

    def args(self):
        return ["--pid", str(self.pid), "--regs", "-", "--mem-fd", str(self.mem_fd)]


def format_feed(threads):
    """The register feed `threadleak --regs` reads: one line per thread,
    'TID name=0xHEX ...', values as unsigned 64-bit."""
    lines = ["# threadleak debugger feed: TID then registers"]
    for tid, regs in threads:
        items = ["%s=0x%x" % (name, value & 0xFFFFFFFFFFFFFFFF) for name, value in regs.items()]
        lines.append("%d %s" % (tid, " ".join(items)))
    return "\n".join(lines) + "\n"


def open_mem(pid):
    """Opens /proc/PID/mem read-only in the debugger's process (the kernel
    checks permission at open, so the analyzer can read through it)."""
    try:
        return os.open("/proc/%d/mem" % pid, os.O_RDONLY | os.O_CLOEXEC)
    except OSError as e:
        raise LeaksError("pid %d: cannot open /proc/%d/mem: %s" % (pid, pid, e.strerror))


# ---------------------------------------------------------------- session

class Result:
    def __init__(self, text, warnings=(), grew=False):
        self.text = text            # what to print (text or JSON)
        self.warnings = list(warnings)
        self.grew = grew


class Session:
    """One debugging session: the analyzer's path and the baseline.

    A baseline taken in the session is kept in memory (the snapshot file's
    text); files exist only while the analyzer runs, in a scratch directory
    removed right after, so nothing is left behind whatever the debugger does
    at exit."""

    def __init__(self, analyzer):
        self.analyzer = analyzer
        self.baseline_text = None   # snapshot JSON taken in this session
        self.baseline_file = None   # or: a snapshot file / core the user loaded

    def run(self, req, target):
        try:
            return self._run(req, target)
        except OSError as e:  # the scratch directory or a FILE
            raise LeaksError("leaks: %s: %s" % (e.filename or "scratch file", e.strerror))

    def _run(self, req, target):
        if req.action == "stacks":
            return self._stacks(req, target)
        if req.action == "baseline":
            return self._take_baseline(req, target)
        if req.action == "baseline-save":
            return self._save_baseline(req, target)
        if req.action == "baseline-load":
            return self._load_baseline(req)
        return self._diff(req, target)

    def _stacks(self, req, target):
        out, err, _ = self._call(["stacks"] + target.args() + (["--json"] if req.json else []), target)
        return Result(out, _warnings(err))

    def _snapshot(self, target, path):
        _, err, _ = self._call(["snapshot"] + target.args() + ["-o", path], target)
        return _warnings(err)

    def _take_baseline(self, req, target):
        with tempfile.TemporaryDirectory(prefix="threadleak-") as d:
            path = os.path.join(d, "baseline.json")
            warnings = self._snapshot(target, path)
            with open(path) as f:
                text = f.read()
        self.baseline_text, self.baseline_file = text, None
        return Result(_describe("baseline taken", _parse(text), None, req.json), warnings)

    def _save_baseline(self, req, target):
        warnings = []
        if self.baseline_text is None and self.baseline_file is None:
            warnings = self._take_baseline(req, target).warnings
        dest = os.path.abspath(os.path.expanduser(req.file))
        try:
            if self.baseline_text is not None:
                with open(dest, "w") as f:
                    f.write(self.baseline_text)
            elif _is_snapshot(self.baseline_file):
                shutil.copyfile(self.baseline_file, dest)
            else:
                self._snapshot(Core(self.baseline_file), dest)
            with open(dest) as f:
                snap = _parse(f.read())
        except OSError as e:
            raise LeaksError("%s: cannot write: %s" % (req.file, e.strerror))
        return Result(_describe("baseline saved to " + dest, snap, dest, req.json), warnings)

    def _load_baseline(self, req):
        path = os.path.abspath(os.path.expanduser(req.file))
        if not os.path.isfile(path):
            raise LeaksError("%s: no such file" % req.file)
        # The analyzer checks the file: a snapshot or core it can read.
        out, _, _ = self._call(["stacks", path, "--json"], None)
        self.baseline_text, self.baseline_file = None, path
        return Result(_describe("baseline loaded from " + path, _parse(out), path, req.json))

    def _diff(self, req, target):
        if req.file is not None:
            base = os.path.abspath(os.path.expanduser(req.file))
            if not os.path.isfile(base):
                raise LeaksError("%s: no such file" % req.file)
        elif self.baseline_text is None and self.baseline_file is None:
            raise LeaksError("leaks diff: no baseline yet; run 'leaks baseline' first, or give a snapshot FILE")
        else:
            base = self.baseline_file
        with tempfile.TemporaryDirectory(prefix="threadleak-") as d:
            if base is None:
                base = os.path.join(d, "baseline.json")
                with open(base, "w") as f:
                    f.write(self.baseline_text)
            warnings = []
            if isinstance(target, Core):
                current = target.path
            else:
                current = os.path.join(d, "current.json")
                warnings = self._snapshot(target, current)
            out, err, code = self._call(["diff", base, current] + (["--json"] if req.json else []), None,
                                        ok=(0, 1))
        return Result(out, warnings + _warnings(err), grew=code == 1)

    def _call(self, args, target, ok=(0,)):
        argv = [self.analyzer, "--diagnostics", "json"] + args
        feed = format_feed(target.threads) if isinstance(target, Live) else None
        fds = (target.mem_fd,) if isinstance(target, Live) else ()
        try:
            p = subprocess.run(argv, input=feed, pass_fds=fds, capture_output=True, text=True,
                               timeout=ANALYZER_TIMEOUT_S, stdin=None if feed is not None else subprocess.DEVNULL)
        except FileNotFoundError:
            raise LeaksError("threadleak analyzer not found at %s" % self.analyzer)
        except PermissionError:
            raise LeaksError("threadleak analyzer %s is not executable" % self.analyzer)
        except subprocess.TimeoutExpired:
            raise LeaksError("threadleak analyzer timed out after %d s" % ANALYZER_TIMEOUT_S)
        except OSError as e:
            raise LeaksError("cannot run threadleak analyzer %s: %s" % (self.analyzer, e.strerror))
        if p.returncode not in ok:
            raise LeaksError(_first_error(p.stderr, p.returncode))
        return p.stdout, p.stderr, p.returncode


def _parse(text):
    try:
        doc = json.loads(text)
    except ValueError:
        return {}
    return doc if isinstance(doc, dict) else {}


def _describe(what, snap, path, as_json):
    """One line (or JSON) about a baseline: how many threads, of what.
    snap: a snapshot file's JSON, or `threadleak stacks --json` of one."""
    if "groups" in snap:
        threads = sum(g.get("count", 0) for g in snap["groups"] if isinstance(g, dict))
    else:
        threads = len(snap.get("threads", []))
    process = snap.get("process", {})
    origin = process.get("origin", "") if isinstance(process, dict) else ""
    if as_json:
        return json.dumps({"baseline": path, "origin": origin, "threads": threads}, indent=2) + "\n"
    return "%s: %d threads of %s\n" % (what, threads, origin)


def _is_snapshot(path):
    try:
        with open(path, "rb") as f:
            return f.read(4) != b"\x7fELF"
    except OSError:
        return False


def _diagnostics(stderr):
    """The analyzer's stderr as JSON lines (--diagnostics json). A line that
    is not one (an older analyzer, a crash, the C library) is read as text:
    a warning after "threadleak: warning: ", else an error of no known kind."""
    out = []
    for line in stderr.splitlines():
        if not line.strip():
            continue
        try:
            d = json.loads(line)
        except ValueError:
            d = None
        if not isinstance(d, dict) or "level" not in d:
            if line.startswith("threadleak: warning: "):
                d = {"level": "warning", "message": line[len("threadleak: warning: "):]}
            else:
                text = line[len("threadleak: "):] if line.startswith("threadleak: ") else line
                d = {"level": "error", "kind": "unknown", "message": text}
        out.append(d)
    return out


def _warnings(stderr):
    return [str(d.get("message", "")) for d in _diagnostics(stderr) if d.get("level") == "warning"]


def _first_error(stderr, code):
    errors = [d for d in _diagnostics(stderr) if d.get("level") == "error"]
    if not errors:
        return "threadleak analyzer failed (exit status %d) without a message" % code
    message = str(errors[0].get("message", ""))
    if errors[0].get("kind") == "internal":
        return "threadleak: internal error: " + message
    return "threadleak: " + message
