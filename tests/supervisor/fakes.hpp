// SPDX-License-Identifier: MIT
// Fakes of the supervisor's seams for its unit tests: systemd (ISystemdManager) that records
// every call and finishes jobs as the test says, a NATS transport that records what is
// published, and a journal (IJournal) that records the queries and answers what the test says.
#pragma once

#include <atomic>
#include <map>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "journal.hpp"
#include "systemd_manager.hpp"
#include "tcs/nats.hpp"

namespace tcs::supervisor::test {

// systemd as far as the supervisor asks: every call recorded; jobs finish as the test says.
class FakeSystemd : public ISystemdManager {
 public:
  void setCallbacks(SystemdCallbacks cb) override { callbacks = std::move(cb); }
  void subscribe() override {
    if (refuseSubscribe) throw SystemdError("org.freedesktop.DBus.Error.AccessDenied", "Access denied", "Subscribe");
    subscribed = true;
  }
  std::vector<UnitListEntry> listUnitsByPatterns(const std::vector<std::string>&) override { return loaded; }
  std::string loadUnit(const std::string& name) override { return path(name); }
  std::string getUnit(const std::string& name) override { return path(name); }
  UnitSnapshot unitProperties(const std::string&) override {
    UnitSnapshot s;
    s.activeState = "active";
    s.mainPid = mainPid;
    return s;
  }
  void requestUnitProperties(const std::string& unit, const std::string&, PropertyChange::Origin origin) override {
    std::lock_guard lock(mutex);
    requested.push_back(unit);
    requestedOrigins.push_back(origin);
  }
  std::string startUnit(const std::string& name) override { return job("start", name); }
  std::string stopUnit(const std::string& name) override { return job("stop", name); }
  std::string restartUnit(const std::string& name) override { return job("restart", name); }
  void resetFailedUnit(const std::string& name) override { record("reset-failed " + name); }
  void reload() override { record("daemon-reload"); }
  void reconnect() override {
    if (reconnectFailures > 0) {
      --reconnectFailures;
      throw SystemdError("org.freedesktop.DBus.Error.NoServer", "no bus yet", "reconnect");
    }
    record("reconnect");
  }
  std::vector<std::string> requests() {
    std::lock_guard lock(mutex);
    return requested;
  }

  std::vector<std::string> calls() {
    std::lock_guard lock(mutex);
    return log;
  }

  SystemdCallbacks callbacks;
  bool subscribed = false;
  std::vector<UnitListEntry> loaded;
  std::vector<std::string> requested;
  std::vector<PropertyChange::Origin> requestedOrigins;  // of each of requested
  std::uint32_t mainPid = 4711;
  std::string jobResult = "done";         ///< what JobRemoved says; empty: the job never finishes
  bool refuse = false;                    ///< calls fail like polkit's AccessDenied
  bool refuseSubscribe = false;           ///< subscribe() fails like polkit's AccessDenied
  std::atomic<int> reconnectFailures{0};  ///< reconnect() fails this many times first

