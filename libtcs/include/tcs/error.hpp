// SPDX-License-Identifier: MIT
#pragma once

#include <stdexcept>
#include <string>

#include "tcs/export.hpp"

namespace tcs {

/** @brief Base of every exception thrown by libtcs. */
class TCS_API Error : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

/**
 * @brief A configuration problem with its location.
 *
 * what() reads like a compiler diagnostic:
 * `services.yaml:12:14: services[2].restart: invalid value 'sometimes' (…)`.
 * Parts that are unknown are left out (no line for a missing file, no path for a syntax error).
 */
class TCS_API ConfigError : public Error {
 public:
  ConfigError(std::string file, int line, int column, std::string yamlPath, std::string message);

  const std::string& file() const noexcept { return file_; }
  int line() const noexcept { return line_; }
  int column() const noexcept { return column_; }
  const std::string& yamlPath() const noexcept { return yamlPath_; }
  /** @brief The message without location prefix. */
  const std::string& message() const noexcept { return message_; }

 private:
  std::string file_;
  int line_;
  int column_;
  std::string yamlPath_;
  std::string message_;
};

/**
 * @brief A NATS message or subject that does not follow the protocol (tcs/protocol.hpp).
 *
 * what() names where and what: `data.pid: expected an integer, got string`.
 */
class TCS_API ProtocolError : public Error {
 public:
  using Error::Error;
};

/**
 * @brief A NATS failure: nats.c's status, its text and the library's error stack in what().
 *
 * Thrown by tcs/nats.hpp. kind() lets callers react without knowing nats.c's status codes.
 */
class TCS_API NatsError : public Error {
 public:
  enum class Kind {
    Other,
    Config,        ///< a bad `nats:` setting or an unreadable secret/certificate file
    NotConnected,  ///< no server reachable (in time), or the connection is closed
    Timeout,
    NoResponders,
    AuthFailed,  ///< the server rejected the credentials
    Tls,
    InvalidArgument,
    NotPermitted  ///< the server's permissions for this user forbid the subject (publish or subscribe)
  };
  /** @param[in] status - nats.c's natsStatus value (0 when the error is not nats.c's) */
  NatsError(Kind kind, int status, const std::string& what) : Error(what), kind_(kind), status_(status) {}

  Kind kind() const noexcept { return kind_; }
  int status() const noexcept { return status_; }

 private:
  Kind kind_;
  int status_;
};

}  // namespace tcs
