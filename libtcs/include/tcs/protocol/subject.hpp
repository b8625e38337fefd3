// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "tcs/export.hpp"

/**
 * @file
 * NATS subjects of the protocol: the builders, the filters, the name rules and parseSubject().
 */
namespace tcs::protocol {

/** @brief `nats.subject_prefix` when the config sets none. */
inline constexpr std::string_view kDefaultPrefix = "svc";
/** @brief The version token of every RPC subject. */
inline constexpr std::string_view kRpcVersion = "v1";

/** @brief True if @p token is a valid NATS subject token: not empty, no `.`, `*`, `>`,
 *         whitespace or control character. */
TCS_API bool isValidSubjectToken(std::string_view token) noexcept;

/** @brief True if @p name is one or more valid tokens joined by dots. */
TCS_API bool isValidSubjectName(std::string_view name) noexcept;

/**
 * @return `launcher.<launcher_id>`, the monitor name of a supervisor (launcher ids may contain
 *         dots, upstream's do: `launcher.launcher.bAVP2J.vm-process-launcher`)
 * @throws tcs::ProtocolError if the result is not a valid subject name
 */
TCS_API std::string launcherName(std::string_view launcherId);

/** @return `<launcher_id>.<type>`, the `runner_id` of registry events (upstream's shape: no variant) */
TCS_API std::string runnerId(std::string_view launcherId, std::string_view type);

/** @return the launcher id of a `launcher.<id>` name, nullopt for any other name */
TCS_API std::optional<std::string_view> launcherIdOf(std::string_view name) noexcept;

enum class SubjectKind { Status, Heartbeat, Registry, Rpc };

/** @brief The event token of `<P>.registry.<event>.<service_id>`; the enumerator order is the
 *         order of RegistryEvent::Specific's alternatives. */
enum class RegistryEventType { Declared, Start, Ready, Stopping, Stop, Crashed, Restarting, Failed, Duplicate };

TCS_API std::string_view toString(RegistryEventType type) noexcept;
TCS_API std::optional<RegistryEventType> parseRegistryEventType(std::string_view text) noexcept;

/** @brief The command token after `v1` in an RPC subject (new commands are appended, so the
 *         values of the older ones stay). */
enum class RpcCommand { Health, Stats, List, Start, Stop, Restart, Reload, ResetFailed, Logs };

TCS_API std::string_view toString(RpcCommand command) noexcept;
TCS_API std::optional<RpcCommand> parseRpcCommand(std::string_view text) noexcept;
/** @brief True for start, stop, restart, reset-failed and logs, whose subject ends with a
 *         service id. */
TCS_API bool takesServiceId(RpcCommand command) noexcept;

/**
 * @name Subject builders
 * @p prefix may contain dots (`ocm.svc`); names are service ids or `launcher.<id>`.
 * @throws tcs::ProtocolError when the prefix or a name is not a valid subject name
 * @{
 */
/** @return `<P>.status.<name>` */
TCS_API std::string statusSubject(std::string_view prefix, std::string_view name);
/** @return `<P>.heartbeat.<name>` */
TCS_API std::string heartbeatSubject(std::string_view prefix, std::string_view name);
/** @return `<P>.registry.<event>.<service_id>` */
TCS_API std::string registrySubject(std::string_view prefix, RegistryEventType event, std::string_view serviceId);
/**
 * @return `<P>.rpc.<name>.v1.<command>` or, for the commands of takesServiceId(),
 *         `<P>.rpc.<name>.v1.<command>.<service_id>`
 * @throws tcs::ProtocolError also when @p serviceId is given to a command that takes none or
 *         missing for one that needs it, and when the subject would not parse back to the same
 *         parts (a name with a `v1` token followed by a command token)
 */
TCS_API std::string rpcSubject(std::string_view prefix, std::string_view name, RpcCommand command,
                               std::string_view serviceId = {});

/** @return `<P>.status.>`, `<P>.heartbeat.>`, `<P>.registry.>` or `<P>.rpc.>` */
TCS_API std::string subjectFilter(std::string_view prefix, SubjectKind kind);
/** @return `<P>.registry.<event>.>` */
TCS_API std::string registryFilter(std::string_view prefix, RegistryEventType event);
/** @return `<P>.rpc.<name>.v1.>`, everything an RPC server for @p name subscribes to */
TCS_API std::string rpcFilter(std::string_view prefix, std::string_view name);
/** @} */

/** @brief A subject taken apart by parseSubject(). */
struct TCS_API Subject {
  SubjectKind kind = SubjectKind::Status;
  /** Status and heartbeat: the monitor name. Registry: the service id. RPC: the target name. */
  std::string name;
  /** Registry only: the event token as sent (it may be an event this version does not know). */
  std::string event;
  /** RPC only: the command token as sent (unknown commands are kept so they can be answered). */
  std::string command;
  /** RPC only: what follows the command (the service id of start, stop, restart, reset-failed
   *  and logs), else empty. */
  std::string argument;

  friend bool operator==(const Subject&, const Subject&) = default;
};

/**
 * @brief Takes a subject apart. Names are always the last tokens.
 *
 * RPC subjects are split at a `v1` token: the leftmost split whose command is known and has
 * the right arity wins (so a service named `camera.v1` works); when none fits, the leftmost
 * `v1` with at least one token before and after it (the command is then unknown, or has the
 * wrong arity, and the server answers with an error).
 *
 * @throws tcs::ProtocolError when the subject is not under @p prefix, has an invalid or empty
 *         token, an unknown kind (`status`, `heartbeat`, `registry`, `rpc`) or no name
 */
TCS_API Subject parseSubject(std::string_view prefix, std::string_view subject);

}  // namespace tcs::protocol
