// SPDX-License-Identifier: MIT
// A throwaway NATS decentralised-auth setup for tests: an operator, an account and a user, their
// NKeys (Ed25519 through OpenSSL) and JWTs, the server config that trusts them and the user's
// `.creds` file — what `nsc` would write, without needing nsc.
//
// NKey text: base32(prefix byte(s) + 32-byte key + CRC-16/XMODEM little-endian), RFC 4648
// alphabet, no padding. JWT: base64url(header).base64url(claims).base64url(Ed25519 signature of
// the first two parts by the issuer's key), header {"typ":"JWT","alg":"ed25519-nkey"}.
#pragma once

#include <openssl/evp.h>
#include <openssl/rand.h>

#include <array>
#include <cstdint>
#include <ctime>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace tcs::test {

class NKeyPair {
 public:
  enum class Type : std::uint8_t { Operator = 14 << 3, Account = 0, User = 20 << 3 };

  explicit NKeyPair(Type type) : type_(type) {
    if (RAND_bytes(seed_.data(), static_cast<int>(seed_.size())) != 1) throw std::runtime_error("RAND_bytes failed");
    key_.reset(EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, nullptr, seed_.data(), seed_.size()));
    if (!key_) throw std::runtime_error("cannot make an Ed25519 key");
    std::size_t len = public_.size();
    if (EVP_PKEY_get_raw_public_key(key_.get(), public_.data(), &len) != 1) throw std::runtime_error("no public key");
  }

  /** @return the public key text (`O…`, `A…`, `U…`) */
  std::string publicKey() const {
    std::vector<std::uint8_t> raw{static_cast<std::uint8_t>(type_)};
    raw.insert(raw.end(), public_.begin(), public_.end());
    return encode(raw);
  }
  /** @return the seed text (`SO…`, `SA…`, `SU…`) */
  std::string seed() const {
    const auto t = static_cast<std::uint8_t>(type_);
    std::vector<std::uint8_t> raw{static_cast<std::uint8_t>((18 << 3) | (t >> 5)),
                                  static_cast<std::uint8_t>((t & 31) << 3)};
    raw.insert(raw.end(), seed_.begin(), seed_.end());
    return encode(raw);
  }
  /** @return the JWT with @p natsClaims as its `nats` object, for @p subject, signed by this key */
  std::string signJwt(const std::string& subject, const std::string& name, const std::string& natsClaims) const {
    const std::string header = base64url(R"({"typ":"JWT","alg":"ed25519-nkey"})");
    const std::string claims =
        base64url(R"({"jti":")" + subject.substr(0, 20) + std::to_string(std::time(nullptr)) + R"(","iat":)" +
                  std::to_string(std::time(nullptr)) + R"(,"iss":")" + publicKey() + R"(","name":")" + name +
                  R"(","sub":")" + subject + R"(","nats":)" + natsClaims + "}");
    const std::string signedPart = header + "." + claims;
    std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(), &EVP_MD_CTX_free);
    std::array<unsigned char, 64> signature{};
    std::size_t length = signature.size();
    if (!ctx || EVP_DigestSignInit(ctx.get(), nullptr, nullptr, nullptr, key_.get()) != 1 ||
        EVP_DigestSign(ctx.get(), signature.data(), &length, reinterpret_cast<const unsigned char*>(signedPart.data()),
                       signedPart.size()) != 1)
      throw std::runtime_error("cannot sign the JWT");
    return signedPart + "." + base64url(std::string_view(reinterpret_cast<const char*>(signature.data()), length));
  }

 private:
  static std::string encode(std::vector<std::uint8_t> raw) {
    std::uint16_t crc = 0;  // CRC-16/XMODEM
    for (const auto byte : raw) {
      crc ^= static_cast<std::uint16_t>(byte << 8);
      for (int b = 0; b < 8; ++b) crc = static_cast<std::uint16_t>((crc & 0x8000) ? (crc << 1) ^ 0x1021 : crc << 1);
    }
    raw.push_back(static_cast<std::uint8_t>(crc & 0xff));
    raw.push_back(static_cast<std::uint8_t>(crc >> 8));
    static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (const auto byte : raw) {
      buffer = (buffer << 8) | byte;
      bits += 8;
      while (bits >= 5) {
        bits -= 5;
        out += kAlphabet[(buffer >> bits) & 31];
      }
    }
    if (bits > 0) out += kAlphabet[(buffer << (5 - bits)) & 31];
    return out;
  }
  static std::string base64url(std::string_view data) {
    static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    std::string out;
    unsigned buffer = 0;
    int bits = 0;
    for (const char c : data) {
      buffer = (buffer << 8) | static_cast<unsigned char>(c);
      bits += 8;
      while (bits >= 6) {
        bits -= 6;
        out += kAlphabet[(buffer >> bits) & 63];
      }
    }
    if (bits > 0) out += kAlphabet[(buffer << (6 - bits)) & 63];
    return out;
  }

  Type type_;
  std::array<unsigned char, 32> seed_{};
  std::array<unsigned char, 32> public_{};
  std::unique_ptr<EVP_PKEY, decltype(&EVP_PKEY_free)> key_{nullptr, &EVP_PKEY_free};
};

/** @brief An operator with one account and one user of it. */
struct JwtAuth {
  NKeyPair operatorKey{NKeyPair::Type::Operator};
  NKeyPair accountKey{NKeyPair::Type::Account};
  NKeyPair userKey{NKeyPair::Type::User};

  /** @return nats-server config lines that trust the operator and preload the account */
  std::string serverConfig() const {
    const std::string operatorJwt =
        operatorKey.signJwt(operatorKey.publicKey(), "test-operator", R"({"type":"operator","version":2})");
    const std::string accountJwt = operatorKey.signJwt(
        accountKey.publicKey(), "test-account",
        R"({"limits":{"subs":-1,"data":-1,"payload":-1,"imports":-1,"exports":-1,"wildcards":true,"conn":-1,"leaf":-1},)"
        R"("default_permissions":{"pub":{},"sub":{}},"type":"account","version":2})");
    return "operator: " + operatorJwt + "\nresolver: MEMORY\nresolver_preload: {\n  " + accountKey.publicKey() + ": " +
           accountJwt + "\n}\n";
  }
  /** @return the text of the user's `.creds` file (JWT + seed), as nsc writes it */
  std::string userCreds() const {
    const std::string userJwt =
        accountKey.signJwt(userKey.publicKey(), "test-user",
                           R"({"pub":{},"sub":{},"subs":-1,"data":-1,"payload":-1,"type":"user","version":2})");
    return "-----BEGIN NATS USER JWT-----\n" + userJwt +
           "\n------END NATS USER JWT------\n\n"
           "************************* IMPORTANT *************************\n"
           "NKEY Seed printed below can be used to sign and prove identity.\n\n"
           "-----BEGIN USER NKEY SEED-----\n" +
           userKey.seed() + "\n------END USER NKEY SEED------\n";
  }
};

}  // namespace tcs::test
