// SPDX-License-Identifier: MIT
#include "persistent_publisher.hpp"

#include <fmt/format.h>
#include <time.h>

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <random>
#include <utility>

#include "handles.hpp"
#include "tcs/log.hpp"

namespace tcs::detail {

using Clock = std::chrono::steady_clock;

bool subjectCovers(std::string_view pattern, std::string_view subject) {
  while (true) {
    const auto pEnd = pattern.find('.'), sEnd = subject.find('.');
    const auto p = pattern.substr(0, pEnd), t = subject.substr(0, sEnd);
    if (p == ">") return true;
    if (p != "*" && p != t) return false;
    if (pEnd == std::string_view::npos || sEnd == std::string_view::npos) return pEnd == sEnd;
    pattern.remove_prefix(pEnd + 1);
    subject.remove_prefix(sEnd + 1);
  }
}

Clock::time_point coarseNow() noexcept {
  // CLOCK_MONOTONIC_COARSE: the same clock as steady_clock's (CLOCK_MONOTONIC) at tick resolution,
  // read without the TSC: a fraction of the cost, per message on the publishing thread.
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC_COARSE, &ts);
  return Clock::time_point(std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec));
}

bool RateLimit::allow() noexcept {
  const auto now = Clock::now().time_since_epoch().count();
  auto next = next_.load(std::memory_order_relaxed);
  if (now < next) return false;
  return next_.compare_exchange_strong(next, now + interval_.count(), std::memory_order_relaxed);
}

PersistentPublisher::PersistentPublisher(natsConnection* nc, jsCtx* js, const NatsOptions& options,
                                         const std::atomic<bool>* up)
    : nc_(nc),
      js_(js),
      up_(up),
      options_(options),
      idPrefix_([] {
        std::random_device random;  // getrandom(2)
        const std::uint64_t r = (std::uint64_t{random()} << 32) | random();
        return fmt::format("{:016x}", r);
      }()),
      worker_([this] {
        ::pthread_setname_np(::pthread_self(), "tcs-publisher");  // for top -H, perf, gdb
        run();
      }) {}

PersistentPublisher::~PersistentPublisher() {
  {
    std::lock_guard lock(mutex_);
    stop_ = true;
  }
  wake_.notify_all();
  stopping_.notify_all();
  worker_.join();
  if (replies_) natsSubscription_Destroy(replies_);  // the connection outlives the publisher
  counters_.dropped += queue_.size() + latest_.size();
}

bool PersistentPublisher::sendAtOnce(std::unique_lock<std::mutex>& lock, std::string_view subject,
                                     std::string_view data) {
  // Fast path: nothing queued (in either lane) or in flight and the subject goes to core NATS
  // anyway: publish on the caller's thread (in tcs: the monitor's or the supervisor's thread). A
  // core publish waits for no reply: it is copied into nats.c's write buffer (with SendAsap:
  // written to the socket at once); only a full buffer under TCP back pressure makes it wait
  // for the socket, as the worker would. Saves two thread hand-offs and the copies per
  // message; the order is kept because the worker does not start while busy_ is set.
  // up_ trails nats.c's state by a callback: a publish in that moment goes to the reconnect
  // buffer, as the worker's would. The fallback periods are 30 s: a coarse clock will do.
  if (!queuesEmpty() || busy_ || !up_->load(std::memory_order_relaxed) || !coreOnlyLocked(subject, coarseNow()))
    return false;
  busy_ = true;
  lock.unlock();
  sendCore(SubjectCString(subject).c_str(), data);
  lock.lock();
  busy_ = false;
  if (!queuesEmpty())
    wake_.notify_one();
  else if (idleWaiters_ > 0)
    idle_.notify_all();
  return true;
}

void PersistentPublisher::warnDropped(std::uint64_t dropped, std::string_view lane, std::size_t capacity) {
  const auto total = counters_.dropped += dropped;
  if (dropWarning_.allow())
    log::warning("NATS publish queue full ({} {}): dropped the oldest, {} dropped so far", capacity, lane, total);
}

