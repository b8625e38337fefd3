// SPDX-License-Identifier: MIT
// tcs-systest-nats: the system tests' NATS client (there is no `nats` CLI in Debian 12).
//
//   tcs-systest-nats sub URL SUBJECT FILE [--us]
//                                           append every message as one line
//                                           `<unix ms> <subject> <body>` to FILE until SIGTERM
//                                           (--us: the time in µs, `<unix µs> <subject> <body>`)
//   tcs-systest-nats req URL SUBJECT [BODY [TIMEOUT_MS]]
//                                           print the reply body; exit 1 on no reply
//   tcs-systest-nats timed-req URL TIMEOUT_MS SUBJECT...
//                                           one request (empty body) per SUBJECT, in order, on
//                                           one connection; print `<round trip µs> <reply body>`
//                                           per request (connecting is not timed); exit 1 on no reply
//   tcs-systest-nats stream URL STREAM SUBJECT_FILTER
//                                           every message of the JetStream stream matching the
//                                           filter, oldest first: one `$JS.API.STREAM.MSG.GET`
//                                           reply (`{"message": {subject, seq, data (base64),
//                                           time}}`) per line
// URL may be a comma-separated list of servers (a cluster: the client fails over).
#include <signal.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>

#include "tcs/error.hpp"
#include "tcs/log.hpp"
#include "tcs/nats.hpp"
#include "tcs/signals.hpp"

namespace {
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
}  // namespace

int main(int argc, char** argv) {
  tcs::log::configure(tcs::log::Backend::Stderr, {"systest-nats", "", "", "systest-nats"}, tcs::log::Level::Warning);
  if (argc < 4) {
    std::cerr << "usage: tcs-systest-nats sub URL SUBJECT FILE [--us] | req URL SUBJECT [BODY [TIMEOUT_MS]]"
                 " | timed-req URL TIMEOUT_MS SUBJECT... | stream URL STREAM FILTER\n";
    return 2;
  }
  const std::string mode = argv[1];
  try {
    tcs::NatsOptions o;
    o.name = "systest-" + mode;
    o.connectDeadline = std::chrono::seconds(10);
    o.reconnectWaitMax = std::chrono::milliseconds(200);
    tcs::NatsConnection nats(configFor(argv[2]), o);
    if (mode == "req") {
      const std::string body = argc > 4 ? argv[4] : "";
      const auto timeout = std::chrono::milliseconds(argc > 5 ? std::atoi(argv[5]) : 10000);
      std::cout << nats.request(argv[3], body, timeout).data << "\n";
      return 0;
    }
    if (mode == "timed-req" && argc >= 5) {
      const auto timeout = std::chrono::milliseconds(std::atoi(argv[3]));
      for (int i = 4; i < argc; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        const auto reply = nats.request(argv[i], "", timeout);
        const auto us = std::chrono::duration_cast<std::chrono::microseconds>(std::chrono::steady_clock::now() - t0);
        std::cout << us.count() << " " << reply.data << std::endl;
      }
      return 0;
    }
    if (mode == "stream" && argc >= 5) {
      // next_by_subj: the first message at or after seq on a subject matching the filter.
      for (unsigned long long seq = 1;;) {
        const std::string req = "{\"seq\":" + std::to_string(seq) + ",\"next_by_subj\":\"" + argv[4] + "\"}";
        const auto reply = nats.request(std::string("$JS.API.STREAM.MSG.GET.") + argv[3], req, std::chrono::seconds(5));
        const auto at = reply.data.find("\"seq\":");
        if (reply.data.find("\"error\"") != std::string::npos || at == std::string::npos) {
          if (reply.data.find("\"err_code\":10037") != std::string::npos) return 0;  // no message found: the end
          std::cerr << "tcs-systest-nats: " << reply.data << "\n";
          return 1;
        }
        std::cout << reply.data << "\n";
        seq = std::strtoull(reply.data.c_str() + at + 6, nullptr, 10) + 1;
      }
    }
    if (mode == "sub" && argc >= 5) {
      const bool micros = argc > 5 && std::string(argv[5]) == "--us";
      const tcs::SignalFd signals = tcs::openSignalFd({SIGTERM, SIGINT});
      // Written under a temporary name and renamed once the subscription is in place: the
      // file's existence tells a script that nothing published from then on is missed.
      const std::string path = argv[4], pending = path + ".subscribing";
      std::FILE* out = std::fopen(pending.c_str(), "a");
      if (!out) {
        std::perror(pending.c_str());
        return 1;
      }
      std::mutex m;
      auto sub = nats.subscribe(argv[3], [&](const tcs::NatsMessage& msg) {
        const auto since = std::chrono::system_clock::now().time_since_epoch();
        const auto t = micros ? std::chrono::duration_cast<std::chrono::microseconds>(since).count()
                              : std::chrono::duration_cast<std::chrono::milliseconds>(since).count();
        std::lock_guard lock(m);
        std::fprintf(out, "%lld %s %s\n", static_cast<long long>(t), msg.subject.c_str(), msg.data.c_str());
        std::fflush(out);
      });
      if (!nats.flush(std::chrono::seconds(5)) || std::rename(pending.c_str(), path.c_str()) != 0) {
        std::fprintf(stderr, "tcs-systest-nats: subscribing to %s failed\n", argv[3]);
        return 1;
      }
      std::fprintf(stderr, "subscribed to %s\n", argv[3]);
      signals.wait();
      sub.unsubscribe();
      std::fclose(out);
      return 0;
    }
  } catch (const std::exception& e) {
    std::cerr << "tcs-systest-nats: " << e.what() << "\n";
    return 1;
  }
  std::cerr << "unknown mode " << mode << "\n";
  return 2;
}
