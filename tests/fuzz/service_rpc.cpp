// SPDX-License-Identifier: MIT
// Fuzz harness: a service's RPC server — the Monitor every tcs service runs — given any
// request on its subjects (`svc.rpc.cam.main.v1.>`, what NATS delivers to it).
//
// Input: the subject on the first line (a tail after `svc.rpc.cam.main.v1.` unless it starts
// with `svc.`), the request body after it.
//
// Properties: the server never throws or crashes; every request gets exactly one reply, which
// decodes as a message: an ErrorReply, or the HealthReply/StatsReply of the command.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string_view>

#include "check.hpp"
#include "rpc_support.hpp"
#include "tcs/error.hpp"
#include "tcs/monitor.hpp"
#include "tcs/protocol.hpp"

namespace {

namespace p = tcs::protocol;
using tcs::fuzz::check;

constexpr std::string_view kPrefix = "svc.rpc.cam.main.v1.";

struct Service {
  tcs::fuzz::ReplyTransport nats;
  std::unique_ptr<tcs::Monitor> monitor;
  Service() {
    tcs::MonitorOptions o;
    o.name = "cam.main";
    monitor = std::make_unique<tcs::Monitor>(o, &nats);
    monitor->setStatus(tcs::Status::Ok, "running");
    monitor->addHealthCheck("camera", [] { return tcs::CheckResult{tcs::Status::Degraded, "no frames"}; });
    monitor->setStatsProvider([] { return p::JsonObject().set("frames", std::int64_t{12}); });
    monitor->start(false);
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static Service service;
  const auto request = tcs::fuzz::splitRequest({reinterpret_cast<const char*>(data), size}, kPrefix);
  const auto replies = service.nats.deliver(request);
  check(replies.size() == 1, "every request gets exactly one reply", request.subject);
  const auto& reply = replies.front();
  try {
    if (p::isErrorReply(reply))
      (void)p::decode<p::ErrorReply>(reply);
    else if (request.subject.ends_with(".health"))
      (void)p::decode<p::HealthReply>(reply);
    else
      (void)p::decode<p::StatsReply>(reply);
  } catch (const tcs::ProtocolError& e) {
    tcs::fuzz::fail("the reply decodes as the command's reply", std::string(e.what()) + "\n  " + reply);
  }
  return 0;
}
