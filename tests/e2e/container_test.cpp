// Containers (issue 15): a process whose executable and shared library exist
// only inside its own mount namespace (unshare -m, a private tmpfs), looked
// at live through its own view (/proc/PID/root, /proc/PID/map_files) and,
// once dumped with gcore, through --sysroot. The host's view of the same
// directory is empty, or holds another build of the library (same path,
// another build-id), which must never be taken.
#include <unistd.h>

#include <filesystem>
#include <fstream>

#include <gtest/gtest.h>

#include "harness.hpp"

namespace fs = std::filesystem;
using tl_test::Proc;

namespace {

const std::string kLib = "libcontainer_lib.so";

std::string lib_build(int variant) {
  return tl_test::sample_bin("container_lib_" + std::to_string(variant) + "/" + kLib);
}

// "FILE:LINE" of the line of samples/cpp/FILE holding `marker`.
std::string marked_line(const std::string& file, const std::string& marker) {
  std::string path = std::string(SOURCE_DIR) + "/samples/cpp/" + file;
  std::ifstream in(path);
  std::string line;
  for (int n = 1; std::getline(in, line); ++n)
    if (line.find(marker) != std::string::npos) return path + ":" + std::to_string(n);
  ADD_FAILURE() << "no line with '" << marker << "' in " << path;
  return "";
}

// "FUNCTION FILE:LINE [MODULE]" of the first frame whose function contains
// `needle`, in any group.
std::string frame_of(const nlohmann::json& j, const std::string& needle) {
  for (const auto& g : j.at("groups"))
    for (const auto& f : g.at("frames")) {
      std::string fn = f.value("function", "");
      if (fn.find(needle) == std::string::npos) continue;
      return fn + " " + f.value("file", "?") + ":" + std::to_string(f.value("line", 0)) + " [" +
             f.value("module", "") + "]";
    }
  return "(no frame of " + needle + ")";
}

// The frames the container's build parks in; `suffix` is what the module
// names get (" (deleted)" once the files are gone).
std::string app_frame(const std::string& suffix) {
  return "(anonymous namespace)::park_in_app() " + marked_line("container_app.cpp", "park-line: app") +
         " [container_app" + suffix + "]";
}
std::string lib_frame(const std::string& suffix) {
  return "(anonymous namespace)::park_in_variant_1(void (*)()) " +
         marked_line("container_lib.cpp", "park-line: variant 1") + " [" + kLib + suffix + "]";
}

// `threadleak stacks ARGS --json`: exit 0, no module left unfound; the JSON.
nlohmann::json stacks_all_found(const std::vector<std::string>& args) {
  std::vector<std::string> argv{tl_test::threadleak_bin(), "stacks"};
  argv.insert(argv.end(), args.begin(), args.end());
  argv.push_back("--json");
  tl_test::Result r = tl_test::run(argv);
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_EQ(r.err.find("no file"), std::string::npos) << r.err;
  auto j = nlohmann::json::parse(r.out, nullptr, false);
  EXPECT_FALSE(j.is_discarded()) << r.out << r.err;
  return j;
}

void expect_the_containers_build(const nlohmann::json& j, const std::string& suffix = "") {
  EXPECT_EQ(frame_of(j, "park_in_app"), app_frame(suffix));
  EXPECT_EQ(frame_of(j, "park_in_variant"), lib_frame(suffix));
  EXPECT_EQ(j.dump().find("variant_2"), std::string::npos);
}

// A "container": the sample and its library copied onto a tmpfs that only
// a new mount namespace has over `dir` (the host sees `dir` as it is).
// `setup` runs in the namespace before the sample starts. The mount goes
// with the namespace when the sample is killed (Proc's destructor).
std::unique_ptr<Proc> start_container(const std::string& dir, const std::string& setup = "true",
                                      const std::string& lib = lib_build(1)) {
  std::string script = "mount -t tmpfs none '" + dir + "' && cp '" + tl_test::sample_bin("container_app") + "' '" +
                       dir + "/' && cp '" + lib + "' '" + dir + "/" + kLib + "' && " + setup + " && exec '" + dir +
                       "/container_app'";
  auto p = std::make_unique<Proc>(std::vector<std::string>{"/usr/bin/unshare", "-m", "--propagation", "private", "sh", "-c", script});
  EXPECT_EQ(p->expect("ready"), "ready 3");
  EXPECT_TRUE(fs::is_empty(dir)) << "the host sees the container's files";
  return p;
}

std::string make_dir(const std::string& path) {
  fs::create_directories(path);
  return path;
}

}  // namespace

// Names and file:line in the executable and the library, found without
// help through /proc/PID/root, with --sysroot /proc/PID/root too, and still
// the container's build when the host has another build at the same path.
TEST(ContainerLive, FilesOnlyTheNamespaceSeesGiveNamesAndLines) {
  std::string dir = make_dir(tl_test::temp_dir() + "/app");
  auto p = start_container(dir);
  std::string pid = std::to_string(p->pid());
  expect_the_containers_build(stacks_all_found({"--pid", pid}));
  expect_the_containers_build(stacks_all_found({"--pid", pid, "--sysroot", "/proc/" + pid + "/root"}));

  fs::copy_file(lib_build(2), dir + "/" + kLib);      // another build at the same path on the host
  fs::copy_file("/bin/true", dir + "/container_app");  // another program, too
  expect_the_containers_build(stacks_all_found({"--pid", pid}));
}

