// SPDX-License-Identifier: MIT
// RPC load on one tcs-supervisor for bench/rpc_load_bench.sh (issue 17): N client threads, each
// with its own NATS connection (tcs::NatsConnection), call the launcher RPCs of doc/protocol.md §5
// in a loop for D seconds — mostly `list`, the rest `start.<sid>`/`stop.<sid>` on a few dedicated
// services (several clients on the same service at once is intended: every request must still
// be answered, possibly with an error).
//
//   rpc_load --launcher ID [--url URL] [--prefix P] [--clients N] [--duration S] [--service SID]...
//            [--list-share F] [--timeout-ms MS] [--seed N]
//
// Defaults: URL nats://127.0.0.1:4222, prefix svc, 50 clients, 30 s, list share 0.8 (the rest is
// start and stop at equal odds on a random --service), timeout 10,000 ms per request, seed 1.
// All clients connect first; the clock starts when the last one is connected. A request in
// flight at the end is completed (bounded by the timeout) and counted.
//
// Per request: latency (steady clock, publish → reply) and outcome: `ok` (a reply whose `data`
// is the command's: `services` for list, `result` for start/stop), `error` (the protocol's error
// reply, `data.error` a string: counted per code), `bad_reply` (anything else), `timeout` (no
// reply within the timeout: a request left unanswered), `transport` (NATS refused or failed the
// request: no responders, not connected…, counted per kind).
//
// Output: a table per verb (requests, ok, error, timeout, transport, p50/p90/p99/max of the
// answered requests in ms), the errors by verb and code, then one machine-readable line (with the
// wall-clock µs when the load began and when the last reply came: start_unix_us, end_unix_us):
// `RPCLOAD key=value …`. Exit 0 when every request was answered (no timeout, no transport
// error), 3 otherwise, 1 when the load could not be started (a client could not connect).
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <map>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "tcs/error.hpp"
#include "tcs/log.hpp"
#include "tcs/nats.hpp"

namespace {

using Clock = std::chrono::steady_clock;

struct Options {
  std::string url = "nats://127.0.0.1:4222";
  std::string prefix = "svc";
  std::string launcher;
  int clients = 50;
  double duration = 30;
  std::vector<std::string> services;
  double listShare = 0.8;
  int timeoutMs = 10000;
  unsigned seed = 1;
};

enum Verb { kList, kStart, kStop, kVerbs };
constexpr const char* kVerbName[kVerbs] = {"list", "start", "stop"};

// What one client thread recorded; merged after the run.
struct Record {
  std::vector<std::int64_t> latencyUs[kVerbs];  // answered requests (ok, error, bad_reply)
  std::uint64_t sent[kVerbs] = {};
  std::uint64_t ok[kVerbs] = {};
  std::uint64_t error[kVerbs] = {};
  std::uint64_t badReply[kVerbs] = {};
  std::uint64_t timeout[kVerbs] = {};
  std::uint64_t transport[kVerbs] = {};
  std::int64_t maxTimeoutWaitUs = 0;
  std::map<std::string, std::uint64_t> codes;  // "<verb> <code>" → count
  std::string firstBadReply;
};

const char* kindName(tcs::NatsError::Kind k) {
  using K = tcs::NatsError::Kind;
  switch (k) {
    case K::Config: return "config";
    case K::NotConnected: return "not_connected";
    case K::Timeout: return "timeout";
    case K::NoResponders: return "no_responders";
    case K::AuthFailed: return "auth_failed";
    case K::Tls: return "tls";
    case K::InvalidArgument: return "invalid_argument";
    case K::NotPermitted: return "not_permitted";
    case K::Other: break;
  }
  return "other";
}

tcs::config::NatsConfig configFor(const std::string& url) {
  tcs::config::NatsConfig c;
  c.present = true;
  for (std::size_t from = 0; from <= url.size();) {
    const std::size_t comma = std::min(url.find(',', from), url.size());
    if (comma > from) c.servers.push_back(url.substr(from, comma - from));
    from = comma + 1;
  }
  c.required = true;
  return c;
}

// Classifies a reply body: "" when it is the command's success reply, else the error code, or
// "!bad" when it is neither.
std::string classify(Verb verb, const std::string& body) {
  const auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("data") || !j["data"].is_object()) return "!bad";
  const auto& d = j["data"];
  if (d.contains("error") && d["error"].is_string()) return d["error"].get<std::string>();
  if (verb == kList) return d.contains("services") && d["services"].is_array() ? "" : "!bad";
  const char* want = verb == kStart ? "started" : "stopped";
  return d.contains("result") && d["result"] == want ? "" : "!bad";
}

std::int64_t percentile(const std::vector<std::int64_t>& sorted, double q) {  // nearest rank
  if (sorted.empty()) return -1;
  auto rank = static_cast<std::size_t>(q * static_cast<double>(sorted.size()));
  if (static_cast<double>(rank) < q * static_cast<double>(sorted.size())) ++rank;
  return sorted[std::clamp<std::size_t>(rank, 1, sorted.size()) - 1];
}

