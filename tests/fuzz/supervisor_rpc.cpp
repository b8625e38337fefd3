// SPDX-License-Identifier: MIT
// Fuzz harness: tcs-supervisor's launcher RPC — Supervisor::handleRpc(), what the supervisor's
// RPC workers run on every request on `svc.rpc.launcher.<id>.v1.>` — over a systemd that
// finishes every job at once and a journal with a few entries.
//
// Input: the subject on the first line (a tail after `svc.rpc.launcher.fuzz-systemd-launcher.v1.`
// unless it starts with `svc.`), the request body after it: for example
// `logs.hello_world.main` and `{"lines": 2, "priority": 6}`.
//
// Properties: handleRpc() never throws or crashes; its reply decodes as a message: an
// ErrorReply, or the reply type of the command (list, reload, logs, the actions).
#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <string_view>

#include "check.hpp"
#include "journal.hpp"
#include "rpc_support.hpp"
#include "supervisor.hpp"
#include "systemd_manager.hpp"
#include "tcs/error.hpp"
#include "tcs/protocol.hpp"

namespace {

namespace p = tcs::protocol;
namespace sv = tcs::supervisor;
using tcs::fuzz::check;

constexpr std::string_view kPrefix = "svc.rpc.launcher.fuzz-systemd-launcher.v1.";
constexpr std::string_view kConfig = R"(nats: {host: 127.0.0.1, port: 4222}
registry:
  hello_world: ~
  test.crash: ~
services:
  - {type: hello_world, variant: main, restart: on-failure, restart_max: 3}
  - {type: test.crash, variant: once, restart: "no", enabled: false}
)";

// systemd as far as the RPC asks: every job finishes at once, as `done`.
class QuickSystemd : public sv::ISystemdManager {
 public:
  void setCallbacks(sv::SystemdCallbacks cb) override { callbacks_ = std::move(cb); }
  void subscribe() override {}
  std::vector<sv::UnitListEntry> listUnitsByPatterns(const std::vector<std::string>&) override { return {}; }
  std::string loadUnit(const std::string& name) override { return "/org/freedesktop/systemd1/unit/" + name; }
  std::string getUnit(const std::string& name) override { return loadUnit(name); }
  sv::UnitSnapshot unitProperties(const std::string&) override {
    sv::UnitSnapshot s;
    s.activeState = "active";
    s.mainPid = 4711;
    return s;
  }
  void requestUnitProperties(const std::string&, const std::string&, sv::PropertyChange::Origin) override {}
  std::string startUnit(const std::string& name) override { return job(name); }
  std::string stopUnit(const std::string& name) override { return job(name); }
  std::string restartUnit(const std::string& name) override { return job(name); }
  void resetFailedUnit(const std::string&) override {}
  void reload() override {}
  void reconnect() override {}

 private:
  std::string job(const std::string& name) {
    const auto id = ++jobs_;
    const auto path = "/org/freedesktop/systemd1/job/" + std::to_string(id);
    if (callbacks_.jobRemoved) callbacks_.jobRemoved(sv::JobRemoved{id, path, name, "done"});
    return path;
  }
  sv::SystemdCallbacks callbacks_;
  std::uint32_t jobs_ = 0;
};

// Five entries for any unit; `after_cursor: "bad"` is a malformed cursor.
class SmallJournal : public sv::IJournal {
 public:
  std::vector<p::LogEntry> read(const sv::JournalQuery& query) override {
    if (query.afterCursor == "bad") throw sv::BadCursorError("after_cursor is not a journal cursor");
    std::vector<p::LogEntry> entries;
    for (int i = 0; i < 5; ++i)
      entries.push_back({p::Timestamp{std::chrono::seconds(1'700'000'000 + i)}, 6, "hello_world", 412,
                         std::string(static_cast<std::size_t>(40 * i), 'x'), "s=" + std::to_string(i)});
    return entries;
  }
};

struct Launcher {
  std::filesystem::path configPath;
  QuickSystemd systemd;
  SmallJournal journal;
  tcs::fuzz::ReplyTransport nats;
  std::unique_ptr<sv::Supervisor> supervisor;
  Launcher() {
    char dir[] = "/tmp/tcs-fuzz-supervisor-XXXXXX";
    if (::mkdtemp(dir) == nullptr) std::abort();
    configPath = std::filesystem::path(dir) / "services.yaml";
    std::ofstream(configPath) << kConfig;
    sv::SupervisorOptions o;
    o.configPath = configPath;
    o.launcherId = "fuzz-systemd-launcher";
    o.hostname = "fuzz.example";
    o.jobTimeout = std::chrono::milliseconds(200);
    supervisor = std::make_unique<sv::Supervisor>(o, systemd, &nats, &journal);
    supervisor->start();
  }
  ~Launcher() {
    supervisor.reset();
    std::error_code ec;
    std::filesystem::remove_all(configPath.parent_path(), ec);
  }
};

template <p::Payload T>
void decodes(const std::string& reply) {
  try {
    (void)p::decode<T>(reply);
  } catch (const tcs::ProtocolError& e) {
    tcs::fuzz::fail("the reply decodes as the command's reply", std::string(e.what()) + "\n  " + reply);
  }
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Launcher launcher;
  const auto request = tcs::fuzz::splitRequest({reinterpret_cast<const char*>(data), size}, kPrefix);
  const auto reply = launcher.supervisor->handleRpc(request.subject, request.body);
  bool error = false;
  try {
    error = p::isErrorReply(reply);
  } catch (const tcs::ProtocolError& e) {
    tcs::fuzz::fail("the reply is a message", std::string(e.what()) + "\n  " + reply);
  }
  std::string command;
  try {
    command = p::parseSubject("svc", request.subject).command;
  } catch (const tcs::ProtocolError&) {
    check(error, "a request on a subject that does not parse is refused", request.subject);
  }
  if (error)
    decodes<p::ErrorReply>(reply);
  else if (command == "list")
    decodes<p::LauncherListReply>(reply);
  else if (command == "reload")
    decodes<p::LauncherReloadReply>(reply);
  else if (command == "logs")
    decodes<p::LogsReply>(reply);
  else
    decodes<p::LauncherActionReply>(reply);
  return 0;
}
