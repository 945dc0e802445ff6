// What `watch --metrics-listen` and `--metrics-file` deliver: the metrics
// of the latest snapshot (threadleak::render_metrics), served over HTTP at
// /metrics or written to a file atomically. A scrape never triggers a
// capture: the target is frozen on watch's --interval only, however many
// scrapers there are, and a scrape costs a copy of a string.
#pragma once

#include <memory>
#include <string>

namespace cli {

// The two forms of one page: Prometheus text 0.0.4 and OpenMetrics 1.0.
struct MetricsPage {
  std::string prometheus;
  std::string openmetrics;
};

class MetricsServer {
 public:
  // Listens on "HOST:PORT" ("[::1]:PORT" for IPv6; port 0 picks a free
  // one) and serves on a thread of its own until destroyed. Throws
  // threadleak::Error naming the address when it cannot listen. Create it
  // after blocking the signals no server thread should take.
  explicit MetricsServer(const std::string& listen);
  ~MetricsServer();
  MetricsServer(const MetricsServer&) = delete;
  MetricsServer& operator=(const MetricsServer&) = delete;

  // "http://HOST:PORT/metrics", with the port actually bound.
  std::string url() const;
  // What every scrape gets from now on (before the first: 503).
  void publish(MetricsPage page);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

// Writes `text` to `path` through a temporary file in the same directory
// and a rename, so a reader (node_exporter's textfile collector) never sees
// half a file. Throws threadleak::Error naming the path on failure.
void write_atomically(const std::string& path, const std::string& text);

}  // namespace cli
