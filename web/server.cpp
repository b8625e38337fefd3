// SPDX-License-Identifier: MIT
#include "server.hpp"

#include <fmt/format.h>
#include <httplib.h>
#include <sys/random.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <fstream>
#include <map>
#include <mutex>
#include <regex>
#include <sstream>

#include "client_config.hpp"
#include "fleet_json.hpp"
#include "hosts_view.hpp"
#include "tcs/protocol/codec.hpp"
#include "tcs/protocol/payloads.hpp"

namespace tcs::web {
namespace fs = std::filesystem;
using Json = nlohmann::ordered_json;
using Clock = std::chrono::steady_clock;

namespace {

constexpr const char* kJson = "application/json; charset=utf-8";
constexpr std::size_t kMaxBody = 16 * 1024;  // a login or a control request is tiny
constexpr std::size_t kMaxIdLength = 256;
constexpr auto kSessionLifetime = std::chrono::hours(12);
constexpr int kMaxLoginFailures = 5;  // per minute, then 429 for a minute

void sendJson(httplib::Response& res, int status, const Json& body) {
  res.status = status;
  res.set_content(body.dump(), kJson);
}

void sendError(httplib::Response& res, int status, std::string_view code, std::string_view message) {
  sendJson(res, status, Json{{"error", code}, {"message", message}});
}

// Service ids, launcher ids: NATS tokens joined by dots (doc/protocol.md); anything else is
// refused before it reaches NATS.
bool validId(std::string_view id) {
  if (id.empty() || id.size() > kMaxIdLength || id.front() == '.' || id.back() == '.') return false;
  return std::all_of(id.begin(), id.end(),
                     [](unsigned char c) { return std::isalnum(c) || c == '_' || c == '-' || c == '.' || c == ':'; });
}

std::string randomToken() {
  unsigned char bytes[32];
  std::size_t got = 0;
  while (got < sizeof bytes) {
    const ssize_t n = getrandom(bytes + got, sizeof bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error("getrandom failed");
    }
    got += static_cast<std::size_t>(n);
  }
  std::string hex;
  for (unsigned char b : bytes) hex += fmt::format("{:02x}", b);
  return hex;
}

// The time taken does not depend on where the strings differ (their lengths may leak).
bool constantTimeEqual(std::string_view a, std::string_view b) {
  if (a.size() != b.size() || b.empty()) return false;
  unsigned char diff = 0;
  for (std::size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i]);
  return diff == 0;
}

std::string contentTypeOf(const fs::path& file) {
  const std::string ext = file.extension().string();
  if (ext == ".html") return "text/html; charset=utf-8";
  if (ext == ".js") return "text/javascript; charset=utf-8";
  if (ext == ".css") return "text/css; charset=utf-8";
  if (ext == ".svg") return "image/svg+xml";
  if (ext == ".png") return "image/png";
  if (ext == ".ico") return "image/x-icon";
  if (ext == ".json") return kJson;
  return "application/octet-stream";
}

// The HTTP status and code of a failed control operation.
void sendControlError(httplib::Response& res, const control::ControlError& e) {
  using K = control::ControlError::Kind;
  switch (e.kind()) {
    case K::NotFound: return sendError(res, 404, "not_found", e.what());
    case K::NoLauncher: return sendError(res, 409, "no_launcher", e.what());
    case K::Unreachable: return sendError(res, 504, "unreachable", e.what());
    case K::Refused: return sendError(res, 502, e.code().empty() ? "refused" : e.code(), e.what());
    case K::BadReply: return sendError(res, 502, "bad_reply", e.what());
    case K::NotPermitted:  // tcs-web's NATS user (a viewer's credentials) may not do it
      return sendError(res, 403, "not_permitted", e.what());
    case K::Ambiguous:  // the id is on two hosts: the caller must say HOST:SERVICE_ID
      return sendError(res, 409, "ambiguous", e.what());
  }
  sendError(res, 502, "error", e.what());
}

std::optional<int> intParam(const httplib::Request& req, const char* name, int lo, int hi, httplib::Response& res) {
  if (!req.has_param(name)) return std::nullopt;
  const std::string v = req.get_param_value(name);
  int n = 0;
  auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), n);
  if (ec != std::errc{} || end != v.data() + v.size() || n < lo || n > hi) {
    sendError(res, 400, "bad_request", fmt::format("{}: '{}' is not a number from {} to {}", name, v, lo, hi));
    throw std::invalid_argument(name);
  }
  return n;
}

}  // namespace

