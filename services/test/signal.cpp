// SPDX-License-Identifier: MIT
// test.signal: runs for `run_duration` seconds (default 2), then kills itself with `signal`
// (a number or a name such as SIGSEGV, SIGABRT, SIGKILL; default SIGSEGV).
#include <csignal>
#include <cstring>
#include <string>
#include <tcs/tcs.hpp>

namespace {
int signalNumber(const tcs::config::Settings& s) {
  if (const auto* v = s.find("signal"); v && v->kind() == tcs::config::Value::Kind::String) {
    std::string name = v->stringValue();
    if (name.starts_with("SIG")) name = name.substr(3);
    for (int sig = 1; sig < NSIG; ++sig)
      if (const char* abbrev = sigabbrev_np(sig); abbrev && name == abbrev) return sig;
    throw tcs::ConfigError(s.file(), v->mark().line, v->mark().column, v->path(), "unknown signal '" + name + "'");
  }
  return s.get("signal", SIGSEGV);
}
}  // namespace

class Signal : public tcs::BlockingService {
  void onStart() override { sig_ = signalNumber(settings()); }
  void run() override {
    const double after = settings().get("run_duration", 2.0);
    log().info("running; killing myself with SIG{} in {} s", sigabbrev_np(sig_), after);
    if (!sleep(after)) return;
    std::signal(sig_, SIG_DFL);
    sigset_t all;
    sigfillset(&all);
    pthread_sigmask(SIG_UNBLOCK, &all, nullptr);
    ::kill(::getpid(), sig_);
  }
  int sig_ = SIGSEGV;
};

TCS_SERVICE(Signal, "test.signal")
