// SPDX-License-Identifier: MIT
#pragma once

/**
 * @file
 * Exit statuses of every tcs program (services, tcs-supervisor, tcs-unitgen), in one place.
 * systemd reads them: the unit template's `RestartPreventExitStatus=` names kConfig, so a
 * configuration error is not restarted into the same failure. doc/services.md lists them.
 */
namespace tcs::exit_code {

inline constexpr int kOk = 0;       ///< clean stop, or single-shot success
inline constexpr int kFailure = 1;  ///< start failed, run()/cycle() threw, or stop timed out
inline constexpr int kUsage = 2;    ///< bad command line
inline constexpr int kConfig = 78;  ///< configuration error (sysexits EX_CONFIG)

}  // namespace tcs::exit_code
