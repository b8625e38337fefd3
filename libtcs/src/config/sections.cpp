// SPDX-License-Identifier: MIT
// The `nats:` and `registry:` sections of services.yaml.
#include "sections.hpp"

#include <fmt/format.h>

#include <algorithm>
#include <cctype>
#include <regex>

#include "scalars.hpp"
#include "suggest.hpp"
#include "tcs/unit_name.hpp"

namespace tcs::config {
namespace {

using Kind = Value::Kind;

constexpr std::string_view kNatsKeys[] = {
    "host",           "port",       "servers",        "required",      "subject_prefix",
    "config_subject", "user",       "password",       "password_file", "token",
    "token_file",     "creds_file", "nkey_seed_file", "tls",           "stream_replicas"};
constexpr std::string_view kTlsKeys[] = {"ca", "cert", "key"};

/** Reads one section's values, reporting to one Diagnostics. */
class SectionReader {
 public:
  SectionReader(Diagnostics& diagnostics, const std::filesystem::path& file) : d_(diagnostics), file_(file) {}

  std::optional<std::string> optString(const Value& section, std::string_view key) {
    const Value* v = section.find(key);
    if (!v || v->isNull()) return std::nullopt;
    if (v->kind() != Kind::String) {
      d_.error(*v, fmt::format("expected a string, got {} {}", Value::kindName(v->kind()), v->describe()));
      return std::nullopt;
    }
    return v->stringValue();
  }

  std::optional<std::filesystem::path> optPath(const Value& section, std::string_view key) {
    auto s = optString(section, key);
    if (!s) return std::nullopt;
    // unitgen writes the secret files into LoadCredential= lines, which end at a newline, lose
    // trailing whitespace, and take a backslash as an escape (at the end: the line continues).
    const bool control = hasControlChars(*s);
    const bool backslash = s->find('\\') != std::string::npos;
    if (control || backslash || (!s->empty() && std::isspace(static_cast<unsigned char>(s->back())))) {
      d_.error(*section.find(key), fmt::format("path {} {}", section.find(key)->describe(),
                                               control     ? "contains a control character"
                                               : backslash ? "contains a backslash (a unit file takes it as an escape)"
                                                           : "ends in whitespace"));
      return std::nullopt;
    }
    std::filesystem::path p{*s};
    if (p.is_relative()) p = file_.parent_path() / p;
    return p.lexically_normal();
  }

  void natsFromEnvironment(const Value* section, NatsConfig& nats, const Environment& env) {
    if (auto it = env.find("NATS_HOST"); it != env.end() && !it->second.empty()) nats.host = it->second;
    if (auto it = env.find("NATS_PORT"); it != env.end() && !it->second.empty()) {
      const Value* configured = section && section->kind() == Kind::Mapping ? section->find("port") : nullptr;
      if (auto p = pythonInt(it->second); p && *p > 0 && *p < 65536)
        nats.port = static_cast<int>(*p);
      else if (!configured || configured->isNull())  // like upstream, unread when nats.port is set
        d_.error(Mark{}, "$NATS_PORT (environment)", fmt::format("invalid port '{}' (expected 1-65535)", it->second));
    }
  }

  void warnUnknownNatsKeys(const Value& section) {
    for (const auto& [key, value] : section.entries()) {
      if (std::find(std::begin(kNatsKeys), std::end(kNatsKeys), key) != std::end(kNatsKeys)) continue;
      if (auto close = closeKnownKey(key, kNatsKeys))
        d_.warn(value.mark(), value.path(), fmt::format("unknown key '{}'; did you mean '{}'? (ignored)", key, *close));
      else
        d_.warn(value.mark(), value.path(), fmt::format("unknown key '{}' (ignored)", key));
    }
  }

  // host, port, servers, required, subject_prefix, stream_replicas, config_subject
  void natsServer(const Value* section, NatsConfig& nats) {
    if (auto h = optString(*section, "host")) {
      if (h->empty() || hasControlChars(*h) || h->find(' ') != std::string::npos)
        d_.error(*section->find("host"), fmt::format("invalid host {}", section->find("host")->describe()));
      else
        nats.host = *h;
    }
    if (const Value* p = section->find("port"); p && !p->isNull()) {
      std::optional<std::int64_t> port;
      if (p->kind() == Kind::Int) port = p->intValue();
      if (p->kind() == Kind::String) port = pythonInt(p->stringValue());
      if (!port || *port <= 0 || *port > 65535)
        d_.error(*p, fmt::format("invalid port {} (expected an integer 1-65535)", p->describe()));
      else
        nats.port = static_cast<int>(*port);
    }
    if (const Value* s = section->find("servers"); s && !s->isNull()) {
      std::vector<Value> items = s->kind() == Kind::Sequence ? s->items() : std::vector<Value>{*s};
      for (const auto& item : items) {
        if (item.kind() != Kind::String || item.stringValue().empty() || hasControlChars(item.stringValue()))
          d_.error(item, fmt::format("expected a server URL such as 'nats://host:4222', got {}", item.describe()));
        else
          nats.servers.push_back(item.stringValue());
      }
    }
    if (const Value* r = section->find("required"); r && !r->isNull()) {
      if (r->kind() == Kind::Bool)
        nats.required = r->boolValue();
      else
        d_.error(*r, fmt::format("expected true or false (unquoted), got {}", r->describe()));
    }
    if (auto prefix = optString(*section, "subject_prefix")) {
      static const std::regex token{R"([^\s.*>]+(\.[^\s.*>]+)*)"};
      if (!std::regex_match(*prefix, token) || hasControlChars(*prefix) || prefix->front() == '$')
        d_.error(*section->find("subject_prefix"),
                 fmt::format("invalid subject prefix {}: dot-separated NATS tokens without spaces, '*' or '>'",
                             section->find("subject_prefix")->describe()));
      else
        nats.subjectPrefix = *prefix;
    }
    if (const Value* n = section->find("stream_replicas"); n && !n->isNull()) {
      // JetStream allows 1-5 replicas; a string is refused like `required`'s (no quoting).
      if (n->kind() != Kind::Int || n->intValue() < 1 || n->intValue() > 5)
        d_.error(*n,
                 fmt::format("invalid stream_replicas {} (expected an integer 1-5, JetStream's range)", n->describe()));
      else
        nats.streamReplicas = static_cast<int>(n->intValue());
    }
    if (const Value* c = section->find("config_subject"); c && !c->isNull())
      d_.warn(c->mark(), c->path(), "config_subject is not implemented (upstream only logs a placeholder); ignored");
  }