 private:
  static std::string path(const std::string& name) { return "/org/freedesktop/systemd1/unit/" + name; }
  void record(std::string call) {
    if (refuse) throw SystemdError("org.freedesktop.DBus.Error.AccessDenied", "Access denied", call);
    std::lock_guard lock(mutex);
    log.push_back(std::move(call));
  }
  std::string job(const std::string& verb, const std::string& name) {
    record(verb + " " + name);
    const auto id = ++jobs;
    const std::string jobPath = "/org/freedesktop/systemd1/job/" + std::to_string(id);
    // JobRemoved comes on the D-Bus thread, possibly before the caller has the job path.
    if (!jobResult.empty() && callbacks.jobRemoved)
      callbacks.jobRemoved(JobRemoved{static_cast<std::uint32_t>(id), jobPath, name, jobResult});
    return jobPath;
  }
  std::mutex mutex;
  std::vector<std::string> log;
  int jobs = 0;
};

class RecordingNats : public tcs::INatsTransport {
 public:
  bool connected() const noexcept override { return up; }
  bool publish(std::string_view s, std::string_view d) override {
    record(s, d);
    return true;
  }
  void publishPersistent(std::string_view s, std::string_view d) override { record(s, d); }
  tcs::NatsMessage request(std::string_view, std::string_view, std::chrono::milliseconds) override {
    throw tcs::NatsError(tcs::NatsError::Kind::NoResponders, 0, "none");
  }
  tcs::NatsSubscription subscribe(std::string_view subject, MessageHandler h) override {
    std::lock_guard lock(mutex);
    subscriptions.emplace_back(subject);
    handlers.emplace_back(std::string(subject), std::move(h));
    return {};
  }
  // NATS subject matching: `*` is one token, a final `>` one or more.
  static bool matches(std::string_view pattern, std::string_view subject) {
    for (;;) {
      const auto pd = pattern.find('.'), sd = subject.find('.');
      const auto p = pattern.substr(0, pd), s = subject.substr(0, sd);
      if (p == ">") return !s.empty();
      if (p != "*" && p != s) return false;
      if (pd == std::string_view::npos || sd == std::string_view::npos) return pd == sd;
      pattern.remove_prefix(pd + 1);
      subject.remove_prefix(sd + 1);
    }
  }
  // A message as the subscription matching its subject would deliver it (none: dropped).
  void deliverTo(const std::string& subject, const std::string& body, const std::string& reply = "") {
    MessageHandler h;
    {
      std::lock_guard lock(mutex);
      for (const auto& [pattern, handler] : handlers)
        if (matches(pattern, subject)) {
          h = handler;
          break;
        }
    }
    if (h) h(tcs::NatsMessage{subject, reply, body});
  }
  std::vector<std::pair<std::string, MessageHandler>> handlers;
  // A request as the subscription would deliver it.
  void deliver(const std::string& subject, const std::string& reply) { deliverTo(subject, "", reply); }
  // The index in sent() of the reply on @p inbox, or -1.
  int replyIndex(const std::string& inbox) {
    const auto all = sent();
    for (std::size_t i = 0; i < all.size(); ++i)
      if (all[i].first == inbox) return static_cast<int>(i);
    return -1;
  }
  std::vector<std::pair<std::string, nlohmann::json>> sent() {
    std::lock_guard lock(mutex);
    return messages;
  }
  std::vector<nlohmann::json> registry(std::string_view event) {
    std::vector<nlohmann::json> out;
    for (const auto& [s, j] : sent())
      if (s.starts_with("svc.registry." + std::string(event) + ".")) out.push_back(j.at("data"));
    return out;
  }
  std::vector<std::string> subscriptions;
  std::atomic<bool> up{true};  ///< what connected() says

 private:
  void record(std::string_view s, std::string_view d) {
    std::lock_guard lock(mutex);
    messages.emplace_back(std::string(s), nlohmann::json::parse(d));
  }
  std::mutex mutex;
  std::vector<std::pair<std::string, nlohmann::json>> messages;
};

// The journal as far as the logs RPC asks: every query recorded; answers `entries` (or throws
// `error` when set).
class FakeJournal : public IJournal {
 public:
  std::vector<protocol::LogEntry> read(const JournalQuery& query) override {
    std::lock_guard lock(mutex_);
    queries_.push_back(query);
    if (badCursor) throw BadCursorError("after_cursor is not a journal cursor");
    if (!error.empty()) throw JournalError(error);
    return entries;
  }
  std::vector<JournalQuery> queries() const {
    std::lock_guard lock(mutex_);
    return queries_;
  }

  std::vector<protocol::LogEntry> entries;
  std::string error;
  bool badCursor = false;

 private:
  mutable std::mutex mutex_;
  std::vector<JournalQuery> queries_;
};

}  // namespace tcs::supervisor::test
