// The /metrics endpoint (cpp-httplib, Debian's libcpp-httplib-dev) and the
// atomic textfile writer.
#include "metrics_server.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <httplib.h>

#include "threadleak/threadleak.hpp"

namespace cli {
namespace {

struct Address {
  std::string host;
  int port = 0;
};

Address parse_listen(const std::string& listen) {
  auto bad = [&](const char* why) { return threadleak::Error("--metrics-listen " + listen + ": " + why); };
  std::size_t colon = listen.rfind(':');
  if (colon == std::string::npos || colon == 0) throw bad("expected HOST:PORT, e.g. 127.0.0.1:9464");
  Address a{listen.substr(0, colon), 0};
  if (a.host.size() >= 2 && a.host.front() == '[' && a.host.back() == ']') a.host = a.host.substr(1, a.host.size() - 2);
  std::string port = listen.substr(colon + 1);
  if (port.empty() || port.size() > 5 || port.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(port) > 65535)
    throw bad("the port must be a number from 0 to 65535");
  a.port = std::stoi(port);
  return a;
}

bool wants_openmetrics(const httplib::Request& req) {
  return req.get_header_value("Accept").find("application/openmetrics-text") != std::string::npos;
}

}  // namespace

struct MetricsServer::Impl {
  httplib::Server server;
  Address address;
  std::thread thread;
  std::mutex mu;
  std::shared_ptr<const MetricsPage> page;   // guarded by mu
};

MetricsServer::MetricsServer(const std::string& listen) : impl_(std::make_unique<Impl>()) {
  Impl& s = *impl_;
  s.address = parse_listen(listen);
  // Two workers: a scraper's kept-alive connection leaves one for the next.
  s.server.new_task_queue = [] { return new httplib::ThreadPool(2); };
  s.server.set_tcp_nodelay(true);   // the page in one go, not held back for the client's delayed ACK
  s.server.Get("/metrics", [&s](const httplib::Request& req, httplib::Response& res) {
    std::shared_ptr<const MetricsPage> page;
    {
      std::lock_guard lock(s.mu);
      page = s.page;
    }
    if (!page) {
      res.status = 503;
      res.set_content("no snapshot yet\n", "text/plain; charset=utf-8");
    } else if (wants_openmetrics(req)) {
      res.set_content(page->openmetrics, "application/openmetrics-text; version=1.0.0; charset=utf-8");
    } else {
      res.set_content(page->prometheus, "text/plain; version=0.0.4; charset=utf-8");
    }
  });
  s.server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("threadleak watch: metrics at /metrics\n", "text/plain; charset=utf-8");
  });
  errno = 0;
  int port = s.address.port == 0 ? s.server.bind_to_any_port(s.address.host)
                                 : (s.server.bind_to_port(s.address.host, s.address.port) ? s.address.port : -1);
  if (port < 0)
    throw threadleak::Error(fmt::format("--metrics-listen {}: cannot listen there: {}", listen,
                                        errno ? std::strerror(errno) : "not an address of this host"));
  s.address.port = port;
  s.thread = std::thread([&s] { s.server.listen_after_bind(); });
}

MetricsServer::~MetricsServer() {
  impl_->server.stop();
  if (impl_->thread.joinable()) impl_->thread.join();
}

std::string MetricsServer::url() const {
  const std::string& h = impl_->address.host;
  return fmt::format("http://{}:{}/metrics", h.find(':') != std::string::npos ? "[" + h + "]" : h,
                     impl_->address.port);
}

void MetricsServer::publish(MetricsPage page) {
  auto p = std::make_shared<const MetricsPage>(std::move(page));
  std::lock_guard lock(impl_->mu);
  impl_->page = std::move(p);
}

void write_atomically(const std::string& path, const std::string& text) {
  // Not ending in .prom: the textfile collector skips it while it is written.
  std::string tmp = fmt::format("{}.{}.tmp", path, ::getpid());
  auto fail = [&](const std::string& what) {
    int err = errno;
    ::unlink(tmp.c_str());
    return threadleak::Error(path + ": cannot " + what + ": " + std::strerror(err), threadleak::error_kind_of_errno(err));
  };
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) throw fail("create " + tmp);
  for (std::size_t done = 0; done < text.size();) {
    ssize_t n = ::write(fd, text.data() + done, text.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      throw fail("write " + tmp);
    }
    done += static_cast<std::size_t>(n);
  }
  if (::close(fd) != 0) throw fail("write " + tmp);
  if (::rename(tmp.c_str(), path.c_str()) != 0) throw fail("rename " + tmp + " to it");
}

}  // namespace cli
