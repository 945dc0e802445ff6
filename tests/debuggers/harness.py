"""Helpers for the gdb and lldb `leaks` tests: real samples, real gcore, the
real CLI, real gdb 13 and lldb-19 in batch mode. No mocks.

Paths come from the environment CTest sets: THREADLEAK_BIN, SAMPLES_DIR,
GO_SAMPLES_DIR, SOURCE_DIR, TEST_WORK_DIR.
"""
import atexit
import json
import os
import shutil
import signal
import subprocess
import tempfile
import time

THREADLEAK = os.environ.get("THREADLEAK_BIN", "")
SAMPLES = os.environ.get("SAMPLES_DIR", "")
GO_SAMPLES = os.environ.get("GO_SAMPLES_DIR", "")
SOURCE = os.environ.get("SOURCE_DIR", os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__)))))
WORK = os.environ.get("TEST_WORK_DIR", tempfile.gettempdir())
GDB_SCRIPT = os.path.join(SOURCE, "gdb", "threadleak.py")
LLDB_SCRIPT = os.path.join(SOURCE, "lldb", "threadleak.py")
TIMEOUT_S = 120


def temp_dir():
    """A fresh directory (cores, FIFOs, snapshots), removed when the tests end."""
    os.makedirs(WORK, exist_ok=True)
    d = tempfile.mkdtemp(prefix="dbg-", dir=WORK)
    atexit.register(shutil.rmtree, d, True)
    return d


class Sample:
    """A running sample whose stdin is a FIFO (so a debugger's `shell` can
    write to it too) and whose stdout is a file. Killed on close()."""

    def __init__(self, name, args, workdir, samples=None):
        self.dir = workdir
        self.exe = os.path.join(samples or SAMPLES, name)
        self.fifo = os.path.join(workdir, name + ".in")
        self.out = os.path.join(workdir, name + ".out")
        os.mkfifo(self.fifo)
        self._w = os.open(self.fifo, os.O_RDWR)  # keeps the FIFO open: no EOF for the sample
        with open(self.out, "w") as out, open(self.fifo) as inp:
            self.proc = subprocess.Popen([self.exe] + args, stdin=inp, stdout=out,
                                         stderr=subprocess.STDOUT)
        self.pid = self.proc.pid
        self.readies = 0

    def wait_ready(self, timeout=60):
        """Waits for the next "ready N" line; returns N."""
        self.readies += 1
        deadline = time.time() + timeout
        while time.time() < deadline:
            with open(self.out) as f:
                lines = [l for l in f.read().splitlines() if l.startswith("ready ")]
            if len(lines) >= self.readies:
                return int(lines[self.readies - 1].split()[1])
            if self.proc.poll() is not None:
                raise AssertionError("sample exited with status %s" % self.proc.returncode)
            time.sleep(0.02)
        raise AssertionError("sample not ready after %d s" % timeout)

    def script_more(self, n):
        """A shell script (for a debugger's `shell`) that asks for `more n` and
        waits for the sample's next "ready" line. Returns its path."""
        path = os.path.join(self.dir, "more%d.sh" % n)
        with open(path, "w") as f:
            f.write("echo 'more %d' > %s\n" % (n, self.fifo))
            f.write("timeout 60 sh -c 'until [ $(grep -c ^ready %s) -ge %d ]; do sleep 0.02; done'\n"
                    % (self.out, self.readies + 1))
        return path

    def send(self, line):
        os.write(self._w, (line + "\n").encode())

    def untraced_and_running(self):
        """True when no thread is traced or stopped (the debugger left it as it was)."""
        task = "/proc/%d/task" % self.pid
        for tid in os.listdir(task):
            with open(os.path.join(task, tid, "status")) as f:
                for line in f:
                    if line.startswith("TracerPid:") and int(line.split()[1]) != 0:
                        return False
                    if line.startswith("State:") and line.split()[1] in ("t", "T"):
                        return False
        return True

    def close(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGKILL)
        self.proc.wait()
        os.close(self._w)


def gcore(pid, workdir):
    prefix = os.path.join(workdir, "core")
    subprocess.run(["gcore", "-o", prefix, str(pid)], check=True, capture_output=True, timeout=TIMEOUT_S)
    return "%s.%d" % (prefix, pid)


def cli(args, expect=0):
    p = subprocess.run([THREADLEAK] + args, capture_output=True, text=True, timeout=TIMEOUT_S)
    if p.returncode != expect:
        raise AssertionError("threadleak %s: exit %d, expected %d: %s" % (" ".join(args), p.returncode, expect, p.stderr))
    return p


def cli_json(args, expect=0):
    return json.loads(cli(args + ["--json"], expect).stdout)


def json_docs(text):
    """Every JSON object printed at the start of a line, in order."""
    docs, dec, pos = [], json.JSONDecoder(), 0
    while True:
        i = text.find("{\n", pos)
        if i < 0:
            return docs
        if i > 0 and text[i - 1] != "\n":
            pos = i + 1
            continue
        try:
            doc, end = dec.raw_decode(text, i)
        except ValueError:
            pos = i + 1
            continue
        docs.append(doc)
        pos = end


def own_function(frames):
    for f in frames:
        if f.get("own_code") and not f.get("inlined"):
            return f.get("function", "")
    for f in frames:  # no own-code flag: the first frame of the sample's module
        if f.get("module") in ("park", "leak") and not f.get("inlined"):
            return f.get("function", "")
    return ""


def groups(doc):
    """What must agree between front ends: count, state, signature, TIDs, top own function."""
    return sorted((g["count"], g["state"], g["signature"], tuple(g["members"]), own_function(g["frames"]))
                  for g in doc["groups"])


def go_groups(doc):
    """The goroutine groups, as what must agree between front ends: count, wait
    reason, signature, goroutine ids."""
    return sorted((g["count"], g["wait_reason"], g["signature"], tuple(g["members"]))
                  for g in doc["groups"] if g.get("kind") == "goroutine")


def go_user_counts(doc):
    """User goroutines (the runtime's own left out) per (wait reason, top function)."""
    counts = {}
    for g in doc["groups"]:
        if g.get("kind") == "goroutine" and not g.get("go_runtime"):
            key = (g["wait_reason"], g["frames"][0]["function"] if g["frames"] else "")
            counts[key] = counts.get(key, 0) + g["count"]
    return counts


def run_gdb(commands, target_args, env=None):
    argv = ["gdb", "-nx", "-q", "-batch", "-ex", "source " + GDB_SCRIPT]
    for c in commands:
        argv += ["-ex", c]
    return _run(argv + target_args, env)


def run_lldb(commands, target_args, env=None):
    argv = ["lldb-19", "-b", "--no-lldbinit", "-O", "command script import " + LLDB_SCRIPT]
    for c in commands:
        argv += ["-o", c]
    return _run(argv + target_args, env)


def _run(argv, env):
    e = dict(os.environ)
    e.update(env or {})
    p = subprocess.run(argv, capture_output=True, text=True, timeout=TIMEOUT_S, env=e,
                       stdin=subprocess.DEVNULL)
    return p


def have(tool):
    return shutil.which(tool) is not None
