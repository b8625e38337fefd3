// SPDX-License-Identifier: MIT
#pragma once

// Helpers for tests against a real nats-server: a recording subscription handler and an
// independent plain nats.c JetStream view of the server.
#include <nats/nats.h>

#include <cstdint>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

#include "tcs/nats.hpp"

namespace tcs::test {

/** Collects the messages a subscription receives. */
class Inbox {
 public:
  tcs::INatsTransport::MessageHandler handler() {
    return [this](const tcs::NatsMessage& m) {
      std::lock_guard lock(mutex_);
      messages_.push_back(m);
    };
  }
  std::vector<std::string> data() const {
    std::lock_guard lock(mutex_);
    std::vector<std::string> out;
    for (const auto& m : messages_) out.push_back(m.data);
    return out;
  }
  std::vector<tcs::NatsMessage> messages() const {
    std::lock_guard lock(mutex_);
    return messages_;
  }
  std::size_t size() const {
    std::lock_guard lock(mutex_);
    return messages_.size();
  }
  void clear() {
    std::lock_guard lock(mutex_);
    messages_.clear();
  }

 private:
  mutable std::mutex mutex_;
  std::vector<tcs::NatsMessage> messages_;
};

/** A plain nats.c connection with a JetStream context: the test's independent view of the server. */
class RawJetStream {
 public:
  explicit RawJetStream(const std::string& url) {
    if (natsConnection_ConnectTo(&nc_, url.c_str()) != NATS_OK) throw std::runtime_error("raw connect failed");
    if (natsConnection_JetStream(&js_, nc_, nullptr) != NATS_OK) throw std::runtime_error("raw JetStream failed");
  }
  ~RawJetStream() {
    jsCtx_Destroy(js_);
    natsConnection_Destroy(nc_);
  }
  RawJetStream(const RawJetStream&) = delete;
  RawJetStream& operator=(const RawJetStream&) = delete;

  void addStream(const char* name, const char* subject) {
    jsStreamConfig config;
    jsStreamConfig_Init(&config);
    config.Name = name;
    const char* subjects[] = {subject};
    config.Subjects = subjects;
    config.SubjectsLen = 1;
    config.Storage = js_FileStorage;
    jsStreamInfo* info = nullptr;
    jsErrCode code{};
    const natsStatus s = js_AddStream(&info, js_, &config, nullptr, &code);
    jsStreamInfo_Destroy(info);
    if (s != NATS_OK) throw std::runtime_error(std::string("js_AddStream: ") + natsStatus_GetText(s));
  }

  /** @return the data of the last message on @p subject in @p stream, or nullopt. */
  std::optional<std::string> lastMessage(const char* stream, const char* subject) {
    natsMsg* msg = nullptr;
    jsErrCode code{};
    if (js_GetLastMsg(&msg, js_, stream, subject, nullptr, &code) != NATS_OK) return std::nullopt;
    std::string data(natsMsg_GetData(msg), static_cast<std::size_t>(natsMsg_GetDataLength(msg)));
    natsMsg_Destroy(msg);
    return data;
  }

  std::uint64_t messageCount(const char* stream) {
    jsStreamInfo* info = nullptr;
    jsErrCode code{};
    if (js_GetStreamInfo(&info, js_, stream, nullptr, &code) != NATS_OK) return 0;
    const auto n = info->State.Msgs;
    jsStreamInfo_Destroy(info);
    return n;
  }

 private:
  natsConnection* nc_ = nullptr;
  jsCtx* js_ = nullptr;
};

}  // namespace tcs::test
