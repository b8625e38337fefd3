// SPDX-License-Identifier: MIT
#include "status.hpp"

#include <fmt/format.h>

#include <array>
#include <string>

namespace tcs::detail {
namespace {

NatsError::Kind kindOf(natsStatus status) noexcept {
  switch (status) {
    case NATS_TIMEOUT: return NatsError::Kind::Timeout;
    case NATS_NO_RESPONDERS: return NatsError::Kind::NoResponders;
    case NATS_CONNECTION_AUTH_FAILED: return NatsError::Kind::AuthFailed;
    case NATS_NOT_PERMITTED: return NatsError::Kind::NotPermitted;
    case NATS_SSL_ERROR:
    case NATS_SECURE_CONNECTION_WANTED:
    case NATS_SECURE_CONNECTION_REQUIRED: return NatsError::Kind::Tls;
    case NATS_NO_SERVER:
    case NATS_CONNECTION_CLOSED:
    case NATS_CONNECTION_DISCONNECTED:
    case NATS_NOT_YET_CONNECTED:
    case NATS_IO_ERROR:
    case NATS_STALE_CONNECTION: return NatsError::Kind::NotConnected;
    case NATS_INVALID_SUBJECT:
    case NATS_INVALID_ARG:
    case NATS_MAX_PAYLOAD:
    case NATS_ADDRESS_MISSING:
    case NATS_INVALID_TIMEOUT: return NatsError::Kind::InvalidArgument;
    default: return NatsError::Kind::Other;
  }
}

// nats_GetLastError() reads "(conn.c:1905): Authorization Violation"; the source location is noise.
std::string lastErrorText() {
  natsStatus ignored = NATS_OK;
  const char* text = nats_GetLastError(&ignored);
  if (!text) return {};
  std::string_view view(text);
  if (view.starts_with('(')) {
    if (const auto end = view.find("): "); end != std::string_view::npos) view.remove_prefix(end + 3);
  }
  return std::string(view);
}

std::string errorStack() {
  std::array<char, 1024> buffer{};
  if (nats_GetLastErrorStack(buffer.data(), buffer.size()) != NATS_OK) return {};
  std::string out;
  for (const char c : std::string_view(buffer.data())) {
    if (c == '\n')
      out += ", ";
    else
      out += c;
  }
  return out;
}

}  // namespace

NatsError natsError(natsStatus status, std::string_view what) {
  const std::string statusText = natsStatus_GetText(status);
  std::string detail = lastErrorText();
  std::string message = detail.empty() || detail == statusText ? fmt::format("{}: {}", what, statusText)
                                                               : fmt::format("{}: {} ({})", what, detail, statusText);
  if (const auto stack = errorStack(); !stack.empty()) message += fmt::format(" [nats.c: {}]", stack);
  return NatsError(kindOf(status), static_cast<int>(status), message);
}

bool isRetryableConnectFailure(natsStatus status) noexcept {
  return kindOf(status) == NatsError::Kind::NotConnected || status == NATS_TIMEOUT || status == NATS_PROTOCOL_ERROR;
}

}  // namespace tcs::detail
