// SPDX-License-Identifier: MIT
// NATS permissions per role (issue 17) against a real nats-server loaded with the shipped example
// packaging/nats/tcs-permissions.conf, its placeholder NKeys replaced by the test's own: a viewer's
// `tcsctl stop` is refused at once (exit 3), an operator's reaches the supervisor, a service cannot
// publish as another one nor call its supervisor's control RPC. The supervisor runs over a fake
// systemd and connects with the supervisor role's credentials.
#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <memory>
#include <regex>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "../supervisor/hello_supervisor.hpp"
#include "app.hpp"
#include "nats_jwt.hpp"
#include "nats_server.hpp"
#include "nats_tools.hpp"
#include "supervisor.hpp"
#include "tcs/jetstream.hpp"
#include "tcs/nats.hpp"
#include "tcs/protocol.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;
using tcs::test::NatsServer;
using tcs::test::NatsServerOptions;
using tcs::test::NKeyPair;
using tcs::test::TempDir;
using tcs::test::waitUntil;
using ::testing::HasSubstr;
using ::testing::Not;
namespace p = tcs::protocol;

const std::filesystem::path kExample = std::filesystem::path(TCS_SOURCE_DIR) / "packaging/nats/tcs-permissions.conf";
constexpr const char* kLauncher = "vm-systemd-launcher";  // the example's host

struct Outcome {
  int rc = -1;
  std::string out, err;
};

Outcome tcsctl(const std::vector<std::string>& args) {
  std::ostringstream out, err;
  tcs::ctl::Terminal t{out, err};
  t.tty = false;
  t.utf8 = true;
  t.width = 0;
  Outcome o;
  o.rc = tcs::ctl::run(args, t);
  o.out = out.str();
  o.err = err.str();
  return o;
}

/// @return the example's text with the public key variable @p name set to @p key (exactly one definition)
std::string withKey(const std::string& text, const std::string& name, const std::string& key) {
  const std::regex definition("^" + name + ": \"U[A-Z0-9]+\"$", std::regex::multiline);
  const auto count = std::distance(std::sregex_iterator(text.begin(), text.end(), definition), std::sregex_iterator());
  if (count != 1)
    throw std::runtime_error(name + " is defined " + std::to_string(count) + " times in " + kExample.string());
  return std::regex_replace(text, definition, name + ": \"" + key + "\"");
}

/// @return nats-server's exit status and output for `nats-server -c CONFIG -t`
std::pair<int, std::string> checkConfig(const std::filesystem::path& config) {
  const std::string command = NatsServer::binary()->string() + " -c '" + config.string() + "' -t 2>&1";
  std::FILE* pipe = ::popen(command.c_str(), "r");
  if (!pipe) throw std::runtime_error("popen failed");
  std::string output;
  char buffer[512];
  while (const auto n = std::fread(buffer, 1, sizeof buffer, pipe)) output.append(buffer, n);
  const int status = ::pclose(pipe);
  return {WIFEXITED(status) ? WEXITSTATUS(status) : -1, output};
}

// ---- the example as shipped -------------------------------------------------------------------------

TEST(TheExampleNatsPermissionsConfig, IsAcceptedByNatsServerAsShipped) {
  TCS_SKIP_WITHOUT_NATS_SERVER();
  TempDir dir;
  // nats-server resolves `include` relative to the including file: a copy next to it.
  std::ifstream in(kExample);
  const std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  ASSERT_FALSE(text.empty()) << kExample;
  dir.write("tcs-permissions.conf", text);
  const auto main = dir.write("nats-server.conf", "listen: \"127.0.0.1:" + std::to_string(NatsServer::freePort()) +
                                                      "\"\njetstream { store_dir: \"" + (dir / "js").string() +
                                                      "\" }\ninclude tcs-permissions.conf\n");
  const auto [rc, output] = checkConfig(main);
  EXPECT_EQ(rc, 0) << output;
  EXPECT_THAT(output, HasSubstr("is valid"));
  // The check can fail: a key that is not a user's public NKey is refused.
  dir.write("broken.conf", withKey(text, "VIEWER_NKEY", "UNOTAKEY"));
  const auto brokenMain = dir.write("broken-main.conf", "include broken.conf\n");
  const auto [brokenRc, brokenOutput] = checkConfig(brokenMain);
  EXPECT_NE(brokenRc, 0) << brokenOutput;
  EXPECT_THAT(brokenOutput, HasSubstr("nkey"));
}

// ---- the roles in a running server ------------------------------------------------------------------

