// SPDX-License-Identifier: MIT
#include <fmt/format.h>
#include <nats/nats.h>

#include <algorithm>
#include <atomic>
#include <cctype>
#include <chrono>
#include <climits>
#include <condition_variable>
#include <exception>
#include <mutex>
#include <optional>
#include <random>
#include <thread>
#include <utility>
#include <vector>

#include "connection_impl.hpp"
#include "handles.hpp"
#include "options.hpp"
#include "persistent_publisher.hpp"
#include "status.hpp"
#include "tcs/log.hpp"
#include "tcs/nats.hpp"

namespace tcs {

using Clock = std::chrono::steady_clock;
using std::chrono::milliseconds;
using namespace detail;

namespace {

std::string connectedUrlOf(natsConnection* nc) {
  if (!nc) return {};
  char buffer[256] = {};
  if (natsConnection_GetConnectedUrl(nc, buffer, sizeof buffer) != NATS_OK) return {};
  return buffer;
}

double seconds(Clock::duration d) {
  return std::chrono::duration<double>(d).count();
}

milliseconds withJitter(milliseconds base) {
  thread_local std::minstd_rand random{std::random_device{}()};
  const auto spread = std::max<milliseconds::rep>(1, base.count() / 4);
  return base + milliseconds(std::uniform_int_distribution<milliseconds::rep>(0, spread)(random));
}

void invoke(const std::function<void()>& callback, const char* which) noexcept {
  if (!callback) return;
  try {
    callback();
  } catch (const std::exception& e) {
    log::warning("NATS {} callback threw: {}, ignoring", which, e.what());
  } catch (...) {
    log::warning("NATS {} callback threw, ignoring", which);
  }
}

void checkSubject(std::string_view subject) {
  // A plain loop: find_first_of calls memchr once per character (this runs for every publish).
  const bool bad = subject.empty() || std::any_of(subject.begin(), subject.end(), [](char c) {
                     return c == ' ' || c == '\t' || c == '\r' || c == '\n';
                   });
  if (bad)
    throw NatsError(NatsError::Kind::InvalidArgument, NATS_INVALID_SUBJECT,
                    fmt::format("invalid NATS subject '{}'", subject));
}

int payloadSize(std::string_view subject, std::string_view data) {
  if (data.size() > static_cast<std::size_t>(INT_MAX))
    throw NatsError(NatsError::Kind::InvalidArgument, NATS_MAX_PAYLOAD,
                    fmt::format("NATS payload for '{}' too large ({} bytes)", subject, data.size()));
  return static_cast<int>(data.size());
}

// ---------------------------------------------------------------------------------------------
// Subscriptions

struct SubscriptionState {
  explicit SubscriptionState(INatsTransport::MessageHandler h) : handler(std::move(h)) {}
  INatsTransport::MessageHandler handler;
  std::mutex mutex;
  std::condition_variable done;
  bool complete = false;  ///< nats.c's delivery thread has finished: no handler call can follow
  bool orphaned = false;  ///< the owner is gone; onSubscriptionComplete deletes the state
};

thread_local const SubscriptionState* currentHandler = nullptr;

void onSubscriptionMessage(natsConnection*, natsSubscription*, natsMsg* msg, void* closure) {
  const MsgPtr owned(msg);
  if (!msg) return;
  auto* state = static_cast<SubscriptionState*>(closure);
  const char* reply = natsMsg_GetReply(msg);
  const char* data = natsMsg_GetData(msg);
  NatsMessage message{natsMsg_GetSubject(msg), reply ? reply : "",
                      data ? std::string(data, static_cast<std::size_t>(natsMsg_GetDataLength(msg))) : std::string()};
  currentHandler = state;
  try {
    state->handler(message);
  } catch (const std::exception& e) {
    log::warning("NATS handler for '{}' threw: {}, ignoring", message.subject, e.what());
  } catch (...) {
    log::warning("NATS handler for '{}' threw, ignoring", message.subject);
  }
  currentHandler = nullptr;
}

void onSubscriptionComplete(void* closure) {
  auto* state = static_cast<SubscriptionState*>(closure);
  std::unique_lock lock(state->mutex);
  if (state->orphaned) {
    lock.unlock();
    delete state;
    return;
  }
  state->complete = true;
  state->done.notify_all();
}

}  // namespace

struct TCS_LOCAL NatsSubscription::Impl {
  Impl(SubscriptionPtr s, SubscriptionState* st, bool completionKnown)
      : sub(std::move(s)), state(st), completionKnown_(completionKnown) {}
  ~Impl() { release(); }
  Impl(const Impl&) = delete;
  Impl& operator=(const Impl&) = delete;

