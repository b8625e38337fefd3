// SPDX-License-Identifier: MIT
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace tcs::detail {

/**
 * @brief The public key (`U…`) of a NATS user NKey seed (`SU…`).
 *
 * nats.c 3.4's natsOptions_SetNKeyFromSeed wants the public key next to the seed file, and
 * exports no way to derive it; an nkey seed file holds only the seed.
 * @return the key, or nullopt with @p why set when @p seed is not a valid user seed
 */
std::optional<std::string> nkeyUserPublicKey(std::string_view seed, std::string* why = nullptr);

}  // namespace tcs::detail
