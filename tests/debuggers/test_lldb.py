"""`leaks` in the real lldb-19, batch mode, on live samples and gcore'd cores."""
import unittest

import harness as h
from cases import DebuggerCases


class LldbLeaks(DebuggerCases, unittest.TestCase):
    def dbg(self, commands, target_args, env=None):
        return h.run_lldb(commands, target_args, env)

    def core_args(self, exe, core):
        return ["-c", core, exe]

    detach = "process detach"

    def attach(self, pid):
        return "process attach -p %d" % pid

    def shell(self, cmd):
        return "platform shell " + cmd

    def running_commands(self, pid):
        return ["process attach -p %d" % pid, "script lldb.debugger.SetAsync(True)", "process continue"]

    def errors_of(self, stderr, needle):
        return [l for l in stderr.splitlines() if l.startswith("error: ") and needle in l]

    def test_help(self):
        p = self.ok(["help leaks"], [])
        self.assertIn("leaks baseline save FILE", p.stdout)


if __name__ == "__main__":
    unittest.main()