  void release() noexcept {
    if (!sub) return;
    (void)natsSubscription_Unsubscribe(sub.get());
    if (state) {
      std::unique_lock lock(state->mutex);
      // From inside its own handler the delivery thread cannot finish before we return: let the
      // completion callback free the state instead of waiting for it.
      const bool canWait = completionKnown_ && currentHandler != state;
      if (canWait) state->done.wait_for(lock, std::chrono::seconds(5), [this] { return state->complete; });
      if (state->complete) {
        lock.unlock();
        delete state;
      } else if (completionKnown_) {
        state->orphaned = true;
      }
      // else: nats.c refused the completion callback (the connection closed in between); the
      // state is leaked on purpose, as the delivery thread may still use it.
      state = nullptr;
    }
    sub.reset();
  }

  SubscriptionPtr sub;
  SubscriptionState* state;

 private:
  bool completionKnown_;
};

NatsSubscription::NatsSubscription() noexcept = default;
NatsSubscription::NatsSubscription(std::unique_ptr<Impl> impl) noexcept : impl_(std::move(impl)) {}
NatsSubscription::NatsSubscription(NatsSubscription&& other) noexcept = default;
NatsSubscription& NatsSubscription::operator=(NatsSubscription&& other) noexcept {
  if (this != &other) {
    unsubscribe();
    impl_ = std::move(other.impl_);
  }
  return *this;
}
NatsSubscription::~NatsSubscription() = default;

bool NatsSubscription::active() const noexcept {
  return impl_ && impl_->sub && natsSubscription_IsValid(impl_->sub.get());
}

void NatsSubscription::unsubscribe() noexcept {
  if (impl_) impl_->release();
  impl_.reset();
}

// ---------------------------------------------------------------------------------------------
// Connection (its state: connection_impl.hpp)

void NatsConnection::Impl::start() {
  NatsCallbacks callbacks;
  callbacks.disconnected = &Impl::onDisconnected;
  callbacks.reconnected = &Impl::onReconnected;
  callbacks.closed = &Impl::onClosed;
  callbacks.asyncError = &Impl::onAsyncError;
  callbacks.reconnectDelay = &Impl::reconnectDelay;
  callbacks.closure = this;
  natsOptions = buildNatsOptions(config, options, urls, callbacks);

  if (config.required)
    connectRequired();
  else
    connectOptional();

  jsOptions jsOpts;
  jsOptions_Init(&jsOpts);
  jsOpts.Wait = options.persistentAckTimeout.count();
  jsCtx* rawJs = nullptr;
  throwIfFailed(natsConnection_JetStream(&rawJs, nc.get(), &jsOpts), "cannot create the NATS JetStream context");
  js.reset(rawJs);
}

void NatsConnection::Impl::connectRequired() {
  const auto start = Clock::now();
  const auto deadline = start + options.connectDeadline;
  auto wait = options.reconnectWaitMin;
  std::optional<NatsError> telling;  // the last failure that was not a time-out (the last one often is)
  for (int attempt = 1;; ++attempt) {
    const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
    throwIfFailed(
        natsOptions_SetTimeout(natsOptions.get(), std::clamp(left, milliseconds(1), options.connectTimeout).count()),
        "invalid NATS connect timeout");
    natsConnection* raw = nullptr;
    const natsStatus status = connectOnce(&raw);
    if (status == NATS_OK) {
      nc.reset(raw);
      up = true;
      if (attempt > 1)
        log::info("NATS connected to {} after {} attempts ({:.1f} s)", connectedUrlOf(raw), attempt,
                  seconds(Clock::now() - start));
      else
        log::info("NATS connected to {}", connectedUrlOf(raw));
      return;
    }
    NatsError error = natsError(status, fmt::format("cannot connect to NATS at {}", serverList()));
    if (const auto hint = hintFor(status); !hint.empty())
      error = NatsError(error.kind(), error.status(), std::string(error.what()) + hint);
    if (!isRetryableConnectFailure(status)) throw error;
    if (status != NATS_TIMEOUT) telling = error;
    const auto now = Clock::now();
    if (now >= deadline) {
      const NatsError& last = status == NATS_TIMEOUT && telling ? *telling : error;
      throw NatsError(NatsError::Kind::NotConnected, last.status(),
                      fmt::format("{}; gave up after {} attempts in {:.1f} s (nats.required is true)", last.what(),
                                  attempt, seconds(now - start)));
    }
    const auto pause = std::min(withJitter(wait), std::chrono::ceil<milliseconds>(deadline - now));
    log::warning("{}; retrying in {} ms (attempt {}, giving up in {:.1f} s)", error.what(), pause.count(), attempt,
                 seconds(deadline - now));
    // Sleep in slices so that a stop request (SIGTERM while waiting) ends the wait promptly.
    for (const auto until = Clock::now() + pause; Clock::now() < until;) {
      if (options.cancelled && options.cancelled())
        throw NatsError(NatsError::Kind::NotConnected, 0,
                        fmt::format("{}; stopped waiting (a stop was requested)", error.what()));
      std::this_thread::sleep_for(std::min<Clock::duration>(milliseconds(50), until - Clock::now()));
    }
    wait = std::min(wait * 2, options.reconnectWaitMax);
  }
}

std::string NatsConnection::Impl::hintFor(natsStatus status) const {
  // A server that requires a client certificate completes the TLS handshake (TLS 1.3) and then
  // hangs up; nats.c sees an empty answer to its CONNECT/PING. Name the likely cause.
  const bool tls = config.tlsCa.has_value() ||
                   std::any_of(urls.begin(), urls.end(), [](const std::string& u) { return u.starts_with("tls://"); });
  if (!tls || config.tlsCert ||
      (status != NATS_PROTOCOL_ERROR && status != NATS_CONNECTION_CLOSED && status != NATS_IO_ERROR))
    return {};
  return " — the server closed the TLS connection while connecting; if it requires a client certificate, set "
         "nats.tls.cert and nats.tls.key";
}

natsStatus NatsConnection::Impl::connectOnce(natsConnection** raw) {
  // nats.c 3.4.1 (Debian 12's) sends no signature when the Ed25519 signature of the server's
  // nonce begins with a zero byte: its base64 encoder took a first NUL for an empty input
  // (nats.c#705, fixed in 3.8.0). One connect in 256 with an NKey or a creds file is then refused
  // as an "Authorization Violation" (tests/integration: ANatsConnection.WithAnNKey…). A new
  // connection brings a new nonce; a wrong key is refused every time, and that is reported.
  const bool signs = config.nkeySeedFile.has_value() || config.credsFile.has_value();
  natsStatus status = natsConnection_Connect(raw, natsOptions.get());
  for (int again = 0; signs && status == NATS_CONNECTION_AUTH_FAILED && again < kSignedConnectRetries; ++again) {
    log::debug(
        "NATS refused the signed connect; trying again with a new nonce (nats.c 3.4 drops a signature "
        "that begins with a zero byte)");
    status = natsConnection_Connect(raw, natsOptions.get());
  }
  return status;
}

void NatsConnection::Impl::connectOptional() {
  natsConnection* raw = nullptr;
  natsStatus status = connectOnce(&raw);
  if (status == NATS_OK) {
    nc.reset(raw);
    up = true;
    log::info("NATS connected to {}", connectedUrlOf(raw));
    return;
  }
  // Bad credentials or TLS settings will not fix themselves: say so now rather than retry forever.
  if (!isRetryableConnectFailure(status))
    throw natsError(status, fmt::format("cannot connect to NATS at {}", serverList()));
  log::info("NATS not reachable at {} ({}{}); running without it and connecting in the background", serverList(),
            natsStatus_GetText(status), hintFor(status));
  throwIfFailed(natsOptions_SetRetryOnFailedConnect(natsOptions.get(), true, &Impl::onConnected, this),
                "cannot set NATS retry on failed connect");
  status = natsConnection_Connect(&raw, natsOptions.get());
  if (status != NATS_OK && status != NATS_NOT_YET_CONNECTED)
    throw natsError(status, fmt::format("cannot connect to NATS at {}", serverList()));
  nc.reset(raw);
}

NatsConnection::Impl::~Impl() {
  closing = true;
  if (nc) {
    const auto deadline = Clock::now() + options.closeFlushTimeout;
    if (natsConnection_Status(nc.get()) == NATS_CONN_STATUS_CONNECTED) (void)flush(deadline);
  }
  {
    std::lock_guard lock(publisherMutex);
    persistentReady.store(nullptr);
    persistent.reset();
  }
  js.reset();
  if (nc) {
    natsConnection_Close(nc.get());
    // The closed callback is the last one nats.c makes with `this`; wait for it before freeing.
    std::unique_lock lock(closeMutex);
    if (!closeDone.wait_for(lock, std::chrono::seconds(10), [this] { return closedFired; }))
      log::warning("NATS closed callback did not run within 10 s");
    lock.unlock();
    nc.reset();
  }
}

PersistentPublisher& NatsConnection::Impl::publisher() {
  // Created once, on first use, and reset only by the destructor: after that, no lock per publish.
  if (auto* ready = persistentReady.load(std::memory_order_acquire)) return *ready;
  std::lock_guard lock(publisherMutex);
  if (!persistent) {
    persistent = std::make_unique<PersistentPublisher>(nc.get(), js.get(), options, &up);
    persistentReady.store(persistent.get(), std::memory_order_release);
  }
  return *persistent;
}

bool NatsConnection::Impl::flush(Clock::time_point deadline) {
  PersistentPublisher* worker = nullptr;
  {
    std::lock_guard lock(publisherMutex);
    worker = persistent.get();  // reset only by the destructor, so it stays valid while we wait
  }
  const bool done = !worker || worker->waitIdle(deadline);
  if (!done || natsConnection_Status(nc.get()) != NATS_CONN_STATUS_CONNECTED) return false;
  const auto left = std::chrono::duration_cast<milliseconds>(deadline - Clock::now());
  if (left.count() <= 0) return false;
  return natsConnection_FlushTimeout(nc.get(), left.count()) == NATS_OK;
}

void NatsConnection::Impl::onConnected(natsConnection* conn, void* closure) {
  static_cast<Impl*>(closure)->up = true;
  auto* self = static_cast<Impl*>(closure);
  log::info("NATS connected to {}", connectedUrlOf(conn));
  invoke(self->events.connected, "connected");
}

void NatsConnection::Impl::onDisconnected(natsConnection*, void* closure) {
  static_cast<Impl*>(closure)->up = false;
  auto* self = static_cast<Impl*>(closure);
  if (self->closing) return;
  log::warning("NATS connection to {} lost; reconnecting", self->serverList());
  invoke(self->events.disconnected, "disconnected");
}

void NatsConnection::Impl::onReconnected(natsConnection* conn, void* closure) {
  static_cast<Impl*>(closure)->up = true;
  auto* self = static_cast<Impl*>(closure);
  ++self->reconnects;
  log::info("NATS reconnected to {}", connectedUrlOf(conn));
  {
    std::lock_guard lock(self->publisherMutex);
    if (self->persistent) self->persistent->forgetFallbacks();
  }
  invoke(self->events.reconnected, "reconnected");
}

void NatsConnection::Impl::onClosed(natsConnection* conn, void* closure) {
  static_cast<Impl*>(closure)->up = false;
  auto* self = static_cast<Impl*>(closure);
  if (!self->closing) {
    const char* why = nullptr;
    (void)natsConnection_GetLastError(conn, &why);
    log::error("NATS connection to {} closed for good{}{}; nats.c makes no more reconnects", self->serverList(),
               why && *why ? ": " : "", why ? why : "");
    invoke(self->events.closed, "closed");
  }
  std::lock_guard lock(self->closeMutex);
  self->closedFired = true;
  self->closeDone.notify_all();
}

void NatsConnection::Impl::onAsyncError(natsConnection* conn, natsSubscription*, natsStatus status, void* closure) {
  auto* self = static_cast<Impl*>(closure);
  if (status == NATS_NOT_PERMITTED) {
    self->recordViolation(conn);
    return;
  }
  if (self->asyncErrorWarning.allow()) log::warning("NATS: {}", natsStatus_GetText(status));
}

void NatsConnection::Impl::recordViolation(natsConnection* conn) {
  // nats.c keeps the server's text as the connection's last error, e.g.
  // `Permissions Violation for Publish to "svc.rpc.launcher.a.v1.stop.x"`.
  const char* raw = nullptr;
  (void)natsConnection_GetLastError(conn, &raw);
  const std::string text = raw ? raw : "";
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  Violation v;
  v.text = text.empty() ? "Permissions Violation" : text;
  std::size_t at = lower.find("publish to \"");
  if (at != std::string::npos) {
    at += std::string_view("publish to \"").size();
  } else if (at = lower.find("subscription to \""); at != std::string::npos) {
    v.publish = false;
    at += std::string_view("subscription to \"").size();
  }
  if (at != std::string::npos) {
    const auto end = text.find('"', at);
    v.subject = text.substr(at, end == std::string::npos ? std::string::npos : end - at);
  }
  {
    std::lock_guard lock(violationsMutex);
    v.sequence = violationCount.load() + 1;
    violations.push_back(v);
    if (violations.size() > 32) violations.pop_front();
    violationCount.store(v.sequence);
  }
  if (asyncErrorWarning.allow()) log::warning("NATS: {}", text.empty() ? "permissions violation" : text);
}

std::optional<NatsConnection::Impl::Violation> NatsConnection::Impl::violationAfter(std::uint64_t since,
                                                                                    std::string_view subject,
                                                                                    std::string_view inbox) const {
  if (violationCount.load() <= since) return std::nullopt;
  std::lock_guard lock(violationsMutex);
  for (const auto& v : violations)
    if (v.sequence > since && v.subject == (v.publish ? subject : inbox)) return v;
  return std::nullopt;
}

int64_t NatsConnection::Impl::reconnectDelay(natsConnection*, int attempts, void* closure) {
  auto* self = static_cast<Impl*>(closure);
  // nats.c asks before each round over the server list, the first round included.
  const int doublings = std::clamp(attempts - 1, 0, 20);
  const auto base =
      std::min(self->options.reconnectWaitMin * (int64_t{1} << doublings), self->options.reconnectWaitMax);
  const auto delay = withJitter(base);
  log::debug("NATS not reachable at {}; next attempt in {} ms (round {})", self->serverList(), delay.count(), attempts);
  return delay.count();
}

NatsConnection::NatsConnection(const config::NatsConfig& config, NatsOptions options, NatsEvents events)
    : impl_(std::make_unique<Impl>(config, std::move(options), std::move(events))) {
  impl_->start();
}

NatsConnection::~NatsConnection() = default;

bool NatsConnection::connected() const noexcept {
  return impl_->nc && natsConnection_Status(impl_->nc.get()) == NATS_CONN_STATUS_CONNECTED;
}

bool NatsConnection::publish(std::string_view subject, std::string_view data) {
  checkSubject(subject);
  const int size = payloadSize(subject, data);
  const SubjectCString subj(subject);
  const natsStatus status = natsConnection_Publish(impl_->nc.get(), subj.c_str(), data.data(), size);
  if (status == NATS_OK) {
    ++impl_->published;
    return true;
  }
  if (status == NATS_INVALID_SUBJECT || status == NATS_MAX_PAYLOAD || status == NATS_INVALID_ARG)
    throw natsError(status, fmt::format("cannot publish on '{}'", subject));
  const auto total = ++impl_->publishDropped;
  if (impl_->dropWarning.allow())
    log::warning("NATS publish on '{}' failed: {}; message dropped ({} dropped so far)", subject,
                 natsStatus_GetText(status), total);
  return false;
}

bool NatsConnection::respond(std::string_view replySubject, std::string_view data) {
  if (!publish(replySubject, data)) return false;
  // nats.c has no public "write now" apart from a flush: it writes the buffer and a PING at once,
  // then waits for the PONG, here at most 1 ms (the reply has left either way; a timeout is
  // not an error of the reply). Not while disconnected: the reply waits in the reconnect buffer.
  if (!impl_->options.sendAsap && connected()) (void)natsConnection_FlushTimeout(impl_->nc.get(), 1);
  return true;
}

void NatsConnection::publishPersistent(std::string_view subject, std::string_view data) {
  checkSubject(subject);
  (void)payloadSize(subject, data);
  impl_->publisher().enqueue(subject, data);
}

void NatsConnection::publishLatest(std::string_view subject, std::string_view data) {
  checkSubject(subject);
  (void)payloadSize(subject, data);
  impl_->publisher().enqueueLatest(subject, data);
}

NatsMessage NatsConnection::request(std::string_view subject, std::string_view data, milliseconds timeout) {
  checkSubject(subject);
  const int size = payloadSize(subject, data);
  if (!connected())
    throw NatsError(NatsError::Kind::NotConnected, NATS_CONNECTION_DISCONNECTED,
                    fmt::format("cannot send a request on '{}': not connected to NATS", subject));
  // A reply inbox of its own, read in short slices: the server refuses a publish (or the inbox's
  // subscription) the user has no permission for with an asynchronous -ERR only, and nats.c's
  // natsConnection_Request would wait its whole timeout for a reply that cannot come.
  auto& impl = *impl_;
  const auto deadline = Clock::now() + std::max(timeout, milliseconds(1));
  const auto violationsBefore = impl.violationSequence();
  const auto reconnectsBefore = impl.reconnects.load();
  natsInbox* rawInbox = nullptr;
  throwIfFailed(natsInbox_Create(&rawInbox), "cannot create a NATS reply inbox");
  const InboxPtr inbox(rawInbox);
  natsSubscription* rawSub = nullptr;
  throwIfFailed(natsConnection_SubscribeSync(&rawSub, impl.nc.get(), rawInbox),
                fmt::format("request on '{}' failed: cannot subscribe to its reply inbox", subject));
  const SubscriptionPtr sub(rawSub);
  (void)natsSubscription_AutoUnsubscribe(rawSub, 1);
  const SubjectCString subj(subject);
  throwIfFailed(natsConnection_PublishRequest(impl.nc.get(), subj.c_str(), rawInbox, data.data(), size),
                fmt::format("request on '{}' failed", subject));
  if (!impl.options.sendAsap) (void)natsConnection_FlushTimeout(impl.nc.get(), 1);  // write it now
  for (;;) {
    const auto left = std::chrono::ceil<milliseconds>(deadline - Clock::now());
    natsMsg* raw = nullptr;
    const natsStatus status =
        natsSubscription_NextMsg(&raw, rawSub, std::clamp<milliseconds::rep>(left.count(), 1, 10));
    const MsgPtr reply(raw);
    if (status == NATS_OK) {
      if (natsMsg_IsNoResponders(raw))
        throw NatsError(NatsError::Kind::NoResponders, NATS_NO_RESPONDERS,
                        fmt::format("request on '{}' failed: {}", subject, natsStatus_GetText(NATS_NO_RESPONDERS)));
      const char* replyData = natsMsg_GetData(raw);
      return NatsMessage{
          natsMsg_GetSubject(raw), "",
          replyData ? std::string(replyData, static_cast<std::size_t>(natsMsg_GetDataLength(raw))) : std::string()};
    }
    if (const auto v = impl.violationAfter(violationsBefore, subject, rawInbox))
      throw NatsError(NatsError::Kind::NotPermitted, NATS_NOT_PERMITTED,
                      v->publish ? fmt::format("not permitted: the NATS user may not publish to {}", subject)
                                 : fmt::format("not permitted: the NATS user may not subscribe to the reply inbox {} "
                                               "of a request on '{}'",
                                               v->subject, subject));
    if (status != NATS_TIMEOUT) throwIfFailed(status, fmt::format("request on '{}' failed", subject));
    if (natsConnection_Status(impl.nc.get()) != NATS_CONN_STATUS_CONNECTED ||
        impl.reconnects.load() != reconnectsBefore)
      throw NatsError(
          NatsError::Kind::NotConnected, NATS_CONNECTION_DISCONNECTED,
          fmt::format("request on '{}' failed: the NATS connection was lost while waiting for the reply", subject));
    if (Clock::now() >= deadline)
      throw NatsError(NatsError::Kind::Timeout, NATS_TIMEOUT,
                      fmt::format("request on '{}' failed: {}", subject, natsStatus_GetText(NATS_TIMEOUT)));
  }
}

NatsSubscription NatsConnection::subscribe(std::string_view subject, MessageHandler handler) {
  checkSubject(subject);
  if (!handler)
    throw NatsError(NatsError::Kind::InvalidArgument, NATS_INVALID_ARG,
                    fmt::format("subscription to '{}' without a handler", subject));
  auto state = std::make_unique<SubscriptionState>(std::move(handler));
  const SubjectCString subj(subject);
  natsSubscription* raw = nullptr;
  throwIfFailed(natsConnection_Subscribe(&raw, impl_->nc.get(), subj.c_str(), &onSubscriptionMessage, state.get()),
                fmt::format("cannot subscribe to '{}'", subject));
  SubscriptionPtr sub(raw);
  const bool completionKnown = natsSubscription_SetOnCompleteCB(raw, &onSubscriptionComplete, state.get()) == NATS_OK;
  return NatsSubscription(std::make_unique<NatsSubscription::Impl>(std::move(sub), state.release(), completionKnown));
}

bool NatsConnection::flush(milliseconds timeout) {
  return impl_->flush(Clock::now() + timeout);
}

std::string NatsConnection::lastError() const {
  const char* text = nullptr;
  if (!impl_->nc) return {};
  (void)natsConnection_GetLastError(impl_->nc.get(), &text);
  return text ? std::string(text) : std::string();
}

std::uint64_t NatsConnection::permissionViolations() const noexcept {
  return impl_->violationSequence();
}

std::string NatsConnection::lastPermissionViolation() const {
  std::lock_guard lock(impl_->violationsMutex);
  return impl_->violations.empty() ? std::string() : impl_->violations.back().text;
}

std::string NatsConnection::connectedUrl() const {
  return connected() ? connectedUrlOf(impl_->nc.get()) : std::string();
}

const std::vector<std::string>& NatsConnection::servers() const noexcept {
  return impl_->urls;
}

NatsStats NatsConnection::stats() const {
  NatsStats stats;
  stats.published = impl_->published;
  stats.publishDropped = impl_->publishDropped;
  stats.reconnects = impl_->reconnects;
  stats.buffered = static_cast<std::size_t>(std::max(0, natsConnection_Buffered(impl_->nc.get())));
  std::lock_guard lock(impl_->publisherMutex);
  if (impl_->persistent) {
    const auto& c = impl_->persistent->counters();
    stats.persistentAcked = c.acked;
    stats.persistentCore = c.core;
    stats.persistentUnacked = c.unacked;
    stats.persistentDropped = c.dropped;
  }
  return stats;
}

std::vector<std::string> natsServerUrls(const config::NatsConfig& config) {
  if (!config.servers.empty()) return config.servers;
  if (config.host.find(':') != std::string::npos && !config.host.starts_with('['))
    return {fmt::format("nats://[{}]:{}", config.host, config.port)};
  return {fmt::format("nats://{}:{}", config.host, config.port)};
}

INatsTransport::~INatsTransport() = default;

}  // namespace tcs
