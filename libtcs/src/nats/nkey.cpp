// SPDX-License-Identifier: MIT
// The public key of a NATS user NKey seed. The Ed25519 derivation is OpenSSL's (libnats
// already links libcrypto); only the NKey text encoding (base32 + CRC-16) is done here.
#include "nkey.hpp"

#include <openssl/evp.h>

#include <algorithm>
#include <array>
#include <cstdint>
#include <memory>
#include <vector>

namespace tcs::detail {
namespace {

using u8 = std::uint8_t;

std::optional<std::array<u8, 32>> ed25519PublicKey(const std::array<u8, 32>& seed) {
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key(
      EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed.data(), seed.size()), &EVP_PKEY_free);
  if (!key) return std::nullopt;
  std::array<u8, 32> pub{};
  std::size_t len = pub.size();
  if (EVP_PKEY_get_raw_public_key(key.get(), pub.data(), &len) != 1 || len != pub.size()) return std::nullopt;
  return pub;
}

constexpr std::string_view kBase32 = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";

std::optional<std::vector<u8>> base32Decode(std::string_view text) {
  std::vector<u8> out;
  unsigned buffer = 0;
  int bits = 0;
  for (const char c : text) {
    const auto v = kBase32.find(c);
    if (v == std::string_view::npos) return std::nullopt;
    buffer = (buffer << 5) | static_cast<unsigned>(v);
    bits += 5;
    if (bits >= 8) {
      bits -= 8;
      out.push_back(static_cast<u8>(buffer >> bits));
    }
  }
  return out;
}

std::string base32Encode(const std::vector<u8>& data) {
  std::string out;
  unsigned buffer = 0;
  int bits = 0;
  for (const u8 byte : data) {
    buffer = (buffer << 8) | byte;
    bits += 8;
    while (bits >= 5) {
      bits -= 5;
      out += kBase32[(buffer >> bits) & 31];
    }
  }
  if (bits > 0) out += kBase32[(buffer << (5 - bits)) & 31];
  return out;
}

// CRC-16/XMODEM, as the NKey encoding uses.
std::uint16_t crc16(const u8* data, std::size_t size) {
  std::uint16_t crc = 0;
  for (std::size_t i = 0; i < size; ++i) {
    crc ^= static_cast<std::uint16_t>(data[i] << 8);
    for (int b = 0; b < 8; ++b) crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
  }
  return crc;
}

constexpr u8 kPrefixSeed = 18 << 3;
constexpr u8 kPrefixUser = 20 << 3;

}  // namespace

std::optional<std::string> nkeyUserPublicKey(std::string_view seed, std::string* why) {
  auto fail = [&](const char* reason) -> std::optional<std::string> {
    if (why) *why = reason;
    return std::nullopt;
  };
  auto raw = base32Decode(seed);
  if (!raw || raw->size() != 36) return fail("not a base32-encoded NKey seed");
  const std::uint16_t stored = static_cast<std::uint16_t>((*raw)[34] | ((*raw)[35] << 8));
  if (crc16(raw->data(), 34) != stored) return fail("NKey seed checksum mismatch");
  if (((*raw)[0] & 248) != kPrefixSeed) return fail("not an NKey seed (must start with 'S')");
  const u8 prefix = static_cast<u8>((((*raw)[0] & 7) << 5) | (((*raw)[1] & 248) >> 3));
  if (prefix != kPrefixUser) return fail("not a user NKey seed (must start with 'SU')");

  std::array<u8, 32> secret{};
  for (int i = 0; i < 32; ++i) secret[i] = (*raw)[2 + i];
  const auto publicKey = ed25519PublicKey(secret);
  secret.fill(0);
  std::fill(raw->begin(), raw->end(), u8{0});
  if (!publicKey) return fail("cannot derive the Ed25519 public key (OpenSSL)");

  std::vector<u8> encoded{kPrefixUser};
  encoded.insert(encoded.end(), publicKey->begin(), publicKey->end());
  const auto crc = crc16(encoded.data(), encoded.size());
  encoded.push_back(static_cast<u8>(crc & 0xff));
  encoded.push_back(static_cast<u8>(crc >> 8));
  return base32Encode(encoded);
}

}  // namespace tcs::detail