class ANatsRole : public ::testing::Test {
 protected:
  void SetUp() override {
    TCS_SKIP_WITHOUT_NATS_SERVER();
    std::ifstream in(kExample);
    std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    for (const char* role :
         {"VIEWER", "OPERATOR", "SUPERVISOR_VM", "SERVICE_HELLO_WORLD_MAIN", "SERVICE_EXAMPLES_MINIMAL_DEV"}) {
      const NKeyPair key(NKeyPair::Type::User);
      text = withKey(text, std::string(role) + "_NKEY", key.publicKey());
      seeds_[role] = dir_.write(std::string("seeds/") + role + ".nk", key.seed() + "\n");
      std::filesystem::permissions(seeds_[role],
                                   std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
    }
    NatsServerOptions options;
    options.extraConfig = text;
    server_ = std::make_unique<NatsServer>(dir_ / "server", options);
    server_->start();

    supervisorNats_ = connect("SUPERVISOR_VM", "tcs-supervisor");
    tcs::JetStreamAdmin admin(*supervisorNats_);  // as tcs-supervisor does at start, with its role's rights
    for (const auto& [stream, kind] :
         {std::pair{"svc_registry", p::SubjectKind::Registry}, std::pair{"svc_status", p::SubjectKind::Status},
          std::pair{"svc_heartbeat", p::SubjectKind::Heartbeat}})
      ASSERT_NE(admin.ensureStream(
                    {stream, p::subjectFilter("svc", kind), 0s, -1, kind == p::SubjectKind::Registry ? 100 : 1}),
                tcs::StreamOutcome::Unavailable)
          << stream << "\n"
          << server_->log();
    supervisor_ = tcs::supervisor::test::startHelloWorldSupervisor(dir_, kLauncher, "vm", systemd_, *supervisorNats_);
    ASSERT_TRUE(supervisorNats_->flush(5s));
  }
  void TearDown() override {
    if (supervisor_) supervisor_->stop();
  }

  tcs::config::NatsConfig natsConfig(const std::string& role) const {
    tcs::config::NatsConfig c;
    c.present = true;
    c.host = "127.0.0.1";
    c.port = server_->port();
    c.subjectPrefix = "svc";
    c.nkeySeedFile = seeds_.at(role);
    return c;
  }
  std::unique_ptr<tcs::NatsConnection> connect(const std::string& role, const std::string& name) const {
    tcs::NatsOptions o;
    o.name = name;
    return std::make_unique<tcs::NatsConnection>(natsConfig(role), o);
  }
  /// tcsctl @p args as @p role (a config of the test's own naming the role's seed file)
  Outcome tcsctlAs(const std::string& role, std::vector<std::string> args) const {
    const auto config =
        dir_.write("tcsctl-" + role + ".yaml",
                   "nats:\n  subject_prefix: svc\n  nkey_seed_file: " + seeds_.at(role).string() + "\n");
    for (const auto& a : std::vector<std::string>{"-c", config.string(), "--host", "127.0.0.1", "--port",
                                                  std::to_string(server_->port())})
      args.push_back(a);
    return tcsctl(args);
  }
  bool systemdWasAsked(const std::string& call) {
    const auto calls = systemd_.calls();
    return std::find(calls.begin(), calls.end(), call) != calls.end();
  }

  TempDir dir_;
  std::map<std::string, std::filesystem::path> seeds_;
  std::unique_ptr<NatsServer> server_;
  tcs::supervisor::test::FakeSystemd systemd_;
  std::unique_ptr<tcs::NatsConnection> supervisorNats_;
  std::unique_ptr<tcs::supervisor::Supervisor> supervisor_;
};

using ANatsViewer = ANatsRole;
using ANatsOperator = ANatsRole;
using ANatsService = ANatsRole;

TEST_F(ANatsViewer, ListsTheFleetFromJetStream) {
  const auto o = tcsctlAs("VIEWER", {"--all"});
  EXPECT_EQ(o.rc, 0) << o.out << o.err;
  EXPECT_THAT(o.out, HasSubstr("hello_world.main"));
  EXPECT_THAT(o.err, Not(HasSubstr("ermission"))) << o.err;
}

TEST_F(ANatsViewer, CannotStopAService) {
  const auto start = Clock::now();
  const auto o = tcsctlAs("VIEWER", {"stop", "hello_world.main"});
  const auto took = Clock::now() - start;
  EXPECT_EQ(o.rc, 3) << o.out << o.err;
  EXPECT_THAT(o.err, HasSubstr("tcsctl: stop hello_world.main: not permitted: the NATS user may not publish to "
                               "svc.rpc.launcher.vm-systemd-launcher.v1.stop.hello_world.main"));
  EXPECT_THAT(o.err, HasSubstr("a viewer's credentials?"));
  EXPECT_EQ(o.out, "");
  EXPECT_LT(took, 10s) << "refused at once, not after the 65 s action timeout";
  EXPECT_FALSE(systemdWasAsked("stop tcs@hello_world:main.service"));
}

TEST_F(ANatsOperator, StopsAServiceThroughItsSupervisor) {
  const auto o = tcsctlAs("OPERATOR", {"stop", "hello_world.main"});
  EXPECT_EQ(o.rc, 0) << o.out << o.err;
  EXPECT_THAT(o.out, HasSubstr("hello_world.main on launcher.vm-systemd-launcher"));
  EXPECT_TRUE(systemdWasAsked("stop tcs@hello_world:main.service"));
}

TEST_F(ANatsService, CannotPublishAsAnotherService) {
  auto observer = connect("OPERATOR", "observer");
  tcs::test::Inbox seen;
  auto sub = observer->subscribe("svc.status.>", seen.handler());
  ASSERT_TRUE(observer->flush(5s));
  auto a = connect("SERVICE_HELLO_WORLD_MAIN", "hello_world.main");
  // The forged message goes first: had the server passed it on, it would arrive before A's own.
  a->publish("svc.status.examples.minimal.dev", "forged by hello_world.main");
  a->publish("svc.status.hello_world.main", "own");
  ASSERT_TRUE(a->flush(5s));
  ASSERT_TRUE(waitUntil([&] { return seen.size() >= 1; }, 5s)) << server_->log();
  EXPECT_THAT(seen.data(), ::testing::ElementsAre("own"));
  for (const auto& m : seen.messages()) EXPECT_EQ(m.subject, "svc.status.hello_world.main");
}

using ANatsSupervisor = ANatsRole;

TEST_F(ANatsSupervisor, WatchesItsServicesForADuplicateInstanceWithItsRolesRights) {
  // The supervisor's duplicate watch subscribes to <P>.status.> and <P>.heartbeat.>: its role
  // must allow that (read-only), or the server refuses the subscriptions and no `duplicate` comes.
  auto observer = connect("OPERATOR", "observer");
  tcs::test::Inbox seen;
  auto sub = observer->subscribe("svc.registry.duplicate.>", seen.handler());
  ASSERT_TRUE(observer->flush(5s));
  systemd_.callbacks.propertiesChanged(
      tcs::supervisor::PropertyChange{"tcs@hello_world:main.service",
                                      "/u",
                                      std::string(tcs::supervisor::kServiceInterface),
                                      {{"MainPID", std::uint64_t{321}},
                                       {"ExecMainPID", std::uint64_t{321}},
                                       {"ExecMainStartTimestamp", std::uint64_t{1795000000000000}}},
                                      {}});
  auto service = connect("SERVICE_HELLO_WORLD_MAIN", "hello_world.main");
  const auto send = [&](const std::string& host, std::int64_t pid, const std::string& sender) {
    p::Meta meta;
    meta.id = "msg";
    meta.sender = sender;
    meta.ts = p::now();
    p::StatusUpdate u;
    u.name = "hello_world.main";
    u.status = tcs::Status::Ok;
    u.timestamp = p::now();
    u.pid = pid;
    u.hostname = host;
    u.parent = "launcher." + host + "-systemd-launcher";
    service->publish("svc.status.hello_world.main", p::encode(u, meta));
    p::Heartbeat h;
    h.serviceId = "hello_world.main";
    h.timestamp = p::now();
    h.status = tcs::Status::Ok;
    service->publish("svc.heartbeat.hello_world.main", p::encode(h, meta));
    ASSERT_TRUE(service->flush(5s));
  };
  send("vm", 321, "Messenger_local");
  send("elsewhere", 999, "Messenger_other");  // the same id alive on another host
  send("vm", 321, "Messenger_local");
  ASSERT_TRUE(waitUntil([&] { return seen.size() >= 1; }, 5s)) << server_->log();
  EXPECT_EQ(seen.messages()[0].subject, "svc.registry.duplicate.hello_world.main");
}

TEST_F(ANatsService, CannotCallItsSupervisorsControlRpc) {
  auto a = connect("SERVICE_HELLO_WORLD_MAIN", "hello_world.main");
  const auto subject =
      p::rpcSubject("svc", p::launcherName(kLauncher), p::parseRpcCommand("stop").value(), "hello_world.main");
  const auto start = Clock::now();
  try {
    (void)a->request(subject, p::encode(p::RpcRequest{}, p::processMetaGenerator().next(p::kMessageTypeRpc)), 30s);
    FAIL() << "a service's credentials called " << subject;
  } catch (const tcs::NatsError& e) {
    EXPECT_EQ(e.kind(), tcs::NatsError::Kind::NotPermitted) << e.what();
    EXPECT_THAT(e.what(), HasSubstr("not permitted: the NATS user may not publish to " + subject));
  }
  EXPECT_LT(Clock::now() - start, 10s);
  EXPECT_FALSE(systemdWasAsked("stop tcs@hello_world:main.service"));
}

TEST_F(ANatsService, CredentialsListingTheFleetGetANoteInsteadOfAHang) {
  const auto start = Clock::now();
  const auto o = tcsctlAs("SERVICE_HELLO_WORLD_MAIN", {"--all"});
  EXPECT_LT(Clock::now() - start, 15s);
  // The table's notes: which request the server refused, instead of "JetStream is not enabled".
  EXPECT_THAT(o.out,
              HasSubstr("not permitted to read JetStream: Permissions Violation for Publish to \"$JS.API.INFO\""))
      << o.out << o.err;
  EXPECT_THAT(o.out, Not(HasSubstr("JetStream is not enabled")));
  EXPECT_THAT(o.out, Not(HasSubstr("hello_world.main")));
}

}  // namespace
