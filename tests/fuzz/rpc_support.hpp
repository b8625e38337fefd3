// SPDX-License-Identifier: MIT
// Shared by the RPC harnesses: the input format and a NATS transport that keeps the replies.
#pragma once

#include <mutex>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tcs/nats.hpp"

namespace tcs::fuzz {

/** @brief An RPC request as the harnesses read it: the subject on the first line, the body after it. */
struct Request {
  std::string subject;
  std::string body;
};

/** @brief Splits @p input at its first newline; a first line not under @p prefix is a tail of it. */
inline Request splitRequest(std::string_view input, std::string_view prefix) {
  const auto eol = input.find('\n');
  std::string subject(input.substr(0, eol));
  if (!subject.starts_with("svc.")) subject = std::string(prefix) + subject;
  return {std::move(subject), eol == std::string_view::npos ? std::string() : std::string(input.substr(eol + 1))};
}

/** @brief Keeps what is sent to reply subjects (`_INBOX.…`); drops status and heartbeats. */
class ReplyTransport : public INatsTransport {
 public:
  bool connected() const noexcept override { return true; }
  bool publish(std::string_view subject, std::string_view data) override {
    if (subject.starts_with("_INBOX.")) {
      std::lock_guard lock(mutex_);
      replies_.emplace_back(data);
    }
    return true;
  }
  void publishPersistent(std::string_view, std::string_view) override {}
  NatsMessage request(std::string_view, std::string_view, std::chrono::milliseconds) override {
    throw NatsError(NatsError::Kind::NoResponders, 0, "no peers in a fuzz harness");
  }
  NatsSubscription subscribe(std::string_view, MessageHandler handler) override {
    std::lock_guard lock(mutex_);
    handler_ = std::move(handler);
    return {};
  }
  /** @brief Delivers a request to the subscriber; @return the replies it sent. */
  std::vector<std::string> deliver(const Request& request) {
    MessageHandler h;
    {
      std::lock_guard lock(mutex_);
      h = handler_;
      replies_.clear();
    }
    h(NatsMessage{request.subject, "_INBOX.fuzz", request.body});
    std::lock_guard lock(mutex_);
    return std::exchange(replies_, {});
  }

 private:
  std::mutex mutex_;
  MessageHandler handler_;
  std::vector<std::string> replies_;
};

}  // namespace tcs::fuzz