struct WebServer::Impl {
  FleetSource& source;
  FleetHub& hub;
  ServerOptions options;
  httplib::Server http;

  struct Session {
    std::string csrf;
    Clock::time_point expires;
  };
  std::mutex sessionsMutex;
  std::map<std::string, Session, std::less<>> sessions;
  std::deque<Clock::time_point> loginFailures;

  Impl(FleetSource& s, FleetHub& h, ServerOptions o) : source(s), hub(h), options(std::move(o)) {}

  // ---- static files ----------------------------------------------------------------------------
  void sendFile(httplib::Response& res, const std::string& name) {
    // Only plain names of the static directory: no '/', no '..', no hidden files.
    static const std::regex kName("[A-Za-z0-9_-][A-Za-z0-9_.-]{0,127}");
    if (!std::regex_match(name, kName) || name.find("..") != std::string::npos)
      return sendError(res, 404, "not_found", "no such file");
    const fs::path file = options.staticDir / name;
    std::error_code ec;
    if (!fs::is_regular_file(file, ec)) return sendError(res, 404, "not_found", fmt::format("no file '{}'", name));
    std::ifstream in(file, std::ios::binary);
    std::stringstream body;
    body << in.rdbuf();
    res.set_header("Cache-Control", "no-cache");
    res.set_content(body.str(), contentTypeOf(file).c_str());
  }

  // ---- sessions ----------------------------------------------------------------------------
  static std::string cookieValue(const httplib::Request& req, std::string_view name) {
    const std::string cookies = req.get_header_value("Cookie");
    std::string_view rest = cookies;
    while (!rest.empty()) {
      const auto semi = rest.find(';');
      std::string_view part = rest.substr(0, semi);
      rest = semi == std::string_view::npos ? std::string_view{} : rest.substr(semi + 1);
      while (!part.empty() && part.front() == ' ') part.remove_prefix(1);
      if (part.size() > name.size() && part.substr(0, name.size()) == name && part[name.size()] == '=')
        return std::string(part.substr(name.size() + 1));
    }
    return {};
  }

  // A request from another site's page is refused: the browser's Origin must be this server.
  static bool sameOrigin(const httplib::Request& req) {
    if (!req.has_header("Origin")) return true;  // not a browser's cross-site request (curl, tcsctl)
    const std::string origin = req.get_header_value("Origin");
    const std::string host = req.get_header_value("Host");
    return origin == "http://" + host || origin == "https://" + host;
  }

  void login(const httplib::Request& req, httplib::Response& res) {
    if (!options.settings.control) return sendError(res, 404, "control_disabled", "control is disabled (web.control)");
    if (!sameOrigin(req)) return sendError(res, 403, "cross_origin", "a request from another site is refused");
    const auto now = Clock::now();
    {
      std::lock_guard lock(sessionsMutex);
      while (!loginFailures.empty() && now - loginFailures.front() > std::chrono::minutes(1)) loginFailures.pop_front();
      if (loginFailures.size() >= kMaxLoginFailures)
        return sendError(res, 429, "too_many_attempts", "too many wrong passwords; try again in a minute");
    }
    Json body;
    try {
      body = Json::parse(req.body);
    } catch (const Json::exception&) {
      return sendError(res, 400, "bad_request", "the body must be JSON: {\"password\": \"…\"}");
    }
    if (!body.is_object() || !body.contains("password") || !body["password"].is_string())
      return sendError(res, 400, "bad_request", "the body must be JSON: {\"password\": \"…\"}");
    if (!constantTimeEqual(body["password"].get<std::string>(), options.operatorPassword)) {
      std::lock_guard lock(sessionsMutex);
      loginFailures.push_back(now);
      return sendError(res, 401, "wrong_password", "wrong operator password");
    }
    const std::string id = randomToken();
    const std::string csrf = randomToken();
    {
      std::lock_guard lock(sessionsMutex);
      std::erase_if(sessions, [&](const auto& kv) { return kv.second.expires < now; });
      sessions[id] = Session{csrf, now + kSessionLifetime};
    }
    res.set_header("Set-Cookie", fmt::format("tcs_session={}; HttpOnly; SameSite=Strict; Path=/; Max-Age={}", id,
                                             std::chrono::seconds(kSessionLifetime).count()));
    sendJson(res, 200, Json{{"csrf", csrf}});
  }