std::string ms(std::int64_t us) {
  if (us < 0) return "-";
  char b[32];
  std::snprintf(b, sizeof b, "%.1f", static_cast<double>(us) / 1000.0);
  return b;
}

int usage() {
  std::fprintf(stderr,
               "usage: rpc_load --launcher ID [--url URL] [--prefix P] [--clients N] [--duration S]\n"
               "                [--service SID]... [--list-share F] [--timeout-ms MS] [--seed N]\n");
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  tcs::log::configure(tcs::log::Backend::Stderr, {"rpc_load", "", "", "rpc_load"}, tcs::log::Level::Warning);
  Options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) return usage();
    const std::string v = argv[++i];
    if (a == "--url")
      o.url = v;
    else if (a == "--prefix")
      o.prefix = v;
    else if (a == "--launcher")
      o.launcher = v;
    else if (a == "--clients")
      o.clients = std::atoi(v.c_str());
    else if (a == "--duration")
      o.duration = std::atof(v.c_str());
    else if (a == "--service")
      o.services.push_back(v);
    else if (a == "--list-share")
      o.listShare = std::atof(v.c_str());
    else if (a == "--timeout-ms")
      o.timeoutMs = std::atoi(v.c_str());
    else if (a == "--seed")
      o.seed = static_cast<unsigned>(std::strtoul(v.c_str(), nullptr, 10));
    else
      return usage();
  }
  if (o.launcher.empty() || o.clients < 1 || o.duration <= 0 || o.timeoutMs < 1) return usage();
  if (o.services.empty()) o.listShare = 1.0;
  const std::string base = o.prefix + ".rpc.launcher." + o.launcher + ".v1.";
  const auto timeout = std::chrono::milliseconds(o.timeoutMs);

  // Connect every client first (in parallel: each connection is a handshake of its own).
  std::vector<std::unique_ptr<tcs::NatsConnection>> conns(static_cast<std::size_t>(o.clients));
  std::atomic<int> connectFailures{0};
  {
    std::vector<std::thread> t;
    for (int c = 0; c < o.clients; ++c)
      t.emplace_back([&, c] {
        try {
          tcs::NatsOptions no;
          no.name = "rpc_load." + std::to_string(c);
          no.connectDeadline = std::chrono::seconds(20);
          conns[static_cast<std::size_t>(c)] = std::make_unique<tcs::NatsConnection>(configFor(o.url), no);
        } catch (const std::exception& e) {
          std::fprintf(stderr, "rpc_load: client %d cannot connect: %s\n", c, e.what());
          ++connectFailures;
        }
      });
    for (auto& th : t) th.join();
  }
  if (connectFailures > 0) return 1;

  std::vector<Record> records(static_cast<std::size_t>(o.clients));
  const auto t0 = Clock::now();
  const auto unixUs = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  const long long startUnixUs = unixUs();
  const auto end = t0 + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(o.duration));
  {
    std::vector<std::thread> t;
    for (int c = 0; c < o.clients; ++c)
      t.emplace_back([&, c] {
        auto& nats = *conns[static_cast<std::size_t>(c)];
        auto& r = records[static_cast<std::size_t>(c)];
        std::mt19937 rng(o.seed * 7919U + static_cast<unsigned>(c));
        std::uniform_real_distribution<double> u(0.0, 1.0);
        while (Clock::now() < end) {
          Verb verb = kList;
          std::string subject = base + "list";
          if (u(rng) >= o.listShare) {
            verb = u(rng) < 0.5 ? kStart : kStop;
            const auto& sid = o.services[static_cast<std::size_t>(u(rng) * static_cast<double>(o.services.size())) %
                                         o.services.size()];
            subject = base + kVerbName[verb] + "." + sid;
          }
          ++r.sent[verb];
          const auto q0 = Clock::now();
          try {
            const auto reply = nats.request(subject, "", timeout);
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - q0).count();
            r.latencyUs[verb].push_back(us);
            const auto code = classify(verb, reply.data);
            if (code.empty()) {
              ++r.ok[verb];
            } else if (code == "!bad") {
              ++r.badReply[verb];
              if (r.firstBadReply.empty()) r.firstBadReply = reply.data.substr(0, 300);
            } else {
              ++r.error[verb];
              ++r.codes[std::string(kVerbName[verb]) + " " + code];
            }
          } catch (const tcs::NatsError& e) {
            const auto us = std::chrono::duration_cast<std::chrono::microseconds>(Clock::now() - q0).count();
            if (e.kind() == tcs::NatsError::Kind::Timeout) {
              ++r.timeout[verb];
              r.maxTimeoutWaitUs = std::max(r.maxTimeoutWaitUs, us);
            } else {
              ++r.transport[verb];
              ++r.codes[std::string(kVerbName[verb]) + " transport:" + kindName(e.kind())];
            }
          }
        }
      });
    for (auto& th : t) th.join();
  }
  const double wall = std::chrono::duration<double>(Clock::now() - t0).count();
  const long long endUnixUs = unixUs();
  conns.clear();

  // Merge and report.
  Record all;
  for (auto& r : records) {
    for (int v = 0; v < kVerbs; ++v) {
      all.latencyUs[v].insert(all.latencyUs[v].end(), r.latencyUs[v].begin(), r.latencyUs[v].end());
      all.sent[v] += r.sent[v];
      all.ok[v] += r.ok[v];
      all.error[v] += r.error[v];
      all.badReply[v] += r.badReply[v];
      all.timeout[v] += r.timeout[v];
      all.transport[v] += r.transport[v];
    }
    all.maxTimeoutWaitUs = std::max(all.maxTimeoutWaitUs, r.maxTimeoutWaitUs);
    for (const auto& [k, n] : r.codes) all.codes[k] += n;
    if (all.firstBadReply.empty()) all.firstBadReply = r.firstBadReply;
  }
  std::uint64_t total = 0, timeouts = 0, transport = 0, bad = 0;
  std::printf("rpc_load: %d clients, %.1f s (%.1f s with the last replies), launcher %s, services [", o.clients,
              o.duration, wall, o.launcher.c_str());
  for (std::size_t i = 0; i < o.services.size(); ++i) std::printf("%s%s", i ? " " : "", o.services[i].c_str());
  std::printf("], list share %.2f, timeout %d ms\n", o.listShare, o.timeoutMs);
  std::printf("%-6s %8s %8s %8s %8s %9s %9s %9s %9s %9s %9s %8s\n", "verb", "requests", "ok", "error", "timeout",
              "transport", "bad_reply", "p50 ms", "p90 ms", "p99 ms", "max ms", "req/s");
  std::string machine;
  for (int v = 0; v < kVerbs; ++v) {
    auto& l = all.latencyUs[v];
    std::sort(l.begin(), l.end());
    const auto p50 = percentile(l, 0.5), p90 = percentile(l, 0.9), p99 = percentile(l, 0.99);
    const auto mx = l.empty() ? -1 : l.back();
    std::printf("%-6s %8llu %8llu %8llu %8llu %9llu %9llu %9s %9s %9s %9s %8.1f\n", kVerbName[v],
                static_cast<unsigned long long>(all.sent[v]), static_cast<unsigned long long>(all.ok[v]),
                static_cast<unsigned long long>(all.error[v]), static_cast<unsigned long long>(all.timeout[v]),
                static_cast<unsigned long long>(all.transport[v]), static_cast<unsigned long long>(all.badReply[v]),
                ms(p50).c_str(), ms(p90).c_str(), ms(p99).c_str(), ms(mx).c_str(),
                static_cast<double>(all.sent[v]) / wall);
    total += all.sent[v];
    timeouts += all.timeout[v];
    transport += all.transport[v];
    bad += all.badReply[v];
    const std::string n = kVerbName[v];
    machine += " " + n + "_n=" + std::to_string(all.sent[v]) + " " + n + "_ok=" + std::to_string(all.ok[v]) + " " + n +
               "_err=" + std::to_string(all.error[v]) + " " + n + "_p50_us=" + std::to_string(p50) + " " + n +
               "_p90_us=" + std::to_string(p90) + " " + n + "_p99_us=" + std::to_string(p99) + " " + n +
               "_max_us=" + std::to_string(mx);
  }
  std::printf("total  %8llu requests, %.1f/s; timeouts %llu, transport errors %llu, bad replies %llu\n",
              static_cast<unsigned long long>(total), static_cast<double>(total) / wall,
              static_cast<unsigned long long>(timeouts), static_cast<unsigned long long>(transport),
              static_cast<unsigned long long>(bad));
  if (all.codes.empty()) std::printf("errors by code: none\n");
  for (const auto& [k, n] : all.codes)
    std::printf("errors by code: %s %llu\n", k.c_str(), static_cast<unsigned long long>(n));
  if (!all.firstBadReply.empty()) std::printf("first bad reply: %s\n", all.firstBadReply.c_str());
  std::string codes;
  for (const auto& [k, n] : all.codes) {
    std::string key = k;
    std::replace(key.begin(), key.end(), ' ', ':');
    codes += (codes.empty() ? "" : ",") + key + "=" + std::to_string(n);
  }
  std::printf(
      "RPCLOAD clients=%d duration_s=%.1f wall_s=%.2f requests=%llu timeouts=%llu transport=%llu bad=%llu%s"
      " max_timeout_wait_us=%lld start_unix_us=%lld end_unix_us=%lld codes=%s\n",
      o.clients, o.duration, wall, static_cast<unsigned long long>(total), static_cast<unsigned long long>(timeouts),
      static_cast<unsigned long long>(transport), static_cast<unsigned long long>(bad), machine.c_str(),
      static_cast<long long>(all.maxTimeoutWaitUs), startUnixUs, endUnixUs, codes.empty() ? "-" : codes.c_str());
  std::fflush(stdout);
  return timeouts + transport == 0 ? 0 : 3;
}
