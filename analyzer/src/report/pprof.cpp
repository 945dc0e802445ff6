// pprof profiles (docs/pprof.md): a gzip-compressed perftools.profiles
// Profile (report/profile.proto) with one sample per group, valued by its
// members, for `go tool pprof`, Pyroscope and other pprof readers.
#include <zlib.h>

#include <algorithm>
#include <ctime>
#include <map>
#include <tuple>
#include <unordered_map>

#include <fmt/format.h>

#include "model_json.hpp"
#include "report/names.hpp"
#include "report/profile.pb.h"
#include "threadleak/threadleak.hpp"

namespace threadleak {
namespace {

namespace pb = perftools::profiles;

// The sample types of a profile: threads, and goroutines first when the
// program is a Go one; a diff adds the grown counts after them.
struct Columns {
  bool go = false;
  bool grown = false;
  std::vector<std::string> names() const {
    std::vector<std::string> n = go ? std::vector<std::string>{"goroutines", "threads"} : std::vector<std::string>{"threads"};
    if (grown) {
      std::size_t k = n.size();
      for (std::size_t i = 0; i < k; ++i) n.push_back("grown_" + n[i]);
    }
    return n;
  }
  std::size_t kinds() const { return go ? 2 : 1; }
  std::size_t column(Kind k) const { return go && k == Kind::thread ? 1 : 0; }
  // What a viewer shows first: the grown counts of a diff, else the first kind.
  std::size_t shown_first() const { return grown ? kinds() : 0; }
};

Columns columns_of(const std::vector<const Group*>& groups, bool grown) {
  Columns c;
  c.grown = grown;
  c.go = std::any_of(groups.begin(), groups.end(), [](const Group* g) { return g->kind == Kind::goroutine; });
  return c;
}

// "2026-12-03T13:52:16Z" -> ns since the epoch; 0 when it does not parse.
std::int64_t time_nanos(const std::string& iso) {
  struct tm tm {};
  const char* end = strptime(iso.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  if (!end || *end) return 0;
  return static_cast<std::int64_t>(timegm(&tm)) * 1'000'000'000;
}

std::string gzip(const std::string& raw) {
  z_stream z{};
  if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) != Z_OK)
    throw Error("pprof: zlib cannot start a gzip stream", ErrorKind::internal);
  std::string out(deflateBound(&z, raw.size()), '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(raw.data()));
  z.avail_in = static_cast<uInt>(raw.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = static_cast<uInt>(out.size());
  int rc = deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  if (rc != Z_STREAM_END) throw Error("pprof: zlib could not compress the profile", ErrorKind::internal);
  return out;
}

using Labels = std::vector<std::pair<std::string, std::string>>;

// A module's name as frames carry it: the basename of what libdwfl reported.
std::string_view base_name(std::string_view path) {
  auto slash = path.rfind('/');
  return slash == std::string_view::npos ? path : path.substr(slash + 1);
}

// A Profile built sample by sample: strings, functions, locations and
// mappings each written once and referred to by index or id.
class ProfileBuilder {
 public:
  ProfileBuilder(const std::vector<Module>& modules, const std::string& executable, const Columns& cols)
      : modules_(modules) {
    str("");
    std::vector<std::string> names = cols.names();
    for (const std::string& n : names) {
      pb::ValueType* t = p_.add_sample_type();
      t->set_type(str(n));
      t->set_unit(str("count"));
    }
    *p_.mutable_period_type() = p_.sample_type(0);
    p_.set_period(1);
    p_.set_default_sample_type(p_.sample_type(static_cast<int>(cols.shown_first())).type());
    main_mapping(executable);
  }

  std::int64_t str(std::string_view s) {
    auto [it, fresh] = strings_.try_emplace(std::string(s), p_.string_table_size());
    if (fresh) p_.add_string_table(it->first);
    return it->second;
  }

  void comment(const std::string& c) { p_.add_comment(str(c)); }
  void time(const std::string& captured_at) { p_.set_time_nanos(time_nanos(captured_at)); }

  void sample(const std::vector<Frame>& frames, const std::vector<std::int64_t>& values, const Labels& labels) {
    pb::Sample* s = p_.add_sample();
    for (std::size_t i = 0; i < frames.size();) s->add_location_id(location(frames, i));
    for (std::int64_t v : values) s->add_value(v);
    for (const auto& [k, v] : labels) {
      if (v.empty()) continue;
      pb::Label* l = s->add_label();
      l->set_key(str(k));
      l->set_str(str(v));
    }
  }

  std::string gzipped() const { return gzip(p_.SerializeAsString()); }

 private:
  const Module* module_of(const Frame& f) const {
    for (const Module& m : modules_)
      if (base_name(m.name) == f.module.str() && (f.build_id.empty() || m.build_id == f.build_id.str())) return &m;
    return nullptr;
  }

  pb::Mapping* new_mapping(const std::string& file, const std::string& build_id) {
    pb::Mapping* m = p_.add_mapping();
    m->set_id(static_cast<std::uint64_t>(p_.mapping_size()));
    m->set_filename(str(file));
    m->set_build_id(str(build_id));
    m->set_has_functions(true);   // every location names its function (else "module+0xOFFSET")
    return m;
  }

  // pprof takes the first mapping for the main executable ("File:" in its reports).
  void main_mapping(const std::string& executable) {
    if (executable.empty()) return;
    for (const Module& m : modules_) {
      if (m.path != executable && m.name != executable && base_name(m.name) != base_name(executable)) continue;
      pb::Mapping* pm = new_mapping(m.path.empty() ? m.name : m.path, m.build_id);
      pm->set_memory_start(m.start);
      pm->set_memory_limit(m.end);
      mappings_[Interned(base_name(m.name))] = pm->id();
      return;
    }
  }

  // The mapping of a frame's module; one made from the frames themselves
  // (load address = pc - rel_pc) when the snapshot lists no such module.
  std::uint64_t mapping(const Frame& f) {
    if (f.module.empty()) return 0;
    auto [it, fresh] = mappings_.try_emplace(f.module, 0);
    if (fresh) {
      const Module* m = module_of(f);
      std::string file = !m ? f.module.str() : m->path.empty() ? m->name : m->path;
      pb::Mapping* pm = new_mapping(file, m && f.build_id.empty() ? m->build_id : f.build_id.str());
      pm->set_memory_start(m ? m->start : f.pc - f.rel_pc);
      pm->set_memory_limit(m ? m->end : f.pc + 1);
      it->second = pm->id();
    }
    pb::Mapping* pm = p_.mutable_mapping(static_cast<int>(it->second - 1));
    if (f.pc >= pm->memory_limit()) pm->set_memory_limit(f.pc + 1);
    if (!f.file.empty()) pm->set_has_filenames(true);
    if (f.line > 0) pm->set_has_line_numbers(true);
    if (f.inlined) pm->set_has_inline_frames(true);
    return it->second;
  }

  std::uint64_t function(const Frame& f) {
    std::int64_t name = str(detail::frame_name(f)), file = str(f.file.str());
    auto [it, fresh] = functions_.try_emplace({name, file}, p_.function_size() + 1);
    if (fresh) {
      pb::Function* fn = p_.add_function();
      fn->set_id(it->second);
      // No system_name: threadleak keeps demangled names only, and pprof
      // shortens a C++ name whose system_name equals it ("::f" for
      // "(anonymous namespace)::f(int)"); without one it shows the name as is.
      fn->set_name(name);
      fn->set_filename(file);
    }
    return it->second;
  }

  // The location of frames[i] and the inlined calls expanded from its pc:
  // the run of inlined frames up to the real function they sit in.
  // Advances i past them.
  std::uint64_t location(const std::vector<Frame>& frames, std::size_t& i) {
    const Frame& first = frames[i];
    LocationKey key{mapping(first), first.pc, {}};
    for (; i < frames.size(); ++i) {
      const Frame& f = frames[i];
      if (!key.lines.empty() && f.pc != first.pc) break;
      key.lines.emplace_back(function(f), f.line);
      if (!f.inlined) {
        ++i;
        break;
      }
    }
    auto [it, fresh] = locations_.try_emplace(key, p_.location_size() + 1);
    if (fresh) {
      pb::Location* l = p_.add_location();
      l->set_id(it->second);
      l->set_mapping_id(key.mapping);
      l->set_address(key.pc);
      for (const auto& [fn, line] : key.lines) {
        pb::Line* ln = l->add_line();
        ln->set_function_id(fn);
        ln->set_line(line);
      }
    }
    return it->second;
  }

  struct LocationKey {
    std::uint64_t mapping, pc;
    std::vector<std::pair<std::uint64_t, std::int64_t>> lines;
    auto operator<=>(const LocationKey&) const = default;
  };

  const std::vector<Module>& modules_;
  pb::Profile p_;
  std::unordered_map<std::string, std::int64_t> strings_;
  std::unordered_map<Interned, std::uint64_t> mappings_;   // by module name
  std::map<std::pair<std::int64_t, std::int64_t>, std::uint64_t> functions_;
  std::map<LocationKey, std::uint64_t> locations_;
};

Labels labels_of(const Group& g) {
  Labels l{{"state", detail::state_label(g.state, g.syscall_name)}, {"fingerprint", g.fingerprint}};
  if (g.kind == Kind::goroutine) {
    l.emplace_back("wait_reason", g.wait_reason);
    if (g.created_by) l.emplace_back("created_by", detail::frame_name(*g.created_by));
  }
  if (g.go_runtime) l.emplace_back("go_runtime", "true");
  return l;
}

// The values of one group: its count in its kind's column, and (for a
// diff) its growth in the matching grown column.
std::vector<std::int64_t> values_of(const Columns& c, const Group& g, std::size_t count, std::size_t growth) {
  std::vector<std::int64_t> v(c.names().size(), 0);
  v[c.column(g.kind)] = static_cast<std::int64_t>(count);
  if (c.grown) v[c.kinds() + c.column(g.kind)] = static_cast<std::int64_t>(growth);
  return v;
}

void add_warnings(ProfileBuilder& b, const std::vector<std::string>& warnings) {
  for (const std::string& w : warnings) b.comment("warning: " + w);
}

}  // namespace

std::string render_pprof(const Snapshot& snap, const std::vector<Group>& groups, const PprofOptions& o) {
  std::vector<const Group*> all;
  for (const Group& g : groups) all.push_back(&g);
  Columns cols = columns_of(all, false);
  ProfileBuilder b(snap.modules, snap.executable, cols);
  b.time(snap.captured_at);
  b.comment(fmt::format("threadleak: {} {}", snap.source, snap.origin));
  add_warnings(b, snap.warnings);
  for (const Group* g : all)
    if (o.go_runtime || !g->go_runtime) b.sample(g->frames, values_of(cols, *g, g->count(), 0), labels_of(*g));
  return b.gzipped();
}

std::string render_pprof(const Diff& d) {
  std::vector<const Group*> all;
  for (const Group& g : d.current_groups) all.push_back(&g);
  Columns cols = columns_of(all, true);
  std::map<std::string, std::size_t> growth;
  for (const DiffEntry& e : d.grown) growth[e.group.signature] = detail::growth(d, e);
  ProfileBuilder b(d.current.modules, d.current.executable, cols);
  b.time(d.current.captured_at);
  b.comment(fmt::format("threadleak diff: current {} {}", d.current.source, d.current.origin));
  b.comment(d.same_process ? "grown: members whose id is not in the baseline (same process)"
                           : "grown: the rise in count since the baseline");
  add_warnings(b, d.warnings);
  for (const Group* g : all) {
    auto it = growth.find(g->signature);
    b.sample(g->frames, values_of(cols, *g, g->count(), it == growth.end() ? 0 : it->second), labels_of(*g));
  }
  return b.gzipped();
}

std::string render_pprof(const Series& s) {
  std::vector<const Group*> all;
  for (const SeriesEntry& e : s.groups) all.push_back(&e.group);
  Columns cols = columns_of(all, true);
  const std::vector<Module> unknown;   // a series keeps no module list: mappings come from the frames
  ProfileBuilder b(unknown, "", cols);
  for (const std::string& origin : s.origins) b.comment("threadleak series: " + origin);
  b.comment("grown: last - first, for groups that never fell along the series");
  add_warnings(b, s.warnings);
  for (const SeriesEntry& e : s.groups) {
    std::size_t last = e.counts.empty() ? 0 : e.counts.back();
    std::size_t grown = e.grew ? e.growth() : 0;
    if (last > 0 || grown > 0) b.sample(e.group.frames, values_of(cols, e.group, last, grown), labels_of(e.group));
  }
  return b.gzipped();
}

}  // namespace threadleak
