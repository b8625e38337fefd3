// SPDX-License-Identifier: MIT
// tcs-web's HTTP layer on a loopback port, against a fed fleet view (the goldens' fleet): the
// JSON is tcsctl --json's (the same golden file, byte for byte), errors are JSON with a message
// and a 4xx/5xx status, never a crash; path traversal and oversized requests are refused;
// control needs the password's session and its CSRF token, and is absent when disabled; the
// event stream starts with the whole fleet and then carries changes.
#include "server.hpp"

#include <gtest/gtest.h>
#include <httplib.h>

#include <atomic>
#include <fstream>
#include <mutex>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>

#include "fleet_fixture.hpp"
#include "fleet_json.hpp"
#include "hosts_view.hpp"
#include "temp_dir.hpp"
#include "wait_until.hpp"

namespace {

namespace fx = tcs::test::fleet;
namespace p = tcs::protocol;
using nlohmann::json;
using tcs::control::ControlError;

const std::vector<std::string> kNotes{"JetStream not available: live messages only"};

std::string readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::ostringstream s;
  s << in.rdbuf();
  return s.str();
}

/// The goldens' fleet, as if read without JetStream at fx::kNow; control calls are recorded.
class FedSource : public tcs::web::FleetSource {
 public:
  FedSource() {
    snapshot.view = fx::buildFleet();
    snapshot.takenAt = fx::kNow;
    snapshot.jetstream = false;
    snapshot.notes = kNotes;
  }
  void withSnapshot(const std::function<void(const tcs::control::Snapshot&)>& fn) override {
    std::lock_guard lock(mutex);
    fn(snapshot);
  }
  json health(std::string_view id) override {
    if (id == "cam.main") return json{{"service_id", "cam.main"}, {"status", "ok"}, {"checks", json::object()}};
    throw ControlError(ControlError::Kind::Unreachable, "", std::string(id) + " does not answer");
  }
  p::LogsReply logs(std::string_view id, const p::LogsRequest& request) override {
    std::lock_guard lock(mutex);
    lastLogs = request;
    if (id != "cam.main") throw ControlError(ControlError::Kind::NotFound, "", "not in the fleet");
    p::LogsReply r;
    r.launcherId = "L1";
    r.serviceId = "cam.main";
    r.unit = "tcs@cam:main.service";
    p::LogEntry e;
    e.timestamp = fx::at(100);
    e.priority = 3;
    e.identifier = "cam";
    e.pid = 1101;
    e.message = "shutter jammed";
    e.cursor = "s=1";
    r.entries = {e};
    r.cursor = "s=1";
    return r;
  }
  p::LauncherActionReply act(std::string_view action, std::string_view id) override {
    std::lock_guard lock(mutex);
    actions.push_back(std::string(action) + " " + std::string(id));
    if (id == "focuser.main")
      throw ControlError(ControlError::Kind::Refused, "action_failed",
                         "launcher.L1 refused (action_failed): systemd job result 'failed'");
    p::LauncherActionReply r;
    r.launcherId = "L1";
    r.serviceId = std::string(id);
    r.result = "restarted";
    r.pid = 4242;
    return r;
  }

  std::mutex mutex;
  tcs::control::Snapshot snapshot;
  std::optional<p::LogsRequest> lastLogs;
  std::vector<std::string> actions;
};

class AWebServer : public ::testing::Test {
 protected:
  void start(bool control) {
    static_.write("index.html", "<!doctype html><title>tcs</title>");
    static_.write("app.js", "console.log('tcs');");
    secret_.write("secret.txt", "do not serve");
    tcs::web::ServerOptions o;
    o.settings.control = control;
    o.staticDir = static_.path();
    o.operatorPassword = control ? "operator-secret" : "";
    o.version = "0.1.0-test";
    o.keepAlive = std::chrono::milliseconds(200);
    hub.resync(source.snapshot.view, {false, kNotes}, fx::kNow);
    server = std::make_unique<tcs::web::WebServer>(source, hub, o);
    port = server->bind("127.0.0.1", 0);
    thread = std::thread([this] { server->run(); });
    client = std::make_unique<httplib::Client>("127.0.0.1", port);
    client->set_read_timeout(5, 0);
    ASSERT_TRUE(tcs::test::waitUntil([&] { return static_cast<bool>(client->Get("/api/config")); }));
  }
  void TearDown() override {
    if (server) server->stop();
    if (thread.joinable()) thread.join();
  }
  static void expectError(const httplib::Result& r, int status, const std::string& code) {
    ASSERT_TRUE(r) << "no response";
    EXPECT_EQ(r->status, status) << r->body;
    EXPECT_EQ(r->get_header_value("Content-Type"), "application/json; charset=utf-8");
    const auto body = json::parse(r->body);
    EXPECT_EQ(body["error"], code) << r->body;
    EXPECT_TRUE(body["message"].is_string() && !body["message"].get<std::string>().empty()) << r->body;
  }
  // @return the CSRF token of a new session (its cookie in `cookie`)
  std::string login() {
    auto r = client->Post("/api/session", R"({"password": "operator-secret"})", "application/json");
    EXPECT_TRUE(r && r->status == 200);
    cookie = r->get_header_value("Set-Cookie");
    EXPECT_NE(cookie.find("HttpOnly"), std::string::npos);
    EXPECT_NE(cookie.find("SameSite=Strict"), std::string::npos);
    cookie = cookie.substr(0, cookie.find(';'));
    return json::parse(r->body)["csrf"];
  }

