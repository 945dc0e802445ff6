"""threadleak_common (the debugger-free half of `leaks`) under plain python3,
and the CLI's debugger feed (--regs/--mem-fd) on bad input."""
import os
import stat
import subprocess
import sys
import tempfile
import unittest

import harness as h

sys.path.insert(0, os.path.join(h.SOURCE, "analyzer", "python"))
import threadleak_common as common  # noqa: E402


class ParseArgs(unittest.TestCase):
    def test_commands(self):
        cases = {
            "": ("stacks", None, False), "-json": ("stacks", None, True),
            "baseline": ("baseline", None, False), "baseline -json": ("baseline", None, True),
            "baseline save f.json": ("baseline-save", "f.json", False),
            "baseline load f.json -json": ("baseline-load", "f.json", True),
            "diff": ("diff", None, False), "diff base.json --json": ("diff", "base.json", True),
        }
        for line, want in cases.items():
            r = common.parse_args(line.split())
            self.assertEqual((r.action, r.file, r.json), want, line)

    def test_usage_errors_are_one_line(self):
        for line, needle in (("bogus", "unknown sub-command 'bogus'"), ("-x", "unknown option '-x'"),
                             ("baseline save", "give exactly one FILE"), ("baseline keep f", "expected 'save FILE'"),
                             ("diff a b", "at most one FILE")):
            with self.assertRaises(common.UsageError) as cm:
                common.parse_args(line.split())
            self.assertIn(needle, str(cm.exception))
            self.assertNotIn("\n", str(cm.exception))

    def test_complete(self):
        self.assertEqual(common.complete([], ""), ["baseline", "diff", "-json"])
        self.assertEqual(common.complete([], "b"), ["baseline"])
        self.assertEqual(common.complete(["baseline"], "s"), ["save"])
        self.assertIsNone(common.complete(["diff"], ""))
        self.assertIsNone(common.complete(["baseline", "load"], "/tm"))
        self.assertEqual(common.complete(["diff", "f.json"], ""), ["-json"])


class Feed(unittest.TestCase):
    def test_format(self):
        text = common.format_feed([(12, {"rip": 0x401000, "rsp": 0x7ffc0000, "orig_rax": -1})])
        self.assertEqual(text.splitlines()[1], "12 rip=0x401000 rsp=0x7ffc0000 orig_rax=0xffffffffffffffff")

    def run_feed(self, feed, fd_ok=True):
        s = h.Sample("park", ["--sleep", "1"], h.temp_dir())
        self.addCleanup(s.close)
        s.wait_ready()
        fd = os.open("/proc/%d/mem" % s.pid, os.O_RDONLY)
        self.addCleanup(os.close, fd)
        args = [h.THREADLEAK, "stacks", "--pid", str(s.pid), "--regs", "-", "--mem-fd", str(fd if fd_ok else 999)]
        return subprocess.run(args, input=feed, pass_fds=(fd,), capture_output=True, text=True, timeout=60)

    def test_bad_feeds_are_one_line_exit_2(self):
        for feed, needle in (("", "no threads in the register feed"),
                             ("x rip=1\n", "line 1: expected a thread id first"),
                             ("5 rip=1\n", "lacks rip or rsp"),
                             ("5 rip=zz rsp=1\n", "bad value for rip"),
                             ("5 rip\n", "expected NAME=VALUE"),
                             ("5 rip=1 rsp=2\n5 rip=1 rsp=2\n", "thread 5 given twice")):
            p = self.run_feed(feed)
            self.assertEqual(p.returncode, 2, feed)
            self.assertEqual(len(p.stderr.splitlines()), 1, p.stderr)
            self.assertIn(needle, p.stderr)

    def test_bad_fd(self):
        p = self.run_feed("5 rip=1 rsp=2\n", fd_ok=False)
        self.assertEqual((p.returncode, p.stderr.strip().endswith("--mem-fd 999 is not an open descriptor")), (2, True))

    def test_wild_registers_give_a_partial_answer(self):
        # A thread whose registers point nowhere: one frame at most, no crash.
        p = self.run_feed("%d rip=0x10 rsp=0x20 orig_rax=0xffffffffffffffff\n" % os.getpid())
        self.assertEqual(p.returncode, 0, p.stderr)
        self.assertIn("1 thread", p.stdout)


class FindAnalyzer(unittest.TestCase):
    def exe(self, path):
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "w") as f:
            f.write("#!/bin/sh\n")
        os.chmod(path, stat.S_IRWXU)
        return path

    def test_order(self):
        root = tempfile.mkdtemp(dir=h.temp_dir())
        script = os.path.join(root, "prefix", "share", "threadleak", "gdb", "threadleak.py")
        on_path = self.exe(os.path.join(root, "path", "threadleak"))
        env = {"PATH": os.path.dirname(on_path)}
        os.makedirs(os.path.dirname(script))
        self.assertEqual(common.find_analyzer(None, script, env), on_path)
        installed = self.exe(os.path.join(root, "prefix", "bin", "threadleak"))
        self.assertEqual(common.find_analyzer(None, script, env), installed)
        explicit = self.exe(os.path.join(root, "x", "tl"))
        self.assertEqual(common.find_analyzer(None, script, dict(env, THREADLEAK=explicit)), explicit)
        self.assertEqual(common.find_analyzer(explicit, script, env), explicit)
        with self.assertRaises(common.LeaksError):
            common.find_analyzer(os.path.join(root, "none"), script, env)

    def test_build_tree_and_missing(self):
        root = tempfile.mkdtemp(dir=h.temp_dir())
        script = os.path.join(root, "checkout", "gdb", "threadleak.py")
        os.makedirs(os.path.dirname(script))
        with self.assertRaises(common.LeaksError) as cm:
            common.find_analyzer(None, script, {"PATH": ""})
        self.assertIn("threadleak analyzer not found", str(cm.exception))
        built = self.exe(os.path.join(root, "checkout", "build", "analyzer", "threadleak"))
        self.assertEqual(common.find_analyzer(None, script, {"PATH": ""}), built)


if __name__ == "__main__":
    unittest.main()