void PersistentPublisher::enqueue(std::string_view subject, std::string_view data) {
  std::uint64_t dropped = 0;
  {
    std::unique_lock lock(mutex_);
    if (sendAtOnce(lock, subject, data)) return;
    // The cap is the ordinary lane's: the latest lane's few entries are not counted against it.
    while (!queue_.empty() && queue_.size() >= options_.persistentQueueCapacity) {
      queue_.pop_front();
      ++dropped;
    }
    const bool wasEmpty = queuesEmpty();
    queue_.push_back({std::string(subject), std::string(data), {}});
    if (wasEmpty) wake_.notify_one();  // a non-empty queue means the worker is awake already
  }
  if (dropped > 0) warnDropped(dropped, "messages", options_.persistentQueueCapacity);
}

void PersistentPublisher::enqueueLatest(std::string_view subject, std::string_view data) {
  std::uint64_t dropped = 0;
  {
    std::unique_lock lock(mutex_);
    if (sendAtOnce(lock, subject, data)) return;
    // Only the newest per subject matters: a still-queued one is replaced where it stands (it
    // keeps its place, so a subject's heartbeat is not pushed back by its own successors).
    const auto same = std::find_if(latest_.begin(), latest_.end(), [&](const Item& i) { return i.subject == subject; });
    if (same != latest_.end()) {
      same->data.assign(data);
      ++counters_.replaced;
      return;  // the worker knows of it already
    }
    while (!latest_.empty() && latest_.size() >= kLatestLaneSubjects) {
      latest_.pop_front();
      ++dropped;
    }
    const bool wasEmpty = queuesEmpty();
    latest_.push_back({std::string(subject), std::string(data), {}});
    if (wasEmpty) wake_.notify_one();
  }
  if (dropped > 0) warnDropped(dropped, "subjects in the latest lane", kLatestLaneSubjects);
}

bool PersistentPublisher::waitIdle(Clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  ++idleWaiters_;
  const bool idle = idle_.wait_until(lock, deadline, [this] { return queuesEmpty() && !busy_; });
  --idleWaiters_;
  return idle;
}

void PersistentPublisher::forgetFallbacks() {
  std::lock_guard lock(mutex_);
  lastCore_ = nullptr;
  coreUntil_.clear();
  forgetStreamed_ = true;
}

void PersistentPublisher::assumeCaptured(std::string_view filter) {
  std::lock_guard lock(mutex_);
  if (std::find(capturedFilters_.begin(), capturedFilters_.end(), filter) == capturedFilters_.end())
    capturedFilters_.emplace_back(filter);
}

void PersistentPublisher::run() {
  std::unique_lock lock(mutex_);
  std::vector<Item> batch;
  for (;;) {
    wake_.wait(lock, [this] { return stop_ || (!queuesEmpty() && !busy_); });
    if (stop_) break;
    // A backlog on subjects a stream captures: pipelined (the leading run of such messages).
    if (latest_.empty() && queue_.size() >= 2) {
      const auto now = Clock::now();
      std::size_t n = 0;
      while (n < queue_.size() && n < kPipelineMax && pipelinableLocked(queue_[n], now)) ++n;
      if (n >= 2) {
        batch.assign(std::make_move_iterator(queue_.begin()),
                     std::make_move_iterator(queue_.begin() + static_cast<std::ptrdiff_t>(n)));
        queue_.erase(queue_.begin(), queue_.begin() + static_cast<std::ptrdiff_t>(n));
        busy_ = true;
        lock.unlock();
        const auto acked = pipeline(batch);
        lock.lock();
        busy_ = false;
        // What was not acked goes back to the head, in order, for send() (same Nats-Msg-Id).
        for (std::size_t i = batch.size(); i-- > 0;)
          if (!acked[i]) queue_.push_front(std::move(batch[i]));
        batch.clear();
        if (queuesEmpty()) idle_.notify_all();
        continue;
      }
    }
    // The latest lane first: a heartbeat waits for the message(s) in flight, not for a backlog.
    auto& lane = latest_.empty() ? queue_ : latest_;
    Item item = std::move(lane.front());
    lane.pop_front();
    busy_ = true;
    lock.unlock();
    send(item);
    lock.lock();
    busy_ = false;
    if (queuesEmpty()) idle_.notify_all();
  }
  idle_.notify_all();
}

bool PersistentPublisher::coreOnly(std::string_view subject, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  return coreOnlyLocked(subject, now);
}

