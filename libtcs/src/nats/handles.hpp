// SPDX-License-Identifier: MIT
// RAII for nats.c handles (S9). Every nats.c _Destroy accepts NULL, so a half-built object is fine.
#pragma once

#include <nats/nats.h>

#include <memory>
#include <string>
#include <string_view>

namespace tcs::detail {

template <auto Destroy>
struct NatsDeleter {
  template <typename T>
  void operator()(T* handle) const noexcept {
    Destroy(handle);
  }
};

using OptionsPtr = std::unique_ptr<natsOptions, NatsDeleter<natsOptions_Destroy>>;
using ConnectionPtr = std::unique_ptr<natsConnection, NatsDeleter<natsConnection_Destroy>>;
using SubscriptionPtr = std::unique_ptr<natsSubscription, NatsDeleter<natsSubscription_Destroy>>;
using MsgPtr = std::unique_ptr<natsMsg, NatsDeleter<natsMsg_Destroy>>;
using InboxPtr = std::unique_ptr<natsInbox, NatsDeleter<natsInbox_Destroy>>;
using JetStreamPtr = std::unique_ptr<jsCtx, NatsDeleter<jsCtx_Destroy>>;
using PubAckPtr = std::unique_ptr<jsPubAck, NatsDeleter<jsPubAck_Destroy>>;
using StreamInfoPtr = std::unique_ptr<jsStreamInfo, NatsDeleter<jsStreamInfo_Destroy>>;

/** @brief A NUL-terminated copy of a subject for nats.c: on the stack for the usual short ones. */
class SubjectCString {
 public:
  explicit SubjectCString(std::string_view subject) {
    if (subject.size() < sizeof small_) {
      subject.copy(small_, subject.size());
      small_[subject.size()] = '\0';
    } else {
      large_.assign(subject);
    }
  }
  SubjectCString(const SubjectCString&) = delete;
  SubjectCString& operator=(const SubjectCString&) = delete;
  const char* c_str() const noexcept { return large_.empty() ? small_ : large_.c_str(); }

 private:
  char small_[256];
  std::string large_;
};

}  // namespace tcs::detail
