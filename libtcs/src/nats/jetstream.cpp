// SPDX-License-Identifier: MIT
// JetStream stream administration (tcs/jetstream.hpp) over NatsConnection's private state.
#include "tcs/jetstream.hpp"

#include <fmt/format.h>
#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>
#include <vector>

#include "connection_impl.hpp"
#include "handles.hpp"
#include "status.hpp"
#include "tcs/log.hpp"

namespace tcs {

using namespace detail;

namespace {

// A limit of 0 or -1 means "none" in JetStream; "none" is the most generous value.
bool tighter(std::int64_t have, std::int64_t want) {
  const auto unlimited = [](std::int64_t v) { return v <= 0; };
  if (unlimited(have)) return false;
  return unlimited(want) || have < want;
}

StreamOutcome ensureStreamIn(jsCtx* js, const StreamSpec& spec) {
  if (js == nullptr) return StreamOutcome::Unavailable;
  // The context's wait is the publish ack's (300 ms); creating or re-replicating a clustered
  // stream takes a round of the cluster's consensus: a bound of its own.
  jsOptions api;
  jsOptions_Init(&api);
  api.Wait = 5000;
  jsErrCode code{};
  const auto failure = [&](natsStatus st, std::string_view what) {
    return NatsError(NatsError::Kind::Other, st,
                     fmt::format("cannot {} JetStream stream {} ({}): {} (JetStream error {})", what, spec.name,
                                 spec.subject, natsStatus_GetText(st), static_cast<int>(code)));
  };
  jsStreamInfo* raw = nullptr;
  natsStatus st = js_GetStreamInfo(&raw, js, spec.name.c_str(), &api, &code);
  StreamInfoPtr info(raw);
  if (st == NATS_NOT_FOUND || code == JSStreamNotFoundErr) {
    jsStreamConfig cfg;
    jsStreamConfig_Init(&cfg);
    cfg.Name = spec.name.c_str();
    const char* subjects[] = {spec.subject.c_str()};
    cfg.Subjects = subjects;
    cfg.SubjectsLen = 1;
    cfg.Storage = js_FileStorage;
    cfg.Retention = js_LimitsPolicy;
    cfg.Discard = js_DiscardOld;
    cfg.MaxAge = std::chrono::duration_cast<std::chrono::nanoseconds>(spec.maxAge).count();
    cfg.MaxBytes = spec.maxBytes;
    cfg.MaxMsgsPerSubject = spec.maxMsgsPerSubject;
    cfg.Replicas = std::max(spec.replicas, 1);
    jsStreamInfo* created = nullptr;
    code = {};
    st = js_AddStream(&created, js, &cfg, &api, &code);
    StreamInfoPtr createdGuard(created);
    if (st != NATS_OK && code == JSStreamReplicasNotSupportedErr && cfg.Replicas > 1) {
      // A server without clustering: one copy is all it has.
      log::warning(
          "JetStream stream {}: {} replicas are not supported by a server without clustering; created "
          "with 1",
          spec.name, cfg.Replicas);
      cfg.Replicas = 1;
      jsStreamInfo* single = nullptr;
      code = {};
      st = js_AddStream(&single, js, &cfg, &api, &code);
      StreamInfoPtr singleGuard(single);
    }
    // An operator's own stream (e.g. one on `<P>.>`) already captures the subject: fine.
    if (code == JSStreamSubjectOverlapErr) return StreamOutcome::CapturedElsewhere;
    if (st != NATS_OK) throw failure(st, "create");
    return StreamOutcome::Created;
  }
  if (st == NATS_NO_RESPONDERS || st == NATS_TIMEOUT) return StreamOutcome::Unavailable;
  if (st != NATS_OK) throw failure(st, "read");
  // Exists: widen where needed, never shrink.
  jsStreamConfig cfg = *info->Config;
  std::vector<const char*> subjects(cfg.Subjects, cfg.Subjects + cfg.SubjectsLen);
  bool change = false;
  if (std::none_of(subjects.begin(), subjects.end(), [&](const char* x) { return subjectCovers(x, spec.subject); })) {
    subjects.push_back(spec.subject.c_str());
    change = true;
  }
  cfg.Subjects = subjects.data();
  cfg.SubjectsLen = static_cast<int>(subjects.size());
  const auto raise = [&](auto& have, std::int64_t want) {
    if (!tighter(have, want)) return;
    have = want;
    change = true;
  };
  raise(cfg.MaxAge, std::chrono::duration_cast<std::chrono::nanoseconds>(spec.maxAge).count());
  raise(cfg.MaxBytes, spec.maxBytes);
  raise(cfg.MaxMsgsPerSubject, spec.maxMsgsPerSubject);
  if (change) {
    jsStreamInfo* after = nullptr;
    st = js_UpdateStream(&after, js, &cfg, &api, &code);
    StreamInfoPtr afterGuard(after);
    if (st != NATS_OK) throw failure(st, "widen");
  }
  // Fewer replicas than wanted: raised on their own (the cluster may refuse, e.g. with too few
  // servers up; the limits above stay widened). More are kept: never shrunk.
  if (cfg.Replicas < spec.replicas) {
    const auto have = cfg.Replicas;
    cfg.Replicas = spec.replicas;
    jsStreamInfo* after = nullptr;
    code = {};
    st = js_UpdateStream(&after, js, &cfg, &api, &code);
    StreamInfoPtr afterGuard(after);
    if (st == NATS_OK) {
      log::info("JetStream stream {}: replicas raised from {} to {}", spec.name, have, spec.replicas);
      return StreamOutcome::Widened;
    }
    const char* why = nats_GetLastError(nullptr);
    log::warning("JetStream stream {} keeps {} replicas: raising them to {} failed: {} (JetStream error {})", spec.name,
                 have, spec.replicas, why != nullptr ? why : natsStatus_GetText(st), static_cast<int>(code));
  }
  return change ? StreamOutcome::Widened : StreamOutcome::Unchanged;
}

}  // namespace

namespace {

using Clock = std::chrono::steady_clock;

std::int64_t msLeft(Clock::time_point deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - Clock::now()).count();
  return std::max<std::int64_t>(left, 1);
}

jsOptions apiOptions(Clock::time_point deadline) {
  jsOptions o;
  jsOptions_Init(&o);
  o.Wait = msLeft(deadline);
  return o;
}

/// What the consumer still holds after @p list: the last message's pending count (the server's
/// word; a fetch may deliver fewer than asked), else @p before less what was delivered.
std::uint64_t pendingAfter(const natsMsgList& list, std::uint64_t before) {
  if (list.Count <= 0) return before;
  jsMsgMetaData* meta = nullptr;
  if (natsMsg_GetMetaData(&meta, list.Msgs[list.Count - 1]) == NATS_OK) {
    const auto n = meta->NumPending;
    jsMsgMetaData_Destroy(meta);
    return n;
  }
  const auto delivered = static_cast<std::uint64_t>(list.Count);
  return before > delivered ? before - delivered : 0;
}

bool noJetStream(natsStatus st, jsErrCode code) {
  return st == NATS_NO_RESPONDERS || code == JSNotEnabledErr || code == JSNotEnabledForAccountErr;
}

/**
 * Runs one JetStream API request, @p request(options, code), again while it times out or the
 * cluster says it is temporarily unavailable, and time is left before @p deadline. Each ask
 * waits 1 s, 1.5 s, then 2 s for its answer; after a quick "temporarily unavailable" the next
 * ask comes 250 ms later.
 *
 * In a cluster, a request reaching a leader that has just died gets no answer at all, and the
 * election after it takes 4–9 s (nats-server 2.9): a request waiting for the whole deadline
 * would time out even when the new leader answers a fresh one at once (seen: a consumer create
 * lost, a new stream leader 8.2 s later, the read failing at 20 s). Longer waits between asks
 * only delay the answer after the election (seen: 13.2 s for an election at 6.2 s with the
 * waits growing ×1.5). Creating a read's consumer takes milliseconds even at 10,000 services
 * (bench/README.md), so 2 s is no limit for a healthy server. A refusal by the user's
 * permissions (the server's -ERR, then a time-out) ends the retries: asking again cannot help.
 */
template <class Request>
natsStatus askingAgain(const NatsConnection& nats, Clock::time_point deadline, jsErrCode& code, Request&& request) {
  const auto violationsBefore = nats.permissionViolations();
  auto attempt = std::chrono::milliseconds(1000);
  for (;;) {
    auto opts = apiOptions(std::min(deadline, Clock::now() + attempt));
    code = {};
    const natsStatus st = request(opts, code);
    const bool unavailable = code == JSClusterNotAvailErr;
    if ((st != NATS_TIMEOUT && !unavailable) || Clock::now() >= deadline ||
        nats.permissionViolations() != violationsBefore)
      return st;
    if (unavailable) std::this_thread::sleep_until(std::min(deadline, Clock::now() + std::chrono::milliseconds(250)));
    attempt = std::min(attempt * 3 / 2, std::chrono::milliseconds(2000));
  }
}

/** What a failed request says, for people: nats.c's last error without its "(jsm.c:2356): "
 *  source position, else the status's text. */
std::string errorText(natsStatus st) {
  const char* last = nats_GetLastError(nullptr);
  std::string_view text = last != nullptr && *last != '\0' ? last : natsStatus_GetText(st);
  if (const auto end = text.find("): ");
      text.starts_with('(') && end != std::string_view::npos && text.substr(0, end).find(' ') == std::string_view::npos)
    text.remove_prefix(end + 3);
  return std::string(text);
}

/**
 * How many subjects the stream's leader holds (`$JS.API.STREAM.INFO` is the leader's answer),
 * when the stream stores exactly @p filter's subjects — else nullopt: not comparable with a
 * last-per-subject read of @p filter. Asked once, for at most 500 ms: a leader being elected
 * leaves the read unchecked rather than late.
 */
std::optional<std::uint64_t> leaderSubjects(jsCtx* js, const std::string& stream, const std::string& filter,
                                            Clock::time_point deadline) {
  jsOptions opts = apiOptions(std::min(deadline, Clock::now() + std::chrono::milliseconds(500)));
  jsStreamInfo* raw = nullptr;
  jsErrCode code{};
  const natsStatus st = js_GetStreamInfo(&raw, js, stream.c_str(), &opts, &code);
  const StreamInfoPtr info(raw);
  if (st != NATS_OK || info == nullptr || info->Config == nullptr || info->Config->SubjectsLen != 1 ||
      info->Config->Subjects[0] == nullptr || filter != info->Config->Subjects[0] || info->State.NumSubjects <= 0)
    return std::nullopt;
  return static_cast<std::uint64_t>(info->State.NumSubjects);
}

}  // namespace