  tcs::test::TempDir root_;
  tcs::test::TempDir static_;
  tcs::test::TempDir secret_;
  FedSource source;
  tcs::web::FleetHub hub;
  std::unique_ptr<tcs::web::WebServer> server;
  std::thread thread;
  int port = 0;
  std::unique_ptr<httplib::Client> client;
  std::string cookie;
};

TEST_F(AWebServer, ServesTheFleetAsTcsctlJsonDoesByteForByte) {
  start(false);
  auto r = client->Get("/api/services?all=1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, readFile(std::filesystem::path(TCS_TCSCTL_GOLDEN_DIR) / "fleet.json"));
  // The default listing is tcsctl's default (no stopped entries); the filter is tcsctl's.
  const auto listed = json::parse(client->Get("/api/services")->body);
  EXPECT_LT(listed["services"].size(), json::parse(r->body)["services"].size());
  const auto filtered = json::parse(client->Get("/api/services?filter=DOME")->body);
  for (const auto& row : filtered["services"]) EXPECT_NE(row["id"].get<std::string>().find("dome"), std::string::npos);
}

TEST_F(AWebServer, StreamsTheSameDocumentAsItsFirstEvent) {
  start(false);
  const auto golden = json::parse(readFile(std::filesystem::path(TCS_TCSCTL_GOLDEN_DIR) / "fleet.json"));
  EXPECT_EQ(json::parse(hub.fleetDocument()), golden);
}

TEST_F(AWebServer, ServesTheHostsAsTcsctlHostsJsonDoes) {
  start(false);
  auto r = client->Get("/api/hosts");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->body, tcs::ctl::hostsJsonText(tcs::control::ServiceControlClient::hosts(source.snapshot), fx::kNow,
                                             false, kNotes));
  EXPECT_EQ(json::parse(r->body)["hosts"][0]["launcher_id"], "L1");
}

TEST_F(AWebServer, ServesAServiceWithItsDetails) {
  start(false);
  const auto body = json::parse(client->Get("/api/services/dome.main")->body);
  EXPECT_EQ(body["service"]["id"], "dome.main");
  EXPECT_EQ(body["details"]["own_status"], "idle");
  EXPECT_EQ(body["details"]["children"].size(), 2u);
  expectError(client->Get("/api/services/nope.main"), 404, "not_found");
  expectError(client->Get("/api/services/bad%20id"), 400, "bad_request");
}

TEST_F(AWebServer, PassesHealthAndLogsThroughAndRefusesBadParameters) {
  start(false);
  EXPECT_EQ(json::parse(client->Get("/api/services/cam.main/health")->body)["status"], "ok");
  expectError(client->Get("/api/services/dome.main/health"), 504, "unreachable");
  auto r = client->Get("/api/services/cam.main/logs?lines=20&priority=warning&after=s%3D0");
  ASSERT_TRUE(r);
  const auto logs = json::parse(r->body);
  EXPECT_EQ(logs["unit"], "tcs@cam:main.service");
  EXPECT_EQ(logs["entries"][0]["message"], "shutter jammed");
  EXPECT_EQ(logs["entries"][0]["timestamp"], "2026-11-25T12:01:40.000Z");
  EXPECT_EQ(source.lastLogs->lines, 20);
  EXPECT_EQ(source.lastLogs->priority, 4);
  EXPECT_EQ(source.lastLogs->afterCursor, "s=0");
  expectError(client->Get("/api/services/cam.main/logs?lines=0"), 400, "bad_request");
  expectError(client->Get("/api/services/cam.main/logs?lines=1001"), 400, "bad_request");
  expectError(client->Get("/api/services/cam.main/logs?lines=ten"), 400, "bad_request");
  expectError(client->Get("/api/services/cam.main/logs?priority=loud"), 400, "bad_request");
  expectError(client->Get("/api/services/ssh.main/logs"), 404, "not_found");
}

TEST_F(AWebServer, ServesOnlyTheFilesOfItsStaticDirectory) {
  start(false);
  auto page = client->Get("/");
  ASSERT_TRUE(page);
  EXPECT_EQ(page->status, 200);
  EXPECT_EQ(page->get_header_value("Content-Type"), "text/html; charset=utf-8");
  EXPECT_EQ(client->Get("/static/app.js")->get_header_value("Content-Type"), "text/javascript; charset=utf-8");
  const std::string up = "../" + secret_.path().filename().string() + "/secret.txt";
  for (const std::string& path :
       {"/static/" + up, "/static/..%2F" + secret_.path().filename().string() + "%2Fsecret.txt",
        std::string("/static/.hidden"), std::string("/static/"), std::string("/static/..")}) {
    auto r = client->Get(path);
    ASSERT_TRUE(r) << path;
    EXPECT_EQ(r->status, 404) << path;
    EXPECT_EQ(r->body.find("do not serve"), std::string::npos) << path;
  }
  expectError(client->Get("/nothing/here"), 404, "not_found");
}