  // @return an empty string when the request may control, else it answered the refusal
  bool authorized(const httplib::Request& req, httplib::Response& res) {
    if (!sameOrigin(req)) {
      sendError(res, 403, "cross_origin", "a request from another site is refused");
      return false;
    }
    const std::string id = cookieValue(req, "tcs_session");
    std::lock_guard lock(sessionsMutex);
    auto it = sessions.find(id);
    if (id.empty() || it == sessions.end() || it->second.expires < Clock::now()) {
      sendError(res, 401, "no_session", "unlock control with the operator password first (POST /api/session)");
      return false;
    }
    if (!constantTimeEqual(req.get_header_value("X-CSRF-Token"), it->second.csrf)) {
      sendError(res, 403, "bad_csrf_token", "missing or wrong X-CSRF-Token header");
      return false;
    }
    return true;
  }

  // ---- API ---------------------------------------------------------------------------------
  void services(const httplib::Request& req, httplib::Response& res) {
    const bool all = req.has_param("all") && req.get_param_value("all") != "0";
    const std::string filter = req.get_param_value("filter");
    // ?host=tel1&host=tel2 or ?host=tel1,tel2: tcsctl's --host-filter
    std::vector<std::string> hostNames;
    for (std::size_t i = 0; i < req.get_param_value_count("host"); ++i) {
      const std::string v = req.get_param_value("host", i);
      std::size_t start = 0;
      while (start <= v.size()) {
        const auto comma = std::min(v.find(',', start), v.size());
        if (comma > start) hostNames.push_back(v.substr(start, comma - start));
        start = comma + 1;
      }
    }
    std::string text;
    source.withSnapshot([&](const control::Snapshot& s) {
      const auto listing = s.view.list(s.takenAt, {.all = all, .filter = filter}, hostNames);
      text = ctl::fleetJsonText(s.view, listing, s.takenAt, {.jetstream = s.jetstream, .notes = s.notes});
    });
    res.set_content(text, kJson);
  }

  void hosts(httplib::Response& res) {
    std::string text;
    source.withSnapshot([&](const control::Snapshot& s) {
      text = ctl::hostsJsonText(control::ServiceControlClient::hosts(s), s.takenAt, s.jetstream, s.notes);
    });
    res.set_content(text, kJson);
  }

  void service(const std::string& id, httplib::Response& res) {
    Json answer;
    source.withSnapshot([&](const control::Snapshot& s) {
      const FleetEntry* e = s.view.find(id);
      if (!e) return;
      const auto listing = s.view.list(s.takenAt, FleetQuery{.all = true, .filter = {}});
      for (const auto& row : listing.rows)
        if (row.entry == e) answer["service"] = ctl::serviceJson(row, s.takenAt);
      if (!answer.contains("service")) {  // not listed (a child of a hidden parent): a bare row
        FleetRow row;
        row.entry = e;
        answer["service"] = ctl::serviceJson(row, s.takenAt);
      }
      answer["details"] = e->lastReport ? ctl::reportJson(*e->lastReport)["details"] : Json(nullptr);
    });
    if (answer.empty()) return sendError(res, 404, "not_found", fmt::format("no service '{}' in the fleet", id));
    sendJson(res, 200, answer);
  }

