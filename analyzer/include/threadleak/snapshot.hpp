// threadleak/snapshot.hpp — the nouns every stage and front end shares.
//
// A Snapshot is one look at a process: its facts and, per thread, the
// symbolized frames (innermost first) and the state the thread is blocked
// in. Sources (a core, a live PID, a snapshot file) all produce one; the
// later stages (group, diff, report) only read it. Everything here is plain
// data: values own their strings and vectors, nothing points into libdw;
// a frame's strings are Interned (interned.hpp), so frames copy cheaply.
//
//   threadleak::Snapshot snap = threadleak::capture(threadleak::Source::path("core.1"));
//   for (const threadleak::Thread& t : snap.threads)
//     std::printf("%d %s\n", t.tid, threadleak::to_string(t.state).c_str());
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "threadleak/interned.hpp"

namespace threadleak {

// What a thread is blocked on, decided from its syscall and top frames.
enum class State {
  running,      // not in a system call
  crashed,      // took the fatal signal of a crash core
  mutex,        // pthread_mutex_lock / std::mutex
  condvar,      // pthread_cond_*wait / std::condition_variable
  rwlock,       // pthread_rwlock_*
  sem,          // sem_wait family
  join,         // pthread_join / std::thread::join
  sleep,        // nanosleep, clock_nanosleep
  io,           // read/recv/accept/write family
  poll,         // poll, select, epoll_wait
  signal_wait,  // sigwait, sigsuspend, pause
  syscall,      // any other system call; Thread::syscall_name says which
  unknown,      // no registers (e.g. the thread vanished)
  waiting,      // a goroutine parked by the Go scheduler (channel, select, ...); Thread::wait_reason says on what
};

// The stable spelling used in text, JSON and CLI ("signal-wait", ...).
std::string to_string(State s);
// Inverse of to_string; "syscall:NAME" maps to State::syscall.
std::optional<State> state_from_string(const std::string& s);

struct Frame {
  std::uint64_t pc = 0;          // absolute address in the target
  std::uint64_t rel_pc = 0;      // pc relative to the module's load address (stable across ASLR)
  Interned module;               // module file name (basename), "" if none
  Interned build_id;             // hex, "" if unknown
  Interned function;             // demangled; "" if no symbol covers pc
  std::uint64_t offset = 0;      // pc - function start (0 for inlined frames)
  Interned file;                 // source file when DWARF says, else ""
  int line = 0;                  // 0 when unknown
  bool inlined = false;          // an inlined call expanded from the next outer frame's pc
  bool own_code = false;         // in the main executable, not inlined from a system header (/usr/include)
};

// What a Thread record describes: an OS thread, or a goroutine of a Go
// program (read from the Go runtime's own data).
enum class Kind { thread, goroutine };
// "thread" or "goroutine".
std::string to_string(Kind k);
// What a blocked thread waits on, read from the target's memory at capture
// time (glibc's pthread_mutex_t / pthread_rwlock_t / pthread_cond_t; see
// docs/hang.md). The hang stage builds its wait-for graph from these.
struct WaitTarget {
  std::string kind;              // "mutex", "rwlock" or "condvar"; Go: "go-mutex", "go-rwmutex", "go-sema"
  std::uint64_t address = 0;     // the lock or condvar object (its first byte)
  std::uint64_t futex = 0;       // the futex word the thread sleeps on
  std::optional<int> owner;      // owner TID (mutex __owner, rwlock __cur_writer); none if not recorded
  std::optional<int> mutex_kind; // mutex __kind (0 normal, 1 recursive, 2 errorcheck, 3 adaptive, + flags)
  std::string layout;            // where the field offsets came from: "dwarf" or "glibc-2.36-x86_64"
                                 // (Go: futex is the runtime semaphore, &m.sema; layout "go-dwarf")
};

// A process holding the other end of a connected socket: the peer of a
// UNIX socket (the kernel's sock_diag), or the local socket whose
// addresses are a TCP/UDP socket's swapped (same network namespace); found
// by the socket:[INODE] links of /proc/*/fd, after the capture
// (docs/descriptors.md).
struct SocketPeer {
  int pid = 0;
  std::string comm;              // /proc/PID/comm when looked at
  int fd = -1;                   // the fd of that process that holds it
  bool operator==(const SocketPeer&) const = default;
};

// A descriptor a thread blocked in I/O waits on: the fd argument of its
// read/recv/accept/connect/write, the fds of its poll/select sets, or its
// epoll fd and the fds that epoll set watches. Resolved from /proc/PID/fd
// and /proc/PID/net/* just after a live capture (docs/descriptors.md); a
// core holds no descriptors.
struct Descriptor {
  int fd = -1;
  std::string kind;              // "tcp", "tcp6", "udp", "udp6", "unix", "socket" (other families),
                                 // "pipe", "file", "epoll", "eventfd", "timerfd", "signalfd", "anon",
                                 // "other", "closed" (no longer open when resolved)
  std::string description;       // "127.0.0.1:41234 -> 127.0.0.1:5432 ESTABLISHED", a path, "pipe:[4711]"
  std::optional<int> watched_by; // set on the fds an epoll set watches: that epoll fd
  std::vector<SocketPeer> peers; // connected sockets: who holds the other end, by pid then fd (at most
                                 // 8); empty when not visible (remote host, another namespace, no
                                 // permission, the peer gone) or not a connected socket
};

struct Thread {
  int tid = 0;                   // OS thread id; for a goroutine, the thread it runs on (0 if parked)
  std::string name;              // comm, "" when unknown
  State state = State::unknown;
  std::string syscall_name;      // set when the thread is in a system call
  std::vector<Frame> frames;     // innermost first
  std::string error;             // why unwinding stopped early, "" if it ended normally
  bool truncated = false;        // frames were capped at the depth limit

