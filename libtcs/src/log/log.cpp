// SPDX-License-Identifier: MIT
#include "tcs/log.hpp"

#include <sys/stat.h>
#include <sys/uio.h>

// We pass the caller's CODE_FILE/CODE_LINE/CODE_FUNC ourselves, not this file's.
#define SD_JOURNAL_SUPPRESS_LOCATION
#include <systemd/sd-journal.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <mutex>
#include <vector>

namespace tcs::log {
namespace {

std::atomic<Level> gLevel{Level::Info};
std::mutex gSinkMutex;

class JournalSink final : public Sink {
 public:
  explicit JournalSink(Identity id) : id_(std::move(id)) {}
  void write(Level level, std::string_view message, const std::source_location& where) override {
    std::vector<std::string> fields{
        "MESSAGE=" + std::string(message),
        fmt::format("PRIORITY={}", syslogPriority(level)),
        "CODE_FILE=" + std::string(where.file_name()),
        fmt::format("CODE_LINE={}", where.line()),
        "CODE_FUNC=" + std::string(where.function_name()),
        "SYSLOG_IDENTIFIER=" + (id_.syslogIdentifier.empty() ? id_.serviceId : id_.syslogIdentifier),
    };
    if (!id_.serviceId.empty()) {
      fields.push_back("TCS_SERVICE_ID=" + id_.serviceId);
      fields.push_back("TCS_SERVICE_TYPE=" + id_.type);
      fields.push_back("TCS_VARIANT=" + id_.variant);
    }
    std::vector<iovec> iov;
    iov.reserve(fields.size());
    for (auto& f : fields) iov.push_back({f.data(), f.size()});
    if (sd_journal_sendv(iov.data(), static_cast<int>(iov.size())) < 0)
      fmt::print(stderr, "<{}>{}\n", syslogPriority(level), message);  // journald is gone: keep the line
  }

 private:
  Identity id_;
};

class StderrSink final : public Sink {
 public:
  explicit StderrSink(Identity id) : id_(std::move(id)) {
    const char* noColor = std::getenv("NO_COLOR");
    color_ = ::isatty(STDERR_FILENO) == 1 && !(noColor && *noColor);
  }
  void write(Level level, std::string_view message, const std::source_location&) override {
    using namespace std::chrono;
    const auto now = system_clock::now();
    const std::time_t t = system_clock::to_time_t(now);
    std::tm tm{};
    ::localtime_r(&t, &tm);
    const auto ms = duration_cast<milliseconds>(now.time_since_epoch()).count() % 1000;
    std::string_view on, off;
    if (color_) {
      static constexpr std::string_view kColors[] = {"\033[2m", "", "\033[33m", "\033[31m", "\033[1;31m"};
      on = kColors[static_cast<int>(level)];
      off = on.empty() ? "" : "\033[0m";
    }
    const std::string line =
        fmt::format("{:04}-{:02}-{:02} {:02}:{:02}:{:02}.{:03} {}{:<8}{} {}: {}\n", tm.tm_year + 1900, tm.tm_mon + 1,
                    tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, ms, on, levelName(level), off,
                    id_.serviceId.empty() ? "tcs" : id_.serviceId, message);
    // One write(2) per record keeps lines whole when threads log at once.
    [[maybe_unused]] auto n = ::write(STDERR_FILENO, line.data(), line.size());
  }

 private:
  Identity id_;
  bool color_ = false;
};

std::shared_ptr<Sink>& sinkRef() {
  static std::shared_ptr<Sink> sink = std::make_shared<StderrSink>(Identity{});
  return sink;
}

}  // namespace

int syslogPriority(Level level) noexcept {
  switch (level) {
    case Level::Debug: return 7;
    case Level::Info: return 6;
    case Level::Warning: return 4;
    case Level::Error: return 3;
    case Level::Critical: return 2;
  }
  return 6;
}

std::string_view levelName(Level level) noexcept {
  return toString(level);
}

bool underSystemd() noexcept {
  // $JOURNAL_STREAM names the device:inode of the stream systemd connected stderr to; it only
  // counts while stderr still is that stream (not redirected by a child or a shell).
  if (const char* js = std::getenv("JOURNAL_STREAM")) {
    unsigned long long dev = 0, ino = 0;
    struct stat st {};
    if (std::sscanf(js, "%llu:%llu", &dev, &ino) == 2 && ::fstat(STDERR_FILENO, &st) == 0 &&
        static_cast<unsigned long long>(st.st_dev) == dev && static_cast<unsigned long long>(st.st_ino) == ino)
      return true;
  }
  // $INVOCATION_ID alone (stderr redirected, or the variable inherited by a shell or container)
  // counts only with a journal to write to: sd_journal_send() drops records silently when its
  // socket is missing, which would lose every line.
  return std::getenv("INVOCATION_ID") != nullptr && ::access("/run/systemd/journal/socket", F_OK) == 0;
}

void configure(Backend backend, Identity identity, Level minimum) {
  if (backend == Backend::Auto) backend = underSystemd() ? Backend::Journal : Backend::Stderr;
  std::shared_ptr<Sink> sink;
  if (backend == Backend::Journal)
    sink = std::make_shared<JournalSink>(std::move(identity));
  else
    sink = std::make_shared<StderrSink>(std::move(identity));
  setSink(std::move(sink));
  setLevel(minimum);
}

std::shared_ptr<Sink> setSink(std::shared_ptr<Sink> sink) {
  std::lock_guard lock(gSinkMutex);
  std::swap(sinkRef(), sink);
  return sink;
}

void setLevel(Level minimum) noexcept {
  gLevel.store(minimum);
}
Level level() noexcept {
  return gLevel.load();
}

void write(Level lvl, std::string_view message, const std::source_location& where) {
  if (lvl < gLevel.load()) return;
  std::shared_ptr<Sink> sink;
  {
    std::lock_guard lock(gSinkMutex);
    sink = sinkRef();
  }
  sink->write(lvl, message, where);
}

Sink::~Sink() = default;

}  // namespace tcs::log