bool PersistentPublisher::coreOnlyLocked(std::string_view subject, Clock::time_point now) {
  // A monitor publishes on one subject over and over: remember the last answer (the entry it
  // came from is unchanged until fallBack(), forgetFallbacks() or the erase below reset it).
  if (lastCore_ && subject == lastCore_->first && now < lastCore_->second) return true;
  const auto it = coreUntil_.find(subject);
  if (it == coreUntil_.end()) return false;
  if (now < it->second) {
    lastCore_ = &*it;
    return true;
  }
  lastCore_ = nullptr;
  coreUntil_.erase(it);
  return false;
}

void PersistentPublisher::fallBack(const std::string& subject, Clock::time_point now) {
  std::lock_guard lock(mutex_);
  // Subjects are a service's own few; the bound only guards against a caller using unique ones.
  lastCore_ = nullptr;
  if (coreUntil_.size() >= 4096) coreUntil_.clear();
  coreUntil_[subject] = now + options_.coreFallbackRecheck;
}

void PersistentPublisher::sendCore(const char* subject, std::string_view data) {
  const natsStatus status = natsConnection_Publish(nc_, subject, data.data(), static_cast<int>(data.size()));
  if (status == NATS_OK) {
    ++counters_.core;
    return;
  }
  const auto total = ++counters_.dropped;
  if (errorWarning_.allow())
    log::warning("NATS publish on '{}' failed: {}; message dropped ({} dropped so far)", subject,
                 natsStatus_GetText(status), total);
}

void PersistentPublisher::send(const Item& item) {
  const auto now = Clock::now();
  bool known = false;
  {
    std::lock_guard lock(mutex_);
    if (std::exchange(forgetStreamed_, false)) streamed_.clear();
    known = std::any_of(capturedFilters_.begin(), capturedFilters_.end(),
                        [&](const std::string& f) { return subjectCovers(f, item.subject); });
  }
  known = known || streamed_.contains(item.subject);
  if (natsConnection_Status(nc_) != NATS_CONN_STATUS_CONNECTED) {
    // A subject no stream is known to capture goes to the reconnect buffer at once. One a stream
    // captures waits for the reconnect (bounded per outage): sent as core into the buffer, it
    // would reach a cluster whose stream may have no leader yet, and be lost.
    if (!known || coreOnly(item.subject, now)) {
      sendCore(item.subject.c_str(), item.data);
      return;
    }
    if (!disconnectedSince_) disconnectedSince_ = now;
    if (!waitConnected(*disconnectedSince_ + options_.persistentRetryWindow)) {
      sendCore(item.subject.c_str(), item.data);
      return;
    }
  }
  disconnectedSince_.reset();
  if (coreOnly(item.subject, now)) {
    sendCore(item.subject.c_str(), item.data);
    return;
  }
  // Ask JetStream first whether a stream captures the subject: with none, a core subscriber
  // (a live monitor) would get the publish and nobody would ack it, so the publish would wait
  // out the whole ack timeout, holding up every message behind it.
  bool captured = known;
  if (!known) {
    const auto answer = streamCaptures(item.subject);
    if (answer && !*answer) {
      fallBack(item.subject, now);
      sendCore(item.subject.c_str(), item.data);
      return;
    }
    captured = !answer || *answer;  // no answer (JetStream failing over): as if captured
  }
  sendToStream(item, captured, now);
}

bool PersistentPublisher::pipelinableLocked(const Item& item, Clock::time_point now) {
  if (!item.msgId.empty() || !up_->load(std::memory_order_relaxed)) return false;
  if (std::exchange(forgetStreamed_, false)) streamed_.clear();
  const bool known = streamed_.contains(item.subject) ||
                     std::any_of(capturedFilters_.begin(), capturedFilters_.end(),
                                 [&](const std::string& f) { return subjectCovers(f, item.subject); });
  return known && !coreOnlyLocked(item.subject, now) && natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED;
}