// Files deleted since they were mapped (an upgrade in the container): only
// /proc/PID/map_files has them. Without the capability map_files needs,
// the answer degrades to module+offset with a warning naming each module.
TEST(ContainerLive, DeletedFilesThroughMapFilesElseAWarning) {
  std::string dir = make_dir(tl_test::temp_dir() + "/app");
  auto p = start_container(dir);
  std::string pid = std::to_string(p->pid());
  fs::remove("/proc/" + pid + "/root" + dir + "/container_app");
  fs::remove("/proc/" + pid + "/root" + dir + "/" + kLib);
  expect_the_containers_build(stacks_all_found({"--pid", pid}), " (deleted)");

  tl_test::Result r = tl_test::run({"setpriv", "--bounding-set", "-sys_admin,-checkpoint_restore", "--inh-caps",
                                    "-sys_admin,-checkpoint_restore", tl_test::threadleak_bin(), "stacks", "--pid",
                                    pid, "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const std::string& file : {dir + "/container_app (deleted)", dir + "/" + kLib + " (deleted)"})
    EXPECT_NE(r.err.find("warning: module " + file + ": no file with build-id"), std::string::npos) << r.err;
  auto j = nlohmann::json::parse(r.out);
  EXPECT_EQ(j.at("groups").size(), 3u);
  EXPECT_EQ(frame_of(j, "park_in"), "(no frame of park_in)");
  int unnamed = 0;   // module+offset frames of the two modules
  for (const auto& g : j.at("groups"))
    for (const auto& f : g.at("frames"))
      unnamed += f.at("function") == "" && (f.at("module") == "container_app (deleted)" ||
                                            f.at("module") == kLib + " (deleted)");
  EXPECT_GE(unnamed, 3) << j.dump(1);
}

// The library stripped, its debug info only in the container's
// /usr/lib/debug/.build-id (a tmpfs over /usr/lib/debug in the namespace).
TEST(ContainerLive, SeparateDebugInfoInsideTheContainer) {
  std::string work = tl_test::temp_dir();
  std::string stripped = work + "/stripped.so", debug = work + "/lib.debug";
  ASSERT_EQ(tl_test::run({"objcopy", "--only-keep-debug", lib_build(1), debug}).status, 0);
  ASSERT_EQ(tl_test::run({"strip", "--strip-debug", "-o", stripped, lib_build(1)}).status, 0);
  tl_test::Result id = tl_test::run({"readelf", "-n", stripped});
  auto at = id.out.find("Build ID: ");
  ASSERT_NE(at, std::string::npos) << id.out;
  std::string hex = id.out.substr(at + 10, 40);
  std::string debug_dir = "/usr/lib/debug/.build-id/" + hex.substr(0, 2);
  std::string setup = "mount -t tmpfs none /usr/lib/debug && mkdir -p " + debug_dir + " && cp '" + debug + "' " +
                      debug_dir + "/" + hex.substr(2) + ".debug";
  std::string dir = make_dir(work + "/app");
  auto p = start_container(dir, setup, stripped);
  ASSERT_FALSE(fs::exists(debug_dir + "/" + hex.substr(2) + ".debug")) << "the host sees the container's debug file";
  expect_the_containers_build(stacks_all_found({"--pid", std::to_string(p->pid())}));
}

// A gcore core of the container's process, read with --sysroot holding the
// container's root as a directory, while the host has another build of the
// library at the same path: the sysroot's build (the one the process ran)
// is taken; without --sysroot the host's is refused by build-id.
TEST(ContainerCore, SysrootHoldingTheImagesBuildWins) {
  std::string dir = make_dir(tl_test::temp_dir() + "/app");
  std::string core;
  {
    auto p = start_container(dir);
    core = tl_test::gcore(p->pid(), tl_test::temp_dir());
  }
  fs::copy_file(lib_build(2), dir + "/" + kLib);
  std::string sysroot = make_dir(tl_test::temp_dir() + "/image") ;
  make_dir(sysroot + dir);
  fs::copy_file(tl_test::sample_bin("container_app"), sysroot + dir + "/container_app");
  fs::copy_file(lib_build(1), sysroot + dir + "/" + kLib);

  expect_the_containers_build(stacks_all_found({core, "--sysroot", sysroot}));

  tl_test::Result r = tl_test::run({tl_test::threadleak_bin(), "stacks", core, "--json"});
  ASSERT_EQ(r.status, 0) << r.err;
  for (const std::string& file : {dir + "/container_app", dir + "/" + kLib})
    EXPECT_NE(r.err.find("warning: module " + file + ": no file with build-id"), std::string::npos) << r.err;
  EXPECT_EQ(r.out.find("variant_2"), std::string::npos);
}