  void logs(const httplib::Request& req, const std::string& id, httplib::Response& res) {
    protocol::LogsRequest request;
    try {
      if (auto n = intParam(req, "lines", 1, 1000, res)) request.lines = *n;
    } catch (const std::invalid_argument&) {
      return;
    }
    if (req.has_param("priority")) {
      const std::string p = req.get_param_value("priority");
      auto level = protocol::parseLogPriority(p);
      if (!level && p.size() == 1 && p[0] >= '0' && p[0] <= '7') level = p[0] - '0';
      if (!level)
        return sendError(res, 400, "bad_request", fmt::format("priority: '{}' is not 0-7 or emerg … debug", p));
      request.priority = level;
    }
    request.afterCursor = req.get_param_value("after");
    if (request.afterCursor.size() > 1024) return sendError(res, 400, "bad_request", "after: cursor too long");
    try {
      const auto reply = source.logs(id, request);
      Json entries = Json::array();
      for (const auto& e : reply.entries)
        entries.push_back(Json{{"timestamp", ctl::isoTime(e.timestamp)},
                               {"priority", e.priority},
                               {"identifier", e.identifier.empty() ? Json(nullptr) : Json(e.identifier)},
                               {"pid", e.pid ? Json(*e.pid) : Json(nullptr)},
                               {"message", e.message},
                               {"cursor", e.cursor}});
      sendJson(res, 200,
               Json{{"launcher_id", reply.launcherId},
                    {"service_id", reply.serviceId},
                    {"unit", reply.unit},
                    {"entries", std::move(entries)},
                    {"cursor", reply.cursor},
                    {"truncated", reply.truncated}});
    } catch (const control::ControlError& e) {
      sendControlError(res, e);
    }
  }

  void health(const std::string& id, httplib::Response& res) {
    try {
      sendJson(res, 200, Json(source.health(id)));
    } catch (const control::ControlError& e) {
      sendControlError(res, e);
    }
  }

  void act(const httplib::Request& req, const std::string& id, const std::string& action, httplib::Response& res) {
    if (!options.settings.control) return sendError(res, 404, "control_disabled", "control is disabled (web.control)");
    if (!authorized(req, res)) return;
    try {
      const auto reply = source.act(action, id);
      sendJson(res, 200, Json::parse(protocol::encodeData(reply)));
    } catch (const control::ControlError& e) {
      sendControlError(res, e);
    }
  }

  void events(const httplib::Request&, httplib::Response& res) {
    auto subscription = hub.subscribe();
    if (!subscription)
      return sendError(res, 503, "too_many_streams", "too many open event streams; close another page");
    res.set_header("Cache-Control", "no-cache");
    res.set_header("X-Accel-Buffering", "no");
    const auto keepAlive = options.keepAlive;
    auto first = std::make_shared<bool>(true);
    res.set_chunked_content_provider(
        "text/event-stream",
        [this, subscription, keepAlive, first](std::size_t, httplib::DataSink& sink) {
          if (*first) {
            *first = false;
            static constexpr std::string_view kRetry = "retry: 2000\n\n";
            if (!sink.write(kRetry.data(), kRetry.size())) return false;
          }
          std::vector<SseMessage> batch;
          if (!subscription->next(batch, keepAlive)) return false;  // the hub closed: stop
          if (batch.empty()) {
            static constexpr std::string_view kKeepAlive = ": keep-alive\n\n";
            return sink.write(kKeepAlive.data(), kKeepAlive.size());
          }
          const auto write = [&sink](std::string_view piece) { return sink.write(piece.data(), piece.size()); };
          for (const auto& m : batch)
            if (!writeSse(m, write)) return false;
          return true;
        },
        [this, subscription](bool) { hub.unsubscribe(subscription); });
  }