TEST_F(AWebServer, RefusesOversizedAndMalformedRequests) {
  start(true);
  expectError(client->Post("/api/session", std::string(100 * 1024, 'x'), "application/json"), 413, "bad_request");
  expectError(client->Post("/api/session", "{not json", "application/json"), 400, "bad_request");
  expectError(client->Post("/api/session", R"({"password": 7})", "application/json"), 400, "bad_request");
  EXPECT_EQ(client->Get("/api/config")->status, 200);  // still serving
}

TEST_F(AWebServer, HasNoControlWhenItIsDisabled) {
  start(false);
  EXPECT_EQ(json::parse(client->Get("/api/config")->body)["control"], false);
  expectError(client->Post("/api/session", R"({"password": ""})", "application/json"), 404, "control_disabled");
  expectError(client->Post("/api/services/cam.main/restart", "", "application/json"), 404, "control_disabled");
  EXPECT_TRUE(source.actions.empty());
}

TEST_F(AWebServer, ControlsOnlyWithTheSessionAndItsCsrfToken) {
  start(true);
  EXPECT_EQ(json::parse(client->Get("/api/config")->body)["control"], true);
  expectError(client->Post("/api/services/cam.main/restart", "", "application/json"), 401, "no_session");
  expectError(client->Post("/api/session", R"({"password": "guess"})", "application/json"), 401, "wrong_password");
  const std::string csrf = login();
  httplib::Headers noToken{{"Cookie", cookie}};
  expectError(client->Post("/api/services/cam.main/restart", noToken, "", "application/json"), 403, "bad_csrf_token");
  httplib::Headers crossSite{{"Cookie", cookie}, {"X-CSRF-Token", csrf}, {"Origin", "http://evil.example"}};
  expectError(client->Post("/api/services/cam.main/restart", crossSite, "", "application/json"), 403, "cross_origin");
  EXPECT_TRUE(source.actions.empty());
  httplib::Headers ok{{"Cookie", cookie}, {"X-CSRF-Token", csrf}};
  auto r = client->Post("/api/services/cam.main/restart", ok, "", "application/json");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->status, 200) << r->body;
  EXPECT_EQ(json::parse(r->body)["pid"], 4242);
  EXPECT_EQ(source.actions, std::vector<std::string>{"restart cam.main"});
  // The supervisor's refusal reaches the page with its code and message.
  expectError(client->Post("/api/services/focuser.main/stop", ok, "", "application/json"), 502, "action_failed");
}

TEST_F(AWebServer, SlowsDownPasswordGuessing) {
  start(true);
  for (int i = 0; i < 5; ++i)
    expectError(client->Post("/api/session", R"({"password": "guess"})", "application/json"), 401, "wrong_password");
  expectError(client->Post("/api/session", R"({"password": "operator-secret"})", "application/json"), 429,
              "too_many_attempts");
}

TEST_F(AWebServer, StreamsTheFleetThenItsChanges) {
  start(false);
  std::mutex m;
  std::string received;
  std::atomic<bool> done{false};
  std::thread reader([&] {
    httplib::Client c("127.0.0.1", port);
    c.set_read_timeout(5, 0);
    c.Get("/api/events", [&](const char* data, size_t n) {
      std::lock_guard lock(m);
      received.append(data, n);
      return !done.load();
    });
  });
  auto has = [&](const std::string& s) {
    std::lock_guard lock(m);
    return received.find(s) != std::string::npos;
  };
  ASSERT_TRUE(tcs::test::waitUntil([&] { return has("event: fleet\n"); }, std::chrono::seconds(5)));
  EXPECT_TRUE(has("retry: 2000\n"));
  {
    std::lock_guard lock(source.mutex);
    fx::Feed f{source.snapshot.view};
    f.crashed("mount.main", 601, -9, true, "always", "signal");
    hub.touch("mount.main");
    hub.flush(source.snapshot.view, fx::at(601));
  }
  ASSERT_TRUE(tcs::test::waitUntil([&] { return has("event: changes\n"); }, std::chrono::seconds(5)));
  EXPECT_TRUE(tcs::test::waitUntil([&] { return has(": keep-alive\n"); }, std::chrono::seconds(5)));
  std::string changes;
  {
    std::lock_guard lock(m);
    const auto at = received.find("event: changes\ndata: ");
    changes = received.substr(at + 21, received.find('\n', at + 21) - at - 21);
  }
  const auto data = json::parse(changes);
  ASSERT_EQ(data["services"].size(), 1u);
  EXPECT_EQ(data["services"][0]["id"], "mount.main");
  EXPECT_EQ(data["services"][0]["last_crash"]["result"], "signal");
  done = true;
  server->stop();  // ends the stream
  reader.join();
}

}  // namespace
