"""`leaks` in the real gdb 13, batch mode, on live samples and gcore'd cores."""
import unittest

import harness as h
from cases import DebuggerCases


class GdbLeaks(DebuggerCases, unittest.TestCase):
    def dbg(self, commands, target_args, env=None):
        return h.run_gdb(commands, target_args, env)

    def core_args(self, exe, core):
        return [exe, core]

    detach = "detach"

    def attach(self, pid):
        return "attach %d" % pid

    def shell(self, cmd):
        return "shell " + cmd

    def running_commands(self, pid):
        return ["set non-stop on", "attach %d" % pid, "continue -a &"]

    def errors_of(self, stderr, needle):
        return [l for l in stderr.splitlines() if needle in l]

    def test_selection_restored(self):
        show = 'python print("sel", gdb.selected_thread().num, gdb.selected_frame().level())'
        p = self.ok(["thread 3", "frame 1", show, "leaks", show], self.live_args(self.park.pid))
        sel = [l for l in p.stdout.splitlines() if l.startswith("sel ")]
        self.assertEqual(sel, ["sel 3 1", "sel 3 1"])

    def test_threadleak_path_setting(self):
        p = self.ok(["set threadleak-path " + h.THREADLEAK, "show threadleak-path", "leaks"],
                    self.core_args(self.park_exe, self.park_core),
                    env={"PATH": "/usr/bin:/bin"})
        self.assertIn("The threadleak analyzer is " + h.THREADLEAK, p.stdout)
        self.assertIn("10 threads in 6 groups", p.stdout)

    def test_help_and_completion(self):
        p = self.ok(["help leaks", "complete leaks ", "complete leaks baseline s", "complete leaks d"], [])
        self.assertIn("leaks baseline save FILE", p.stdout)
        for line in ("leaks baseline", "leaks diff", "leaks -json", "leaks baseline save"):
            self.assertIn(line + "\n", p.stdout)


if __name__ == "__main__":
    unittest.main()