  void routes() {
    http.set_payload_max_length(kMaxBody);
    const std::size_t threads = options.threads;
    http.new_task_queue = [threads] { return new httplib::ThreadPool(threads); };
    http.set_default_headers({{"X-Content-Type-Options", "nosniff"},
                              {"X-Frame-Options", "DENY"},
                              {"Referrer-Policy", "no-referrer"},
                              {"Content-Security-Policy",
                               "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
                               "connect-src 'self'; frame-ancestors 'none'"}});

    http.Get("/", [this](const httplib::Request&, httplib::Response& res) { sendFile(res, "index.html"); });
    http.Get("/index.html", [this](const httplib::Request&, httplib::Response& res) { sendFile(res, "index.html"); });
    http.Get(R"(/static/([^/]+))",
             [this](const httplib::Request& req, httplib::Response& res) { sendFile(res, req.matches[1]); });
    http.Get("/api/config", [this](const httplib::Request&, httplib::Response& res) {
      std::string prefix;
      source.withSnapshot([&](const control::Snapshot& s) { prefix = s.view.prefix(); });
      sendJson(res, 200,
               Json{{"schema", "tcs.web/1"},
                    {"version", options.version},
                    {"prefix", prefix},
                    {"control", options.settings.control},
                    {"timeline", options.settings.timeline}});
    });
    http.Get("/api/services", [this](const httplib::Request& req, httplib::Response& res) { services(req, res); });
    http.Get("/api/hosts", [this](const httplib::Request&, httplib::Response& res) { hosts(res); });
    http.Get("/api/timeline",
             [this](const httplib::Request&, httplib::Response& res) { sendJson(res, 200, hub.timeline()); });
    http.Get("/api/events", [this](const httplib::Request& req, httplib::Response& res) { events(req, res); });
    http.Get(R"(/api/services/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string id = req.matches[1];
      if (!validId(id)) return sendError(res, 400, "bad_request", "not a service id");
      service(id, res);
    });
    http.Get(R"(/api/services/([^/]+)/health)", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string id = req.matches[1];
      if (!validId(id)) return sendError(res, 400, "bad_request", "not a service id");
      health(id, res);
    });
    http.Get(R"(/api/services/([^/]+)/logs)", [this](const httplib::Request& req, httplib::Response& res) {
      const std::string id = req.matches[1];
      if (!validId(id)) return sendError(res, 400, "bad_request", "not a service id");
      logs(req, id, res);
    });
    http.Post("/api/session", [this](const httplib::Request& req, httplib::Response& res) { login(req, res); });
    http.Post(R"(/api/services/([^/]+)/(start|stop|restart))",
              [this](const httplib::Request& req, httplib::Response& res) {
                const std::string id = req.matches[1];
                if (!validId(id)) return sendError(res, 400, "bad_request", "not a service id");
                act(req, id, req.matches[2], res);
              });

    // Every error is JSON with a message; never an empty body, never a crash.
    http.set_error_handler(
        httplib::Server::HandlerWithResponse([](const httplib::Request& req, httplib::Response& res) {
          if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
          const std::string message = res.status == 404   ? fmt::format("no {} {}", req.method, req.path)
                                      : res.status == 413 ? fmt::format("request body over {} bytes", kMaxBody)
                                      : res.status == 400
                                          ? std::string("malformed request (a POST needs a Content-Length header)")
                                          : fmt::format("HTTP {}", res.status);
          sendError(res, res.status, res.status == 404 ? "not_found" : "bad_request", message);
          return httplib::Server::HandlerResponse::Handled;
        }));
    http.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr ep) {
      std::string what = "unknown error";
      try {
        if (ep) std::rethrow_exception(ep);
      } catch (const std::exception& e) {
        what = e.what();
      } catch (...) {
      }
      sendError(res, 500, "internal_error", what);
    });
  }
};

WebServer::WebServer(FleetSource& source, FleetHub& hub, ServerOptions options)
    : impl_(std::make_unique<Impl>(source, hub, std::move(options))) {
  if (impl_->options.settings.control && impl_->options.operatorPassword.empty())
    throw WebConfigError("control is enabled without an operator password");
  if (!fs::is_regular_file(impl_->options.staticDir / "index.html"))
    throw WebConfigError(
        fmt::format("no index.html in the static directory {} (--static-dir)", impl_->options.staticDir.string()));
  impl_->routes();
}

WebServer::~WebServer() {
  stop();
}

int WebServer::bind(const std::string& host, int port) {
  const int bound = port == 0 ? impl_->http.bind_to_any_port(host) : (impl_->http.bind_to_port(host, port) ? port : -1);
  if (bound < 0)
    throw WebConfigError(fmt::format("cannot listen on {}:{}: {}", host, port,
                                     port == 0 ? "no free port" : "the address is in use or not local"));
  return bound;
}

void WebServer::run() {
  impl_->http.listen_after_bind();
}

void WebServer::stop() {
  impl_->hub.close();
  impl_->http.stop();
}

}  // namespace tcs::web
