// Small naming helpers shared by the renderers.
#include "report/names.hpp"

#include <algorithm>

#include <fmt/format.h>

namespace threadleak::detail {

std::string frame_name(const Frame& f) {
  if (!f.function.empty()) return f.function;
  return fmt::format("{}+{:#x}", f.module.empty() ? "??" : f.module, f.rel_pc);
}

std::string group_title(const Group& g) {
  for (const Frame& f : g.frames)
    if (f.own_code && !f.inlined) return frame_name(f);
  if (const Frame* own = first_own_frame(g.frames)) return frame_name(*own);
  return g.frames.empty() ? "(no frames)" : frame_name(g.frames.front());
}

std::string plural(std::size_t n, const char* word) { return fmt::format("{} {}{}", n, word, n == 1 ? "" : "s"); }

std::string thread_function(const Thread& t) {
  const Frame* f = first_own_frame(t.frames);
  if (!f && !t.frames.empty()) f = &t.frames.front();
  return f ? frame_name(*f) : "";
}

const Thread* find_thread(const Snapshot& s, int tid) {
  auto it = std::lower_bound(s.threads.begin(), s.threads.end(), tid,
                             [](const Thread& t, int x) { return t.tid < x; });
  return it != s.threads.end() && it->tid == tid ? &*it : nullptr;
}

namespace {
std::string descriptor_text(const Descriptor& d) {
  if (d.kind == "closed") return fmt::format("fd {} (closed since the capture)", d.fd);
  bool socket = d.kind == "tcp" || d.kind == "tcp6" || d.kind == "udp" || d.kind == "udp6" || d.kind == "unix";
  std::string s = fmt::format("{}{} (fd {})", socket ? d.kind + " " : "", d.description, d.fd);
  // "... to pid 812 (memcached) fd 17", "... and pid 9 (x) fd 3", "... and 2 more"
  for (std::size_t i = 0; i < d.peers.size(); ++i) {
    const SocketPeer& p = d.peers[i];
    if (i == 2) return s + fmt::format(" and {} more", d.peers.size() - i);
    s += fmt::format(" {} pid {} ({}) fd {}", i ? "and" : "to", p.pid, p.comm, p.fd);
  }
  return s;
}
}  // namespace

std::string descriptors_text(const std::vector<Descriptor>& ds, std::size_t max) {
  std::string s, sep;
  std::size_t shown = 0;
  for (std::size_t i = 0; i < ds.size(); ++i) {
    const Descriptor& d = ds[i];
    if (shown == max) return s + fmt::format(", +{} more", ds.size() - i);
    s += sep;
    sep = ", ";
    if (d.kind == "epoll" && !d.watched_by) {   // its watched fds follow it
      std::size_t watched = std::count_if(ds.begin(), ds.end(), [&](const Descriptor& w) { return w.watched_by == d.fd; });
      s += fmt::format("epoll fd {} watching {}", d.fd, plural(watched, "fd"));
      if (watched) sep = ": ";
      continue;
    }
    s += descriptor_text(d);
    ++shown;
  }
  return s;
}

std::size_t growth(const Diff& d, const DiffEntry& e) {
  if (d.same_process) return e.new_members.size();
  return e.current > e.baseline ? e.current - e.baseline : 0;
}

}  // namespace threadleak::detail
