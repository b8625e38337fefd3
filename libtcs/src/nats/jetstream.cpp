// SPDX-License-Identifier: MIT
// JetStream stream administration (tcs/jetstream.hpp) over NatsConnection's private state.
#include "tcs/jetstream.hpp"

#include <fmt/format.h>
#include <nats/nats.h>

#include <algorithm>
#include <chrono>
#include <vector>

#include "connection_impl.hpp"
#include "handles.hpp"
#include "status.hpp"

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
  jsErrCode code{};
  const auto failure = [&](natsStatus st, std::string_view what) {
    return NatsError(NatsError::Kind::Other, st,
                     fmt::format("cannot {} JetStream stream {} ({}): {} (JetStream error {})", what, spec.name,
                                 spec.subject, natsStatus_GetText(st), static_cast<int>(code)));
  };
  jsStreamInfo* raw = nullptr;
  natsStatus st = js_GetStreamInfo(&raw, js, spec.name.c_str(), nullptr, &code);
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
    jsStreamInfo* created = nullptr;
    code = {};
    st = js_AddStream(&created, js, &cfg, nullptr, &code);
    StreamInfoPtr createdGuard(created);
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
  if (!change) return StreamOutcome::Unchanged;
  jsStreamInfo* after = nullptr;
  st = js_UpdateStream(&after, js, &cfg, nullptr, &code);
  StreamInfoPtr afterGuard(after);
  if (st != NATS_OK) throw failure(st, "widen");
  return StreamOutcome::Widened;
}

}  // namespace

StreamOutcome JetStreamAdmin::ensureStream(const StreamSpec& spec) {
  auto& impl = *nats_.impl_;
  const auto outcome = ensureStreamIn(impl.js.get(), spec);
  // A stream captures these subjects now: persistent publishes need not ask JetStream first.
  if (outcome != StreamOutcome::Unavailable) impl.publisher().assumeCaptured(spec.subject);
  return outcome;
}

}  // namespace tcs
