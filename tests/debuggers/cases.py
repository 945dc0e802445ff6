"""The `leaks` test cases, shared by gdb and lldb: each debugger's test file
subclasses DebuggerCases and says how to drive that debugger."""
import json
import os
import stat

import harness as h


class DebuggerCases:
    """Mixin; subclasses define the debugger-specific methods below."""

    # --- debugger-specific (overridden) ---
    def dbg(self, commands, target_args, env=None):
        raise NotImplementedError

    def live_args(self, pid):
        return ["-p", str(pid)]

    def core_args(self, exe, core):
        raise NotImplementedError

    detach = attach = shell = None
    running_commands = None     # commands leaving the attached inferior running

    def errors_of(self, stderr, needle):
        raise NotImplementedError

    # --- fixtures ---
    @classmethod
    def setUpClass(cls):
        cls.dir = h.temp_dir()
        cls.park = h.Sample("park", ["--condvar", "3", "--mutex", "2", "--sleep", "2", "--read", "1"], cls.dir)
        cls.park.wait_ready()
        cls.park_core = h.gcore(cls.park.pid, cls.dir)
        cls.park_exe = os.path.join(h.SAMPLES, "park")

    @classmethod
    def tearDownClass(cls):
        cls.park.close()

    def leak_sample(self, requests):
        s = h.Sample("leak", ["--requests", str(requests)], h.temp_dir())
        self.addCleanup(s.close)
        s.wait_ready()
        return s

    def ok(self, commands, target_args, env=None):
        p = self.dbg(commands, target_args, env)
        self.assertNotIn("Traceback", p.stdout + p.stderr)
        return p

    # --- same groups as the CLI ---
    def check_park_groups(self, doc):
        summary = sorted((c, s, f.split("::")[-1]) for c, s, _, _, f in h.groups(doc))
        self.assertEqual(summary, sorted([
            (3, "condvar", "pool_worker()"), (2, "mutex", "lock_waiter()"),
            (2, "sleep", "sleeper()"), (1, "sleep", "lock_holder()"),
            (1, "io", "pipe_reader()"), (1, "io", "wait_for_command()")]))

    def test_live_groups_equal_cli(self):
        cli = h.cli_json(["stacks", "--pid", str(self.park.pid)])
        p = self.ok(["leaks -json", "leaks"], self.live_args(self.park.pid))
        docs = h.json_docs(p.stdout)
        self.assertEqual(len(docs), 1, p.stdout + p.stderr)
        self.assertEqual(h.groups(docs[0]), h.groups(cli))
        self.check_park_groups(docs[0])
        self.assertIn("10 threads in 6 groups", p.stdout)
        self.assertTrue(self.park.untraced_and_running())

    def test_core_groups_equal_cli(self):
        cli = h.cli_json(["stacks", self.park_core])
        p = self.ok(["leaks -json"], self.core_args(self.park_exe, self.park_core))
        docs = h.json_docs(p.stdout)
        self.assertEqual(len(docs), 1, p.stdout + p.stderr)
        self.assertEqual(h.groups(docs[0]), h.groups(cli))
        self.check_park_groups(docs[0])

    # --- Go, stripped (-ldflags "-s -w"): goroutines from the pclntab and the runtime's type descriptors ---
    # samples/go/park.go: user goroutines per (wait reason, top function), as go_test asserts.
    GO_PARK = {("sleep", "time.Sleep"): 5, ("semacquire", "sync.runtime_SemacquireMutex"): 4,
               ("chan receive", "main.waitChan"): 3, ("select", "main.waitSelect"): 2,
               ("IO wait", "internal/poll.runtime_pollWait"): 3,
               ("sync.Cond.Wait", "sync.runtime_notifyListWait"): 1, ("syscall", "syscall.Syscall"): 1}

    def go_park(self):
        s = h.Sample("park_stripped", [], h.temp_dir(), samples=h.GO_SAMPLES)
        self.addCleanup(s.close)
        self.assertEqual(s.wait_ready(), 19)
        return s

    def check_go_park(self, p, cli):
        docs = h.json_docs(p.stdout)
        self.assertEqual(len(docs), 1, p.stdout + p.stderr)
        self.assertEqual(h.go_user_counts(docs[0]), self.GO_PARK)
        self.assertEqual(h.go_groups(docs[0]), h.go_groups(cli))
        self.assertIn("5 goroutines in state sleep, with time.Sleep on top of the stack", p.stdout)
        self.assertIn("created by main.startAll", p.stdout)

    def test_go_stripped_core_goroutines(self):
        s = self.go_park()
        core = h.gcore(s.pid, s.dir)
        self.addCleanup(os.remove, core)
        p = self.ok(["leaks -json", "leaks"], self.core_args(s.exe, core))
        self.check_go_park(p, h.cli_json(["stacks", core]))

    def test_go_stripped_live_goroutines(self):
        s = self.go_park()
        cli = h.cli_json(["stacks", "--pid", str(s.pid)])
        p = self.ok(["leaks -json", "leaks"], self.live_args(s.pid))
        self.check_go_park(p, cli)
        self.assertTrue(s.untraced_and_running())

    # --- baseline, growth, diff ---
    def grown(self, diff_doc):
        return [(g["baseline"], g["current"], len(g.get("new_members", [])),
                 h.own_function(g["frames"]).replace("(anonymous namespace)::", "").split("(")[0])
                for g in diff_doc["grown"]]

    def test_live_baseline_growth_diff(self):
        s = self.leak_sample(2)
        p = self.ok(["leaks baseline", self.detach, self.shell("sh " + s.script_more(3)), self.attach(s.pid), "leaks diff -json", "leaks diff"],
                    self.live_args(s.pid))
        self.assertIn("baseline taken: 3 threads of pid %d" % s.pid, p.stdout)
        docs = h.json_docs(p.stdout)
        self.assertEqual(len(docs), 1, p.stdout + p.stderr)
        self.assertEqual(self.grown(docs[0]), [(2, 5, 3, "get_resource_b")])
        self.assertEqual((docs[0]["baseline_total"], docs[0]["current_total"]), (3, 6))
        self.assertIn("GREW +3: 2 -> 5", p.stdout)
        self.assertTrue(s.untraced_and_running())

    def test_live_diff_against_cli_snapshot(self):
        s = self.leak_sample(1)
        base = os.path.join(s.dir, "base.json")
        h.cli(["snapshot", "--pid", str(s.pid), "-o", base])
        s.send("more 2")
        s.wait_ready()
        p = self.ok(["leaks diff %s -json" % base], self.live_args(s.pid))
        docs = h.json_docs(p.stdout)
        self.assertEqual(len(docs), 1, p.stdout + p.stderr)
        self.assertEqual(self.grown(docs[0]), [(1, 3, 2, "get_resource_b")])

    def test_baseline_save_is_a_cli_snapshot_and_load_reads_it(self):
        saved = os.path.join(h.temp_dir(), "saved.json")
        p = self.ok(["leaks baseline save %s -json" % saved], self.live_args(self.park.pid))
        doc = h.json_docs(p.stdout)[0]
        self.assertEqual((doc["baseline"], doc["threads"]), (saved, 10))
        self.assertEqual(h.groups(h.cli_json(["stacks", saved])), h.groups(h.cli_json(["stacks", "--pid", str(self.park.pid)])))
        h.cli(["diff", saved, self.park_core])  # exit 0: nothing grew
        p = self.ok(["leaks baseline load %s" % saved, "leaks diff -json"],
                    self.core_args(self.park_exe, self.park_core))
        self.assertIn("baseline loaded from %s: 10 threads" % saved, p.stdout)
        docs = h.json_docs(p.stdout)
        self.assertEqual((docs[0]["grew"], docs[0]["grown"]), (False, []))

    # --- errors: one line, no traceback ---
    def expect_error(self, commands, target_args, needle, env=None):
        p = self.dbg(commands, target_args, env)
        self.assertNotIn("Traceback", p.stdout + p.stderr)
        lines = self.errors_of(p.stderr, needle)
        self.assertEqual(len(lines), 1, "stdout:\n%s\nstderr:\n%s" % (p.stdout, p.stderr))
        return lines[0]

    def test_error_no_inferior(self):
        self.expect_error(["leaks"], [], "leaks: no ")

    def test_error_running_inferior(self):
        s = self.leak_sample(1)
        line = self.expect_error(self.running_commands(s.pid) + ["leaks"], [], "is running")
        self.assertIn("pid %d is running" % s.pid, line)

    def test_error_analyzer_missing(self):
        self.expect_error(["leaks"], self.core_args(self.park_exe, self.park_core),
                          "/nonexistent/threadleak' (set explicitly) is not an executable file",
                          env={"THREADLEAK": "/nonexistent/threadleak"})

    def test_error_analyzer_failing(self):
        fake = os.path.join(h.temp_dir(), "threadleak")
        with open(fake, "w") as f:
            f.write("#!/bin/sh\necho 'threadleak: warning: first' >&2\necho 'threadleak: boom: it broke' >&2\n"
                    "echo 'second line' >&2\nexit 2\n")
        os.chmod(fake, stat.S_IRWXU)
        line = self.expect_error(["leaks"], self.live_args(self.park.pid), "boom", env={"THREADLEAK": fake})
        self.assertTrue(line.endswith("threadleak: boom: it broke"), line)
        self.assertTrue(self.park.untraced_and_running())

    def test_error_bad_file_diff(self):
        self.expect_error(["leaks diff /nonexistent/base.json"], self.core_args(self.park_exe, self.park_core),
                          "/nonexistent/base.json: no such file")

    def test_error_bad_file_load(self):
        bad = os.path.join(h.temp_dir(), "notes.txt")
        with open(bad, "w") as f:
            f.write("not a snapshot\n")
        self.expect_error(["leaks baseline load " + bad], self.core_args(self.park_exe, self.park_core),
                          "not a core file")

    def test_error_usage(self):
        self.expect_error(["leaks bogus"], self.core_args(self.park_exe, self.park_core),
                          "unknown sub-command 'bogus'")