  // user/password, token, files, tls
  void natsAuth(const Value* section, NatsConfig& nats) {
    nats.user = optString(*section, "user");
    nats.password = optString(*section, "password");
    nats.passwordFile = optPath(*section, "password_file");
    nats.token = optString(*section, "token");
    nats.tokenFile = optPath(*section, "token_file");
    nats.credsFile = optPath(*section, "creds_file");
    nats.nkeySeedFile = optPath(*section, "nkey_seed_file");
    if (nats.password && nats.passwordFile)
      d_.error(*section->find("password_file"), "give either password or password_file, not both");
    if (nats.token && nats.tokenFile)
      d_.error(*section->find("token_file"), "give either token or token_file, not both");
    if ((nats.password || nats.passwordFile) && !nats.user)
      d_.error(section->mark(), section->path(), "a password needs a user");
    natsTls(section->find("tls"), nats);
  }

  void natsTls(const Value* tls, NatsConfig& nats) {
    if (tls && !tls->isNull()) {
      if (tls->kind() != Kind::Mapping) {
        d_.error(*tls, fmt::format("expected a mapping with ca/cert/key, got {}", Value::kindName(tls->kind())));
      } else {
        for (const auto& [key, value] : tls->entries())
          if (std::find(std::begin(kTlsKeys), std::end(kTlsKeys), key) == std::end(kTlsKeys))
            d_.error(value, fmt::format("unknown key '{}' (allowed: ca, cert, key)", key));
        nats.tlsCa = optPath(*tls, "ca");
        nats.tlsCert = optPath(*tls, "cert");
        nats.tlsKey = optPath(*tls, "key");
        if (nats.tlsCert.has_value() != nats.tlsKey.has_value())
          d_.error(*tls, "a client certificate needs both 'cert' and 'key'");
      }
    }
  }

  Registry registry(const Value* section) {
    Registry out;
    if (!section || section->isNull()) return out;
    if (section->kind() != Kind::Mapping) {
      d_.error(*section, fmt::format("expected a mapping of service type to executable, got {}",
                                     Value::kindName(section->kind())));
      return out;
    }
    for (const auto& [type, value] : section->entries()) {
      if (!unit_name::isValidType(type)) {
        d_.error(value, fmt::format("invalid service type '{}': each dot-separated part must match {}", type,
                                    unit_name::kTokenPattern));
        out[type] = std::nullopt;
        continue;
      }
      if (value.isNull()) continue;  // ~: the built-in binary
      if (value.kind() != Kind::String || value.stringValue().empty()) {
        d_.error(value,
                 fmt::format("expected ~ (the built-in binary) or a path to an executable, got {}", value.describe()));
        out[type] = std::nullopt;
        continue;
      }
      const std::string& s = value.stringValue();
      if (hasControlChars(s)) {
        d_.error(value, fmt::format("path {} contains a control character", value.describe()));
        out[type] = std::nullopt;
        continue;
      }
      if (s.find('/') == std::string::npos) {
        d_.error(value, fmt::format("{} is not a path to an executable (upstream's Python module paths do not run "
                                    "under tcs): use ~ for the built-in '{}' binary, an absolute path, or './{}' "
                                    "for a file beside the config",
                                    value.describe(), type, s));
        out[type] = std::nullopt;
        continue;
      }
      // systemd refuses these in an ExecStart= program path ("contains special characters",
      // "specifies a directory"); a leading ~ is not expanded by anyone.
      if (s.find_first_of("\"'\\") != std::string::npos || s.back() == '/' || s.front() == '~') {
        d_.error(value, fmt::format("path {} cannot be an ExecStart= program: no quotes, backslashes, leading '~' or "
                                    "trailing '/'",
                                    value.describe()));
        out[type] = std::nullopt;
        continue;
      }
      std::filesystem::path p{s};
      if (p.is_relative()) p = file_.parent_path() / p;
      out[type] = p.lexically_normal();
    }
    return out;
  }

 private:
  Diagnostics& d_;
  const std::filesystem::path& file_;
};

}  // namespace

void readNats(const Value* section, NatsConfig& nats, Diagnostics& diagnostics, const Environment& environment,
              const std::filesystem::path& file) {
  SectionReader reader(diagnostics, file);
  reader.natsFromEnvironment(section, nats, environment);
  nats.present = section != nullptr;
  nats.required = nats.present;
  if (!section || section->isNull()) return;
  if (section->kind() != Kind::Mapping) {
    diagnostics.error(*section, fmt::format("expected a mapping, got {}", Value::kindName(section->kind())));
    return;
  }
  reader.warnUnknownNatsKeys(*section);
  reader.natsServer(section, nats);
  reader.natsAuth(section, nats);
}

Registry readRegistry(const Value* section, Diagnostics& diagnostics, const std::filesystem::path& file) {
  return SectionReader(diagnostics, file).registry(section);
}

}  // namespace tcs::config