std::vector<bool> PersistentPublisher::pipeline(std::vector<Item>& items) {
  std::vector<bool> acked(items.size(), false);
  if (!replies_) {
    natsInbox* inbox = nullptr;
    if (natsInbox_Create(&inbox) != NATS_OK) return acked;
    const InboxPtr inboxGuard(inbox);
    replyPrefix_ = std::string(inbox) + ".";
    if (natsConnection_SubscribeSync(&replies_, nc_, (replyPrefix_ + ">").c_str()) != NATS_OK) {
      replies_ = nullptr;
      return acked;
    }
  }
  // <inbox>.<batch>.<index>: a late ack of an earlier batch is recognised and ignored.
  const std::string tag = replyPrefix_ + std::to_string(++batchNo_) + ".";
  std::vector<std::chrono::system_clock::time_point> sent(items.size());
  std::size_t waiting = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    auto& item = items[i];
    item.msgId = nextMessageId();
    natsMsg* raw = nullptr;
    if (natsMsg_Create(&raw, item.subject.c_str(), (tag + std::to_string(i)).c_str(), item.data.data(),
                       static_cast<int>(item.data.size())) != NATS_OK)
      continue;
    const MsgPtr msg(raw);
    if (natsMsgHeader_Set(raw, "Nats-Msg-Id", item.msgId.c_str()) != NATS_OK) continue;
    sent[i] = std::chrono::system_clock::now();
    if (natsConnection_PublishMsg(nc_, raw) == NATS_OK) ++waiting;
  }
  // nats.c's flusher writes them out; the acks come back in order, one round trip for all. The
  // ack timeout runs from the last ack of the batch: on a busy machine a batch's acks may take
  // longer than it in all, and a retry of a stored message reaches live subscribers twice.
  auto deadline = Clock::now() + options_.persistentAckTimeout;
  while (waiting > 0) {
    const auto left = std::chrono::ceil<std::chrono::milliseconds>(deadline - Clock::now()).count();
    natsMsg* raw = nullptr;
    if (left <= 0 || natsSubscription_NextMsg(&raw, replies_, left) != NATS_OK) break;
    const MsgPtr reply(raw);
    const std::string_view subject = natsMsg_GetSubject(raw);
    if (!subject.starts_with(tag)) continue;
    std::size_t i = 0;
    const auto index = subject.substr(tag.size());
    if (std::from_chars(index.data(), index.data() + index.size(), i).ec != std::errc{} || i >= items.size()) continue;
    --waiting;
    deadline = Clock::now() + options_.persistentAckTimeout;
    // An ack is {"stream": …, "seq": …}; an error {"error": …}; no responders an empty status message.
    const char* data = natsMsg_GetData(raw);
    const auto answer = nlohmann::json::parse(data, data + natsMsg_GetDataLength(raw), nullptr, false);
    if (answer.is_discarded() || !answer.is_object() || answer.contains("error") || !answer.contains("seq")) continue;
    acked[i] = true;
    ++counters_.acked;
    rememberStreamed(items[i].subject);
    if (log::level() <= log::Level::Debug) {
      const auto us = [](std::chrono::system_clock::time_point t) {
        return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
      };
      log::debug("timing ack {}: sent={} acked={} (pipelined, {} in the batch)", items[i].subject, us(sent[i]),
                 us(std::chrono::system_clock::now()), items.size());
    }
  }
  return acked;
}

void PersistentPublisher::rememberStreamed(const std::string& subject) {
  if (streamed_.size() >= 4096) streamed_.clear();  // the bound only guards against unique subjects
  streamed_.insert(subject);
}

