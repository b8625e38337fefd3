// SPDX-License-Identifier: MIT
// The service RPC server: `<P>.rpc.<name>.v1.health` and `.v1.stats`; every other command gets
// `unknown_command`, a malformed body (protocol::parseRpcRequest) `bad_request`.
#include "monitor_impl.hpp"
#include "tcs/error.hpp"
#include "tcs/log.hpp"
#include "tcs/protocol/codec.hpp"
#include "tcs/protocol/subject.hpp"

namespace tcs {

// ---- RPC -------------------------------------------------------------------------------------

void Monitor::handleRpc(const NatsMessage& m) {
  auto& im = *impl_;
  im.rpcRequests.fetch_add(1, std::memory_order_relaxed);
  if (m.reply.empty()) {
    log::debug("{}: ignoring an RPC message without a reply subject on {}", im.options.name, m.subject);
    return;
  }
  const auto meta = [] { return protocol::processMetaGenerator().next(protocol::kMessageTypeRpc); };
  const auto replyError = [&](std::string_view code, std::string message) {
    log::warning("{}: RPC {} refused: {}", im.options.name, m.subject, message);
    im.nats->respond(m.reply, protocol::encode(protocol::ErrorReply{std::string(code), std::move(message)}, meta()));
  };
  try {
    const auto subject = protocol::parseSubject(im.options.subjectPrefix, m.subject);
    const auto command = protocol::parseRpcCommand(subject.command);
    if (subject.name != im.options.name || !command ||
        (*command != protocol::RpcCommand::Health && *command != protocol::RpcCommand::Stats) ||
        !subject.argument.empty()) {
      return replyError(protocol::rpc_error::kUnknownCommand,
                        fmt::format("unknown command '{}{}{}' for {} (commands: health, stats)", subject.command,
                                    subject.argument.empty() ? "" : ".", subject.argument, im.options.name));
    }
    try {
      (void)protocol::parseRpcRequest(m.data);
    } catch (const ProtocolError& e) {
      return replyError(protocol::rpc_error::kBadRequest, fmt::format("malformed request: {}", e.what()));
    }
    if (*command == protocol::RpcCommand::Health) {
      // No check anywhere in the tree (the common case): the reply needs nothing the tree's
      // mutex guards, so a status flood holding it does not hold up the answer (issue 17).
      const bool checked = tree_->hasChecks.load(std::memory_order_acquire);
      if (!checked) im.emptyHealthRuns.fetch_add(1, std::memory_order_relaxed);
      const auto checks = checked ? runHealthChecks() : std::vector<CheckReport>{};
      protocol::HealthReply reply;
      reply.serviceId = im.options.name;
      reply.status = checked ? aggregateStatus() : im.aggregate.load(std::memory_order_relaxed);
      reply.timestamp = protocol::now();
      for (const auto& c : checks) {
        protocol::JsonObject one;
        one.set("status", std::string(toString(c.result.status)));
        if (!c.result.message.empty()) one.set("message", c.result.message);
        reply.checks.set(c.name, one);
      }
      im.nats->respond(m.reply, protocol::encode(reply, meta()));
    } else {
      protocol::StatsReply reply;
      reply.serviceId = im.options.name;
      reply.timestamp = protocol::now();
      reply.uptimeSeconds = uptimeSeconds();
      std::shared_ptr<const MetricSource> provider;
      MonitorStats s;
      {
        std::lock_guard lock(tree_->mutex);
        provider = im.statsProvider;
        s = im.statsLocked();
      }
      if (provider) reply.stats = detail::callMetrics({provider}, im.options.name);
      protocol::JsonObject own;
      own.set("status", std::string(toString(aggregateStatus())))
          .set("status_changes", static_cast<std::int64_t>(s.statusChanges))
          .set("status_published", static_cast<std::int64_t>(s.statusPublished))
          .set("status_dropped", static_cast<std::int64_t>(s.statusDropped))
          .set("heartbeats", static_cast<std::int64_t>(s.heartbeats))
          .set("heartbeats_withheld", static_cast<std::int64_t>(s.heartbeatsWithheld))
          .set("health_check_runs", static_cast<std::int64_t>(s.healthCheckRuns))
          .set("rpc_requests", static_cast<std::int64_t>(s.rpcRequests));
      reply.stats.set("tcs", own);
      im.nats->respond(m.reply, protocol::encode(reply, meta()));
    }
  } catch (const ProtocolError& e) {
    replyError(protocol::rpc_error::kBadRequest, e.what());
  } catch (const std::exception& e) {
    replyError(protocol::rpc_error::kInternalError, e.what());
  }
}

}  // namespace tcs
