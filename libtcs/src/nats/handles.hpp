// SPDX-License-Identifier: MIT
// RAII for nats.c handles (S9). Every nats.c _Destroy accepts NULL, so a half-built object is fine.
#pragma once

#include <nats/nats.h>

#include <memory>

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
using JetStreamPtr = std::unique_ptr<jsCtx, NatsDeleter<jsCtx_Destroy>>;
using PubAckPtr = std::unique_ptr<jsPubAck, NatsDeleter<jsPubAck_Destroy>>;
using StreamInfoPtr = std::unique_ptr<jsStreamInfo, NatsDeleter<jsStreamInfo_Destroy>>;

}  // namespace tcs::detail