  // Go programs. A goroutine's frames are those the runtime's own traceback
  // prints (runtime internals and compiler wrappers hidden, inlined calls
  // expanded).
  Kind kind = Kind::thread;
  std::int64_t goid = 0;         // goroutine id; 0 for OS threads
  std::string wait_reason;       // the state as runtime.Stack prints it: "sleep", "chan receive", "syscall", ...
  std::optional<std::int64_t> wait_minutes;  // minutes blocked, when the runtime recorded it
  std::optional<Frame> created_by;           // the function of the `go` statement, file:line of it;
                                             // OS threads: the start routine (start_kind says which)
  bool go_runtime = false;       // the Go runtime's own: an OS thread of it (an M) or a system goroutine
  bool leaked_by_gc = false;     // Go 1.26+: the GC proved no one can wake it (status _Gleaked); wait_reason ends in " (leaked)"
  std::optional<WaitTarget> waiting_on;  // the lock or condvar it is blocked on, when found
  std::vector<Descriptor> descriptors;   // I/O waits of a live capture: what its fds are
  // OS threads: how it was started, read from glibc's struct pthread at its
  // thread pointer (docs/threads.md): "main" (the initial thread), "pthread"
  // (created_by: the routine given to pthread_create), "std::thread"
  // (created_by: the callable std::thread runs), "not-pthread" (no glibc
  // thread descriptor of its own: clone() without glibc, another libc);
  // "" when not known (no registers, memory not readable, older files).
  std::string start_kind;
  // User + system CPU time the thread had used by the capture, in ns; none
  // when unknown (Snapshot::cpu_from says where it came from; docs/activity.md).
  std::optional<std::uint64_t> cpu_ns;

  // Its id as a member of a group: the goroutine id of a goroutine, else the TID.
  std::int64_t member_id() const { return kind == Kind::goroutine ? goid : tid; }
};

struct Module {
  std::string name;              // basename
  std::string path;              // where it was found, "" if not found
  std::string build_id;          // hex, "" if unknown
  std::uint64_t start = 0, end = 0;
};

struct CrashInfo {
  int tid = 0;
  int signal = 0;
  std::string signal_name;       // "SIGSEGV"
  std::optional<std::uint64_t> address;  // si_addr for faults
};

// What systemd-coredump's file name says of a core
// (core.COMM.UID.BOOTID.PID.TIMESTAMP[.zst|.lz4|.xz]; docs/cores.md).
struct Coredump {
  std::string comm;              // the process's comm, unescaped (systemd writes "\x2e" for '.')
  unsigned uid = 0;
  int pid = 0;                   // as the host saw it
  std::string boot_id;           // 32 hex digits
  std::string time;              // ISO-8601 UTC, from the name's microseconds since the epoch
};

struct Snapshot {
  static constexpr int kFormatVersion = 1;
  std::string source;            // "core", "live" or "snapshot"
  std::string origin;            // core path, "pid N" or snapshot path
  int pid = 0;
  std::string executable;        // path of the main executable as the target knew it
  std::string captured_at;       // ISO-8601 UTC with microseconds, when known
  // Where captured_at comes from: "clock" (read by threadleak at the
  // capture), "file-mtime" (a core's modification time: a core records no
  // capture time), "" (not said: older snapshot files).
  std::string captured_at_from;
  // Where the threads' cpu_ns come from: "schedstat" (live,
  // /proc/PID/task/TID/schedstat, ns), "proc-stat" (live, .../stat, clock
  // ticks), "core-prstatus" (a kernel-written core's pr_utime + pr_stime);
  // "" when no thread has one, and then cpu_missing says why.
  std::string cpu_from;
  std::string cpu_missing;
  std::vector<Module> modules;
  std::vector<Thread> threads;   // sorted by TID
  std::optional<CrashInfo> crash;
  std::optional<Coredump> coredump;   // when the core's file name is in systemd-coredump's layout
  std::vector<std::string> warnings;  // partial-answer notes for the reader
  std::vector<std::string> notes;     // facts for the reader that are no fault of the input
                                      // (a core's I/O waits: descriptors are not in a core)
  // Go programs: timers pending in the runtime's Ps at capture (time.Sleep,
  // time.After, tickers); nullopt when not a Go program or not readable.
  std::optional<std::uint64_t> go_timers;
  // What taking it cost: the capture's wall time and, for a live process,
  // the longest any of its threads can have been held stopped: the freeze
  // window, from the first interrupt until every thread has resumed. Set by capture() for cores, live processes and the debugger
  // feed; not saved in snapshot files.
  struct Cost {
    double capture_seconds = 0;
    std::optional<double> longest_pause_seconds;
  };
  std::optional<Cost> cost;
};

// Everything `s` says but its threads: what a diff keeps of the current
// snapshot, or a filter starts from.
Snapshot without_threads(const Snapshot& s);

}  // namespace threadleak
