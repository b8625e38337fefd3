// SPDX-License-Identifier: MIT
#include "nats_source.hpp"

#include <fmt/format.h>
#include <malloc.h>

#include "tcs/error.hpp"
#include "tcs/protocol/codec.hpp"
#include "tcs/protocol/subject.hpp"

namespace tcs::web {
namespace p = protocol;
using control::ControlError;

NatsFleetSource::NatsFleetSource(NatsConnection& nats, std::string prefix, FleetHub& hub, Options options)
    : nats_(nats), prefix_(std::move(prefix)), hub_(hub), options_(options), client_(nats, prefix_) {}

NatsFleetSource::~NatsFleetSource() {
  stop();
}

void NatsFleetSource::start() {
  registry_ = nats_.subscribe(p::subjectFilter(prefix_, p::SubjectKind::Registry), [this](const NatsMessage& m) {
    if (recent_.repeated(m.subject, m.data)) return;  // a publish retried across a failover: once
    if (auto event = timelineEventOf(m.subject, m.data, prefix_)) hub_.addTimeline(std::move(*event));
  });
  control::FollowCallbacks callbacks;
  callbacks.update = [this](const FleetEntry& e) { hub_.touch(e.id); };
  callbacks.resynced = [this] {
    resyncPending_ = true;
    wake_.notify_one();
  };
  resyncPending_ = true;
  client_.startFollowing(std::move(callbacks));
  pump_ = std::thread([this] { pump(); });
}

void NatsFleetSource::stop() {
  {
    std::lock_guard lock(mutex_);
    if (stopping_) return;
    stopping_ = true;
  }
  wake_.notify_all();
  if (pump_.joinable()) pump_.join();
  client_.stopFollowing();
  registry_ = NatsSubscription{};
}

// Hands the hub what changed: a full document after (re)reading the streams, else the touched
// rows, every flushEvery; every row every fullCheckEvery.
void NatsFleetSource::pump() {
  auto lastFull = std::chrono::steady_clock::now();
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    wake_.wait_for(lock, options_.flushEvery, [this] { return stopping_; });
    if (stopping_) break;
    lock.unlock();
    try {
      const bool full = std::chrono::steady_clock::now() - lastFull >= options_.fullCheckEvery;
      if (full) lastFull = std::chrono::steady_clock::now();
      const bool resync = resyncPending_.exchange(false);
      client_.withCurrent([&](const control::Snapshot& s) {
        hub_.setNats(nats_.connected(), s.jetstream, s.notes);
        if (resync) {
          hub_.resync(s.view, {.jetstream = s.jetstream, .notes = s.notes}, s.takenAt);
          if (!seeded_) {
            hub_.seedTimeline(timelineOf(s.view, options_.timeline));
            seeded_ = true;
          }
        } else {
          hub_.flush(s.view, p::now(), full);
        }
      });
      if (full) malloc_trim(0);  // the documents of page loads are freed: give the pages back
    } catch (const std::exception&) {
      // not following yet (start-up) or stopping: nothing to hand over
    }
    lock.lock();
  }
}

void NatsFleetSource::withSnapshot(const std::function<void(const control::Snapshot&)>& fn) {
  client_.withCurrent(fn);
}

nlohmann::json NatsFleetSource::health(std::string_view serviceId) {
  std::string subject;
  try {
    subject = p::rpcSubject(prefix_, serviceId, p::RpcCommand::Health);
  } catch (const ProtocolError& e) {
    throw ControlError(ControlError::Kind::NotFound, "",
                       fmt::format("'{}' is not a service id: {}", serviceId, e.what()));
  }
  NatsMessage reply;
  try {
    reply = nats_.request(subject, "{}", options_.healthTimeout);
  } catch (const NatsError& e) {
    throw ControlError(ControlError::Kind::Unreachable, "",
                       fmt::format("{} does not answer on {}: {}", serviceId, subject, e.what()));
  }
  nlohmann::json body;
  try {
    body = nlohmann::json::parse(reply.data);
  } catch (const nlohmann::json::exception& e) {
    throw ControlError(ControlError::Kind::BadReply, "", fmt::format("{}'s health reply is not JSON", serviceId));
  }
  if (!body.is_object() || !body.contains("data") || !body["data"].is_object())
    throw ControlError(ControlError::Kind::BadReply, "", fmt::format("{}'s health reply has no data", serviceId));
  const auto& data = body["data"];
  if (data.contains("error") && data["error"].is_string())
    throw ControlError(ControlError::Kind::Refused, data["error"].get<std::string>(),
                       data.value("message", std::string("refused")));
  return data;
}

p::LogsReply NatsFleetSource::logs(std::string_view serviceId, const p::LogsRequest& request) {
  return client_.logs(serviceId, request);
}

p::LauncherActionReply NatsFleetSource::act(std::string_view action, std::string_view serviceId) {
  if (action == "start") return client_.start(serviceId);
  if (action == "stop") return client_.stop(serviceId);
  if (action == "restart") return client_.restart(serviceId);
  throw ControlError(ControlError::Kind::Refused, "bad_request", fmt::format("unknown action '{}'", action));
}

}  // namespace tcs::web
