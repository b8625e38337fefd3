// SPDX-License-Identifier: MIT
// The one place where a natsStatus becomes a tcs::NatsError (S8).
#pragma once

#include <nats/nats.h>

#include <string_view>

#include "tcs/error.hpp"

namespace tcs::detail {

/**
 * @brief Builds the error for a failed nats.c call: `<what>: <last error text> (<status text>)
 * [<nats.c error stack>]`. Reads this thread's nats.c error state, so call it right after the failure.
 */
NatsError natsError(natsStatus status, std::string_view what);

inline void throwIfFailed(natsStatus status, std::string_view what) {
  if (status != NATS_OK) throw natsError(status, what);
}

/** @return whether connecting again later may succeed (no server yet), as opposed to bad credentials/TLS. */
bool isRetryableConnectFailure(natsStatus status) noexcept;

}  // namespace tcs::detail