void PersistentPublisher::sendToStream(const Item& item, bool captured, Clock::time_point now) {
  // A message a pipelined batch sent without getting its ack is sent again: same id, counted.
  if (!item.msgId.empty()) ++counters_.retried;
  const std::string id = item.msgId.empty() ? nextMessageId() : item.msgId;
  jsPubOptions pubOptions;
  jsPubOptions_Init(&pubOptions);
  pubOptions.MaxWait = options_.persistentAckTimeout.count();
  pubOptions.MsgId = id.c_str();
  const auto deadline = now + options_.persistentRetryWindow;
  auto backoff = std::chrono::milliseconds(50);
  for (;;) {
    jsPubAck* ack = nullptr;
    jsErrCode errorCode{};
    const auto sent = std::chrono::system_clock::now();
    const natsStatus status = js_Publish(&ack, js_, item.subject.c_str(), item.data.data(),
                                         static_cast<int>(item.data.size()), &pubOptions, &errorCode);
    const PubAckPtr ackGuard(ack);
    if (status == NATS_OK) {
      ++counters_.acked;
      if (log::level() <= log::Level::Debug) {  // the ack's round trip (issue 17: mass-start lag)
        const auto us = [](std::chrono::system_clock::time_point t) {
          return std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
        };
        log::debug("timing ack {}: sent={} acked={}", item.subject, us(sent), us(std::chrono::system_clock::now()));
      }
      rememberStreamed(item.subject);
      return;
    }
    // A failover? No ack (the server may have it: the same id makes a second copy a duplicate),
    // nobody listening (the stream has no leader yet), or the connection dropped under the publish.
    bool retry = captured && Clock::now() < deadline &&
                 (status == NATS_TIMEOUT || status == NATS_NO_RESPONDERS || status == NATS_CONNECTION_DISCONNECTED);
    if (retry && natsConnection_Status(nc_) == NATS_CONN_STATUS_CONNECTED) {
      // … unless JetStream says for certain that no stream captures the subject (deleted).
      const auto answer = streamCaptures(item.subject);
      retry = !answer || *answer;
    }
    if (retry) {
      ++counters_.retried;
      if (errorWarning_.allow())
        log::warning("NATS JetStream publish on '{}': {}; sending it again (failover?)", item.subject,
                     natsStatus_GetText(status));
      if (natsConnection_Status(nc_) != NATS_CONN_STATUS_CONNECTED ? !waitConnected(deadline) : !pause(backoff))
        retry = false;
      backoff = std::min(backoff * 2, std::chrono::milliseconds(1000));
      if (retry) continue;
      if (natsConnection_Status(nc_) != NATS_CONN_STATUS_CONNECTED) {
        // Still disconnected at the window's end: the reconnect buffer, as without a stream.
        sendCore(item.subject.c_str(), item.data);
        return;
      }
    }
    switch (status) {
      case NATS_NO_RESPONDERS:
        // Nobody received it: no stream captures the subject (or JetStream is off).
        forgetCaptured(item.subject);
        fallBack(item.subject, now);
        sendCore(item.subject.c_str(), item.data);
        return;
      case NATS_TIMEOUT:
        // The server has the message (a core subscriber may have got it); publishing it again would
        // deliver it twice.
        forgetCaptured(item.subject);
        fallBack(item.subject, now);
        ++counters_.unacked;
        return;
      case NATS_CONNECTION_DISCONNECTED: ++counters_.unacked; return;
      default: {
        const auto total = ++counters_.dropped;
        if (errorWarning_.allow())
          log::warning("NATS JetStream publish on '{}' failed: {} (JetStream error {}); message dropped ({} so far)",
                       item.subject, natsStatus_GetText(status), static_cast<int>(errorCode), total);
        return;
      }
    }
  }
}

bool PersistentPublisher::waitConnected(Clock::time_point deadline) {
  for (;;) {
    const auto st = natsConnection_Status(nc_);
    if (st == NATS_CONN_STATUS_CONNECTED) return true;
    if (st == NATS_CONN_STATUS_CLOSED || Clock::now() >= deadline) return false;
    if (!pause(std::chrono::milliseconds(20))) return false;
  }
}

bool PersistentPublisher::pause(std::chrono::milliseconds pause) {
  std::unique_lock lock(mutex_);
  return !stopping_.wait_for(lock, pause, [this] { return stop_; });
}

std::string PersistentPublisher::nextMessageId() {
  return fmt::format("{}-{}", idPrefix_, ++nextId_);
}

void PersistentPublisher::forgetCaptured(const std::string& subject) {
  streamed_.erase(subject);
  std::lock_guard lock(mutex_);
  std::erase_if(capturedFilters_, [&](const std::string& f) { return subjectCovers(f, subject); });
}

std::optional<bool> PersistentPublisher::streamCaptures(const std::string& subject) {
  const std::string request = nlohmann::json{{"subject", subject}}.dump();
  natsMsg* raw = nullptr;
  const natsStatus status =
      natsConnection_Request(&raw, nc_, "$JS.API.STREAM.NAMES", request.data(), static_cast<int>(request.size()),
                             std::max<std::int64_t>(1, options_.persistentAckTimeout.count()));
  const MsgPtr reply(raw);
  if (status == NATS_NO_RESPONDERS) return false;  // JetStream is off: nothing captures anything
  if (status != NATS_OK || !raw) return std::nullopt;
  const char* data = natsMsg_GetData(raw);
  const auto answer = nlohmann::json::parse(data, data + natsMsg_GetDataLength(raw), nullptr, false);
  if (answer.is_discarded() || !answer.is_object() || answer.contains("error")) return std::nullopt;
  const auto streams = answer.find("streams");
  return streams != answer.end() && streams->is_array() && !streams->empty();
}

}  // namespace tcs::detail