JetStreamProbe JetStreamReader::probe(std::chrono::milliseconds timeout) {
  auto& impl = *nats_.impl_;
  JetStreamProbe p;
  if (impl.js == nullptr || !nats_.connected()) {
    p.error = "not connected to a NATS server";
    return p;
  }
  jsErrCode code{};
  const natsStatus st = askingAgain(nats_, Clock::now() + timeout, code, [&](jsOptions& opts, jsErrCode& c) {
    jsAccountInfo* raw = nullptr;
    const natsStatus s = js_GetAccountInfo(&raw, impl.js.get(), &opts, &c);
    jsAccountInfo_Destroy(raw);
    return s;
  });
  if (st == NATS_OK) {
    p.state = JetStreamState::Available;
  } else if (noJetStream(st, code)) {
    p.state = JetStreamState::NotEnabled;
    p.error = fmt::format("JetStream is not enabled on the server ({})", errorText(st));
  } else if (st == NATS_TIMEOUT) {
    p.state = JetStreamState::NoAnswer;
    p.error = fmt::format("JetStream did not answer within {} ms (a cluster electing its leader, or without a quorum?)",
                          timeout.count());
  } else {
    p.error = fmt::format("JetStream cannot answer: {}", errorText(st));
  }
  return p;
}

bool JetStreamReader::available(std::chrono::milliseconds timeout) {
  return probe(timeout).state == JetStreamState::Available;
}

