// SPDX-License-Identifier: MIT
// Opening nats.c without initialising OpenSSL when no TLS is used (see openNatsLibrary()).
//
// RAND_METHOD is deprecated in OpenSSL 3 but is the one documented way to make RAND_bytes()
// use another source without OpenSSL building its provider and DRBG state first.
#define OPENSSL_SUPPRESS_DEPRECATED
#include <nats/nats.h>
#include <openssl/rand.h>
#include <sys/random.h>

#include <cerrno>
#include <cstddef>
#include <mutex>

#include "options.hpp"

namespace tcs::detail {
namespace {

// The kernel's CSPRNG, the source OpenSSL itself seeds its DRBG from.
int kernelRandomBytes(unsigned char* buffer, int size) {
  if (size < 0) return 0;
  std::size_t done = 0;
  while (done < static_cast<std::size_t>(size)) {
    const ssize_t n = ::getrandom(buffer + done, static_cast<std::size_t>(size) - done, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      return 0;
    }
    done += static_cast<std::size_t>(n);
  }
  return 1;
}

int kernelRandomStatus() {
  return 1;
}

const RAND_METHOD kKernelRandom = {nullptr, kernelRandomBytes, nullptr, nullptr, kernelRandomBytes, kernelRandomStatus};

}  // namespace

void openNatsLibrary() {
  static std::once_flag once;
  std::call_once(once, [] {
    // nats_Open() seeds nats.c's NUID prefix with one RAND_bytes() call. In OpenSSL 3 the first
    // RAND_bytes() of a process loads the configuration, the default provider and its DRBGs:
    // ~2 MiB more of libcrypto resident and ~0.2 MiB of heap, in every service, TLS or not
    // (bench/README.md). For that one call RAND_bytes() reads getrandom(2) instead; then the
    // method is reset to "none chosen", so TLS, NKey signing and a program's own use of OpenSSL
    // initialise OpenSSL as usual when they first need it. (RAND_get_rand_method() cannot be
    // used to save a previous method: it loads the configuration itself. A program that
    // installs a RAND method of its own does so after libtcs connected.)
    RAND_set_rand_method(&kKernelRandom);
    // A failure is not reported here: natsOptions_Create() opens the library again and fails
    // with nats.c's own error.
    (void)nats_Open(-1);
    RAND_set_rand_method(nullptr);
  });
}

}  // namespace tcs::detail
