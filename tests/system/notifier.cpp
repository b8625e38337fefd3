// SPDX-License-Identifier: MIT
// tcs-systest-notifier: a stand-in tcs service for the system tier (until the real service
// binaries exist). As the main process of a Type=notify, NotifyAccess=main unit it
//   - prints its argv, environment and credentials to stdout (the journal), one line each,
//     so a test can compare what systemd really passed with what the config asked for
//     (values in <…>: journald strips trailing whitespace from stdout lines);
//   - sends READY=1 itself (a `systemd-notify` child would be ignored under NotifyAccess=main);
//   - pings WATCHDOG=1 at a third of WATCHDOG_USEC when the watchdog is on;
//   - exits 0 on SIGTERM/SIGINT.
// It uses nothing but plain sockets and libc, so it runs under the template's sandbox.
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>

extern char** environ;

namespace {

volatile sig_atomic_t gStop = 0;

void onSignal(int) {
  gStop = 1;
}

bool notify(const std::string& message) {
  const char* path = std::getenv("NOTIFY_SOCKET");
  if (path == nullptr || path[0] == '\0') return false;
  sockaddr_un sa{};
  sa.sun_family = AF_UNIX;
  const std::size_t len = std::strlen(path);
  if (len >= sizeof(sa.sun_path)) return false;
  std::memcpy(sa.sun_path, path, len);
  const bool abstract = path[0] == '@';
  if (abstract) sa.sun_path[0] = '\0';
  const int fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return false;
  const auto salen = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + len + (abstract ? 0 : 1));
  const ssize_t n = ::sendto(fd, message.data(), message.size(), MSG_NOSIGNAL, reinterpret_cast<sockaddr*>(&sa), salen);
  const int saved = errno;
  ::close(fd);
  if (n < 0) std::fprintf(stderr, "tcs-systest notify failed: %s\n", std::strerror(saved));
  return n == static_cast<ssize_t>(message.size());
}

}  // namespace

int main(int argc, char** argv) {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  for (int i = 0; i < argc; ++i) std::printf("tcs-systest argv[%d]=<%s>\n", i, argv[i]);
  std::printf("tcs-systest argc=%d\n", argc);
  for (char** e = environ; *e != nullptr; ++e) std::printf("tcs-systest env <%s>\n", *e);
  std::printf("tcs-systest uid=%u gid=%u\n", static_cast<unsigned>(::getuid()), static_cast<unsigned>(::getgid()));

  struct sigaction sa {};
  sa.sa_handler = onSignal;
  ::sigaction(SIGTERM, &sa, nullptr);
  ::sigaction(SIGINT, &sa, nullptr);

  long long watchdogUsec = 0;
  if (const char* w = std::getenv("WATCHDOG_USEC")) {
    const char* pid = std::getenv("WATCHDOG_PID");
    if (pid == nullptr || std::atoll(pid) == static_cast<long long>(::getpid())) watchdogUsec = std::atoll(w);
  }
  const bool ready = notify("READY=1\nSTATUS=tcs-systest notifier running");
  std::printf("tcs-systest ready=%s watchdog_usec=%lld\n", ready ? "sent" : "not-sent", watchdogUsec);

  const long long periodUsec = watchdogUsec > 0 ? watchdogUsec / 3 : 1000000;
  const timespec period{static_cast<time_t>(periodUsec / 1000000), static_cast<long>(periodUsec % 1000000) * 1000};
  while (gStop == 0) {
    ::nanosleep(&period, nullptr);  // interrupted by SIGTERM: the loop ends
    if (watchdogUsec > 0 && gStop == 0) notify("WATCHDOG=1");
  }
  notify("STOPPING=1");
  std::printf("tcs-systest stopping\n");
  return 0;
}