StreamRead JetStreamReader::lastPerSubject(std::string_view filter, std::chrono::milliseconds timeout,
                                           const std::function<void(std::string_view, std::string_view)>& each) {
  const bool bad = filter.empty() || filter.find_first_of(" \t\r\n") != std::string_view::npos ||
                   filter.front() == '.' || filter.back() == '.' || filter.find("..") != std::string_view::npos;
  if (bad)
    throw NatsError(NatsError::Kind::InvalidArgument, NATS_INVALID_SUBJECT,
                    fmt::format("invalid subject filter '{}'", filter));
  const auto deadline = Clock::now() + timeout;
  auto& impl = *nats_.impl_;
  StreamRead r;
  if (impl.js == nullptr || !nats_.connected()) {
    r.error = "not connected to a NATS server";
    return r;
  }
  const std::string subject{filter};
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Config.DeliverPolicy = js_DeliverLastPerSubject;
  so.Config.AckPolicy = js_AckNone;
  so.Config.FilterSubject = subject.c_str();
  so.Config.MemoryStorage = true;
  so.Config.InactiveThreshold = std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::seconds(30)).count();
  // A cluster places the consumer on one of the stream's replicas, at random (nats-server 2.9:
  // even on one whose copy stayed short after a restart, doc/fleet.md), and reads from that
  // copy. A consumer whose copy holds fewer subjects than the stream's leader has (asked once,
  // after the first consumer: a consumer made after that answer holds them all) is dropped
  // before anything is delivered and made again (another replica, likely); after kAttempts the
  // last one is read anyway, and the read says it is short. Seen in system.fleet: a launcher's
  // status missing from tcsctl's snapshot 74 s after a node's restart, without any error.
  // (The leader's STREAM.INFO is in the viewer role's permissions, doc/security.md.)
  constexpr int kAttempts = 8;
  std::optional<std::uint64_t> leaderHas;
  bool leaderAsked = false;
  std::string replica;  // the node whose copy the consumer reads ("" when not clustered)
  std::string shortOf;  // why the read is short of the leader's subjects ("" when it is not)
  SubscriptionPtr sub;
  jsErrCode code{};
  const auto unsubscribe = [&] {  // deletes the consumer (the library created it); the handle stays
    if (sub) natsSubscription_Unsubscribe(sub.get());
  };
  for (int attempt = 1;; ++attempt) {
    natsSubscription* rawSub = nullptr;
    // A create whose answer was lost may leave its consumer on the server: InactiveThreshold drops it.
    natsStatus st = askingAgain(nats_, deadline, code, [&](jsOptions& opts, jsErrCode& c) {
      return js_PullSubscribe(&rawSub, impl.js.get(), subject.c_str(), nullptr, &opts, &so, &c);
    });
    sub.reset(rawSub);
    if (st != NATS_OK) {
      const std::string text = errorText(st);
      if (noJetStream(st, code)) {
        r.error = fmt::format("JetStream is not enabled on the server ({})", text);
      } else if (st == NATS_NOT_FOUND || code == JSStreamNotFoundErr ||
                 text.find("no stream matches subject") != std::string::npos) {  // nats.c's stream lookup
        r.outcome = StreamReadOutcome::NoStream;
        r.error = fmt::format("no JetStream stream captures {}", filter);
      } else if (st == NATS_TIMEOUT) {
        r.outcome = StreamReadOutcome::Incomplete;
        r.error = fmt::format("JetStream did not answer within {} ms", timeout.count());
      } else {
        r.outcome = StreamReadOutcome::Incomplete;
        r.error = fmt::format("cannot read {}: {} (JetStream error {})", filter, text, static_cast<int>(code));
      }
      return r;
    }
    jsConsumerInfo* rawInfo = nullptr;
    st = askingAgain(nats_, deadline, code, [&](jsOptions& opts, jsErrCode& c) {
      jsConsumerInfo_Destroy(rawInfo);
      rawInfo = nullptr;
      return natsSubscription_GetConsumerInfo(&rawInfo, sub.get(), &opts, &c);
    });
    if (st != NATS_OK) {
      jsConsumerInfo_Destroy(rawInfo);
      unsubscribe();
      r.outcome = StreamReadOutcome::Incomplete;
      r.error = fmt::format("cannot read the consumer of {}: {}", filter, natsStatus_GetText(st));
      return r;
    }
    r.stream = rawInfo->Stream != nullptr ? rawInfo->Stream : "";
    r.expected = rawInfo->NumPending;
    replica = rawInfo->Cluster != nullptr && rawInfo->Cluster->Leader != nullptr ? rawInfo->Cluster->Leader : "";
    // A server outside a cluster names none: one copy, nothing to compare (and no request).
    const bool clustered =
        rawInfo->Cluster != nullptr && rawInfo->Cluster->Name != nullptr && *rawInfo->Cluster->Name != '\0';
    jsConsumerInfo_Destroy(rawInfo);
    if (clustered && !std::exchange(leaderAsked, true))
      leaderHas = leaderSubjects(impl.js.get(), r.stream, subject, deadline);
    if (!leaderHas || r.expected >= *leaderHas) break;
    log::debug("JetStream stream {}: the consumer's copy (on {}) holds {} of the {} subjects its leader has{}",
               r.stream, replica.empty() ? "?" : replica, r.expected, *leaderHas,
               attempt < kAttempts && Clock::now() < deadline ? "; reading from another consumer" : "");
    if (attempt >= kAttempts || Clock::now() >= deadline) {
      shortOf = fmt::format(
          "{}: the copy of {} read (on {}) held {} of the {} subjects its leader has, after {} consumers "
          "(a replica catching up?)",
          filter, r.stream, replica.empty() ? "a replica" : replica, r.expected, *leaderHas, attempt);
      break;
    }
    unsubscribe();
    sub.reset();
  }
  // The next batch is fetched while the caller handles the current one: a fetcher thread hands
  // the batches over in order, and `each` runs on the calling thread. (A fetch then handling in
  // turn leaves the server idle while the caller decodes: 2x slower at 10,000 services.)
  struct Batch {
    natsMsgList list{};
    natsStatus status = NATS_OK;
    bool last = false;  ///< nothing pending after it, or the fetch failed: the fetcher stopped
  };
  std::mutex mutex;
  std::condition_variable ready;
  std::condition_variable room;
  constexpr std::size_t kAhead = 4;
  std::deque<Batch> batches;
  bool abandon = false;  // the caller stopped reading (it threw): the fetcher stops too
  std::thread fetcher([&, pending = r.expected]() mutable {
    while (pending > 0) {
      Batch b;
      jsErrCode fetchCode{};
      const int size = static_cast<int>(std::min<std::uint64_t>(pending, 512));
      {
        // At most kAhead batches wait for the caller: memory stays bounded whatever it does.
        std::unique_lock lock(mutex);
        room.wait(lock, [&] { return abandon || batches.size() < kAhead; });
        if (abandon) return;
      }
      b.status = natsSubscription_Fetch(&b.list, sub.get(), size, msLeft(deadline), &fetchCode);
      pending = pendingAfter(b.list, pending);
      b.last = pending == 0 || b.status != NATS_OK || Clock::now() >= deadline;
      const bool last = b.last;
      {
        std::lock_guard lock(mutex);
        batches.push_back(b);
      }
      ready.notify_one();
      if (last) return;
    }
  });
  const auto stopFetcher = [&] {
    {
      std::lock_guard lock(mutex);
      abandon = true;
    }
    room.notify_one();
    fetcher.join();
    for (auto& b : batches) natsMsgList_Destroy(&b.list);
    batches.clear();
  };
  std::uint64_t pending = r.expected;
  natsStatus lastStatus = NATS_OK;
  try {
    while (pending > 0) {
      Batch b;
      {
        std::unique_lock lock(mutex);
        ready.wait(lock, [&] { return !batches.empty(); });
        b = batches.front();
        batches.pop_front();
      }
      room.notify_one();
      lastStatus = b.status;
      for (int i = 0; i < b.list.Count; ++i) {
        natsMsg* m = b.list.Msgs[i];
        each(natsMsg_GetSubject(m),
             std::string_view(natsMsg_GetData(m), static_cast<std::size_t>(natsMsg_GetDataLength(m))));
        ++r.delivered;
      }
      pending = pendingAfter(b.list, pending);
      natsMsgList_Destroy(&b.list);
      if (b.last) break;
    }
  } catch (...) {
    unsubscribe();  // a fetch under way returns at once
    stopFetcher();
    throw;
  }
  stopFetcher();
  if (pending > 0) {
    r.outcome = StreamReadOutcome::Incomplete;
    r.error = fmt::format("read {} of {} stored messages of {} before {}", r.delivered, r.expected, filter,
                          lastStatus == NATS_TIMEOUT || lastStatus == NATS_OK
                              ? fmt::format("the {} ms bound", timeout.count())
                              : std::string{natsStatus_GetText(lastStatus)});
    unsubscribe();
    return r;
  }
  unsubscribe();
  r.outcome = shortOf.empty() ? StreamReadOutcome::Read : StreamReadOutcome::Incomplete;
  r.error = std::move(shortOf);
  return r;
}

StreamOutcome JetStreamAdmin::ensureStream(const StreamSpec& spec) {
  auto& impl = *nats_.impl_;
  const auto outcome = ensureStreamIn(impl.js.get(), spec);
  // A stream captures these subjects now: persistent publishes need not ask JetStream first.
  if (outcome != StreamOutcome::Unavailable) impl.publisher().assumeCaptured(spec.subject);
  return outcome;
}

}  // namespace tcs
