// SPDX-License-Identifier: MIT
// services.yaml → validated tcs::config::Config. The rules are in doc/config.md; this file
// keeps upstream's meaning (PyYAML 1.1 scalars, ${VAR} expansion, globals merged under
// entries, {TYPE}_{FIELD} env overrides) and adds the validation upstream lacks.
#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstring>
#include <fstream>
#include <regex>
#include <set>
#include <span>
#include <sstream>

#include "tcs/config.hpp"
#include "tcs/unit_name.hpp"

extern char** environ;

namespace tcs::config {

std::string_view toString(RestartPolicy policy) noexcept {
  switch (policy) {
    case RestartPolicy::No: return "no";
    case RestartPolicy::OnFailure: return "on-failure";
    case RestartPolicy::OnAbnormal: return "on-abnormal";
    case RestartPolicy::Always: return "always";
  }
  return "no";
}

std::string ServiceConfig::id() const {
  return unit_name::serviceId(type, variant);
}
std::string ServiceConfig::unitName() const {
  return unit_name::unitName(type, variant);
}
std::string ServiceConfig::yamlPath() const {
  return fmt::format("services[{}]", index);
}

std::string Diagnostic::format() const {
  std::string out = file;
  if (mark.line > 0) out += fmt::format(":{}:{}", mark.line, mark.column);
  out += severity == Severity::Error ? ": error: " : ": warning: ";
  if (!yamlPath.empty()) out += yamlPath + ": ";
  return out + message;
}

bool Diagnostic::isAt(std::string_view path) const noexcept {
  if (!yamlPath.starts_with(path)) return false;
  return yamlPath.size() == path.size() || yamlPath[path.size()] == '.' || yamlPath[path.size()] == '[';
}

const RejectedService* LoadResult::rejectedEntry(std::string_view type, std::string_view variant) const noexcept {
  for (const auto& r : rejected)
    if (r.type == type && r.variant == variant) return &r;
  return nullptr;
}

std::vector<Diagnostic> LoadResult::errorsAt(std::string_view yamlPath) const {
  std::vector<Diagnostic> out;
  for (const auto& d : diagnostics)
    if (d.severity == Diagnostic::Severity::Error && d.isAt(yamlPath)) out.push_back(d);
  return out;
}

bool LoadResult::ok() const noexcept {
  return errorCount() == 0;
}

std::size_t LoadResult::errorCount() const noexcept {
  return static_cast<std::size_t>(std::count_if(diagnostics.begin(), diagnostics.end(), [](const Diagnostic& d) {
    return d.severity == Diagnostic::Severity::Error;
  }));
}

const ServiceConfig* Config::find(std::string_view type, std::string_view variant) const noexcept {
  for (const auto& s : services_)
    if (s.type == type && s.variant == variant) return &s;
  return nullptr;
}

const ServiceConfig* Config::findById(std::string_view serviceId) const noexcept {
  for (const auto& s : services_)
    if (s.id() == serviceId) return &s;
  return nullptr;
}

Environment processEnvironment() {
  Environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view kv{*e};
    const auto eq = kv.find('=');
    if (eq == std::string_view::npos) continue;
    env.emplace(std::string{kv.substr(0, eq)}, std::string{kv.substr(eq + 1)});
  }
  return env;
}

std::string expandEnvironment(std::string_view text, const Environment& env, std::vector<std::string>* unresolved) {
  // Upstream: ${NAME} / ${NAME:-default}; NAME = [A-Za-z_][A-Za-z0-9_]*; the default runs to
  // the first '}'. No escapes. Unset and no default: the placeholder stays verbatim.
  std::string out;
  std::size_t i = 0;
  while (i < text.size()) {
    const auto start = text.find("${", i);
    if (start == std::string_view::npos) break;
    out.append(text.substr(i, start - i));
    std::size_t p = start + 2;
    const std::size_t nameStart = p;
    auto isAlpha = [](char c) { return std::isalpha(static_cast<unsigned char>(c)) || c == '_'; };
    auto isAlnum = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
    if (p < text.size() && isAlpha(text[p])) {
      ++p;
      while (p < text.size() && isAlnum(text[p])) ++p;
    }
    const std::string_view name = text.substr(nameStart, p - nameStart);
    std::optional<std::string_view> fallback;
    bool ok = !name.empty();
    if (ok && text.substr(p, 2) == ":-") {
      const auto close = text.find('}', p + 2);
      if (close == std::string_view::npos) {
        ok = false;
      } else {
        fallback = text.substr(p + 2, close - p - 2);
        p = close;
      }
    }
    if (!ok || p >= text.size() || text[p] != '}') {
      out += "${";  // not a reference: keep the text and continue after "${"
      i = start + 2;
      continue;
    }
    const std::string_view whole = text.substr(start, p + 1 - start);
    if (auto it = env.find(name); it != env.end()) {
      out += it->second;
    } else if (fallback) {
      out += *fallback;
    } else {
      out += whole;
      if (unresolved) unresolved->emplace_back(name);
    }
    i = p + 1;
  }
  if (i < text.size()) out.append(text.substr(i));
  return out;
}

namespace {

using Kind = Value::Kind;
using Severity = Diagnostic::Severity;

std::string childPath(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string{key} : fmt::format("{}.{}", parent, key);
}

std::string indexPath(const std::string& parent, std::size_t i) {
  return fmt::format("{}[{}]", parent, i);
}

Mark toMark(const YAML::Mark& m) {
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

std::string stripUnderscores(std::string_view s) {
  std::string out;
  for (char c : s)
    if (c != '_') out += c;
  return out;
}

// Parses an integer like Python's int(str): optional surrounding whitespace, sign, digits
// with single underscores between them.
std::optional<std::int64_t> pythonInt(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  static const std::regex re{R"([-+]?[0-9]+(_[0-9]+)*)"};
  const std::string str{s};
  if (!std::regex_match(str, re)) return std::nullopt;
  errno = 0;
  char* end = nullptr;
  const std::string digits = stripUnderscores(str);
  const long long v = std::strtoll(digits.c_str(), &end, 10);
  if (errno == ERANGE || *end != '\0') return std::nullopt;
  return v;
}

// Parses a float like Python's float(str) (decimal forms and inf/nan words).
std::optional<double> pythonFloat(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  static const std::regex re{R"([-+]?(([0-9]+(_[0-9]+)*)?\.?[0-9]*(_[0-9]+)*([eE][-+]?[0-9]+)?|inf|infinity|nan))",
                             std::regex::icase};
  const std::string str{s};
  if (str.empty() || !std::regex_match(str, re) || str == "." || str == "+." || str == "-.") return std::nullopt;
  const std::string digits = stripUnderscores(str);
  char* end = nullptr;
  const double v = std::strtod(digits.c_str(), &end);
  if (end == digits.c_str() || *end != '\0') return std::nullopt;
  return v;
}

// Upstream's whole-value conversion after ${…} expansion: contains '.' → float, else int,
// on failure the string stays.
Value convertWholeValue(std::string s, std::string path, Mark mark) {
  if (s.find('.') != std::string::npos) {
    if (auto d = pythonFloat(s)) return Value::real(*d, std::move(path), mark);
  } else if (auto i = pythonInt(s)) {
    return Value::integer(*i, std::move(path), mark);
  }
  return Value::string(std::move(s), std::move(path), mark);
}

// PyYAML (YAML 1.1) implicit resolution of a plain scalar.
Value resolvePlain(const std::string& s, std::string path, Mark mark) {
  static const std::set<std::string, std::less<>> nulls{"", "~", "null", "Null", "NULL"};
  static const std::set<std::string, std::less<>> trues{"yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"};
  static const std::set<std::string, std::less<>> falses{"no",    "No",  "NO",  "false", "False",
                                                         "FALSE", "off", "Off", "OFF"};
  if (s.size() <= 5) {
    if (nulls.count(s)) return Value::null(std::move(path), mark);
    if (trues.count(s)) return Value::boolean(true, std::move(path), mark);
    if (falses.count(s)) return Value::boolean(false, std::move(path), mark);
  }
  // Every int and float form starts with a digit, a sign or a dot; skip the regexes otherwise.
  const char first = s.empty() ? '\0' : s.front();
  if (!std::isdigit(static_cast<unsigned char>(first)) && first != '-' && first != '+' && first != '.')
    return Value::string(s, std::move(path), mark);

  static const std::regex decInt{R"([-+]?(0|[1-9][0-9_]*))"};
  static const std::regex octInt{R"([-+]?0[0-7_]+)"};
  static const std::regex hexInt{R"([-+]?0x[0-9a-fA-F_]+)"};
  static const std::regex binInt{R"([-+]?0b[01_]+)"};
  static const std::regex flt{R"([-+]?([0-9][0-9_]*)?\.[0-9_]*([eE][-+][0-9]+)?)"};
  static const std::regex inf{R"([-+]?\.(inf|Inf|INF))"};
  static const std::regex nan{R"(\.(nan|NaN|NAN))"};
  auto parseInt = [&](int base, std::size_t skip) -> std::optional<std::int64_t> {
    std::string digits = stripUnderscores(s);
    bool neg = false;
    if (!digits.empty() && (digits[0] == '-' || digits[0] == '+')) {
      neg = digits[0] == '-';
      digits.erase(0, 1);
    }
    digits.erase(0, skip);
    if (digits.empty()) return std::nullopt;
    errno = 0;
    char* end = nullptr;
    const long long v = std::strtoll(digits.c_str(), &end, base);
    if (errno == ERANGE || *end != '\0') return std::nullopt;
    return neg ? -v : v;
  };
  std::optional<std::int64_t> i;
  if (std::regex_match(s, decInt))
    i = parseInt(10, 0);
  else if (std::regex_match(s, hexInt))
    i = parseInt(16, 2);
  else if (std::regex_match(s, binInt))
    i = parseInt(2, 2);
  else if (std::regex_match(s, octInt))
    i = parseInt(8, 1);
  if (i) return Value::integer(*i, std::move(path), mark);
  if (std::regex_match(s, flt) && s != "." && s != "-." && s != "+.") {
    if (auto d = pythonFloat(stripUnderscores(s))) return Value::real(*d, std::move(path), mark);
  }
  if (std::regex_match(s, inf)) return Value::real(s[0] == '-' ? -HUGE_VAL : HUGE_VAL, std::move(path), mark);
  if (std::regex_match(s, nan)) return Value::real(std::nan(""), std::move(path), mark);
  return Value::string(s, std::move(path), mark);
}

std::size_t editDistance(std::string_view a, std::string_view b) {
  std::vector<std::size_t> prev(b.size() + 1), cur(b.size() + 1);
  for (std::size_t j = 0; j <= b.size(); ++j) prev[j] = j;
  for (std::size_t i = 1; i <= a.size(); ++i) {
    cur[0] = i;
    for (std::size_t j = 1; j <= b.size(); ++j)
      cur[j] = std::min({prev[j] + 1, cur[j - 1] + 1, prev[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1)});
    std::swap(prev, cur);
  }
  return prev[b.size()];
}

// The known key @p key is probably a misspelling of, if any.
std::optional<std::string_view> closeKnownKey(std::string_view key, std::span<const std::string_view> known) {
  if (key.size() < 4) return std::nullopt;
  std::string lower{key};
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  std::replace(lower.begin(), lower.end(), '-', '_');
  for (auto k : known) {
    if (k == key) return std::nullopt;
  }
  std::optional<std::string_view> best;
  std::size_t bestDistance = 3;
  for (auto k : known) {
    const std::size_t d = editDistance(lower, k);
    if (d < bestDistance) {
      bestDistance = d;
      best = k;
    }
  }
  return best;
}

bool hasControlChars(std::string_view s) {
  return std::any_of(s.begin(), s.end(), [](char c) {
    const auto u = static_cast<unsigned char>(c);
    return u < 0x20 || u == 0x7f;
  });
}

Value deepMerge(const Value& base, const Value& over) {
  if (base.kind() != Kind::Mapping || over.kind() != Kind::Mapping) return over;
  Value::Entries merged = base.entries();
  for (const auto& [key, value] : over.entries()) {
    auto it = std::find_if(merged.begin(), merged.end(), [&](const auto& e) { return e.first == key; });
    if (it == merged.end())
      merged.emplace_back(key, value);
    else
      it->second = deepMerge(it->second, value);
  }
  return Value::mapping(std::move(merged), over.path(), over.mark());
}

constexpr std::string_view kTopLevelKeys[] = {"nats", "registry", "services"};
constexpr std::string_view kServiceKeys[] = {
    "type",           "variant",   "instance_context", "restart",      "restart_sec", "restart_max",
    "restart_window", "log_level", "enabled",          "watchdog_sec", "after",       "requires",
    "environment",    "user",      "memory_max",       "cpu_quota",    "description", "module"};
constexpr std::string_view kNatsKeys[] = {
    "host",     "port",          "servers", "required",   "subject_prefix", "config_subject", "user",
    "password", "password_file", "token",   "token_file", "creds_file",     "nkey_seed_file", "tls"};
constexpr std::string_view kTlsKeys[] = {"ca", "cert", "key"};
// Identity keys are read from the entry itself, never inherited from top-level globals.
constexpr std::string_view kIdentityKeys[] = {"type", "variant", "instance_context"};

}  // namespace

/** Builds a Config from one YAML document; collects diagnostics on the way. */
class Loader {
 public:
  // @p file is what the model records (absolute after load()); @p displayName what messages show.
  Loader(std::filesystem::path file, std::string displayName, const LoadOptions& options)
      : file_(std::move(file)), fileName_(std::move(displayName)), options_(options) {}

  LoadResult run(std::string_view text) {
    if (hasControlChars(file_.string()))
      throw ConfigError(fileName_, 0, 0, "", "the config path contains a control character");
    YAML::Node doc;
    text_ = text;
    try {
      doc = YAML::Load(std::string{text});
    } catch (const YAML::Exception& e) {
      const Mark m = toMark(e.mark);
      throw ConfigError(fileName_, m.line, m.column, "", fmt::format("invalid YAML: {}", e.msg));
    }
    LoadResult result;
    result.config.path_ = file_;
    const Value root = convert(doc, "");
    if (root.isNull()) {
      warn({}, "", "the file is empty: no services are configured");
    } else if (root.kind() != Kind::Mapping) {
      throw ConfigError(
          fileName_, root.mark().line, root.mark().column, "",
          fmt::format("the top level must be a mapping with a 'services:' list, got {}", Value::kindName(root.kind())));
    } else {
      loadTopLevel(root, result.config);
    }
    result.diagnostics = std::move(diagnostics_);
    result.rejected = std::move(rejected_);
    return result;
  }

 private:
  // ---- diagnostics -------------------------------------------------------------------------
  void add(Severity sev, Mark mark, std::string path, std::string message) {
    diagnostics_.push_back({sev, fileName_, mark, std::move(path), std::move(message)});
  }
  void error(const Value& at, std::string message) { add(Severity::Error, at.mark(), at.path(), std::move(message)); }
  void error(Mark mark, std::string path, std::string message) {
    add(Severity::Error, mark, std::move(path), std::move(message));
  }
  void warn(Mark mark, std::string path, std::string message) {
    add(Severity::Warning, mark, std::move(path), std::move(message));
  }
  // Whether an error was reported at @p path or below it (e.g. a duplicate key inside an entry
  // found while reading the YAML, before the entry was validated).
  bool hasErrorBelow(const std::string& path) const {
    return std::any_of(diagnostics_.begin(), diagnostics_.end(),
                       [&](const Diagnostic& d) { return d.severity == Severity::Error && d.isAt(path); });
  }
  std::size_t errorCount() const {
    return static_cast<std::size_t>(std::count_if(diagnostics_.begin(), diagnostics_.end(),
                                                  [](const auto& d) { return d.severity == Severity::Error; }));
  }

  // ---- YAML → Value --------------------------------------------------------------------------
  Value convert(const YAML::Node& node, const std::string& path) {
    const Mark mark = toMark(node.Mark());
    switch (node.Type()) {
      case YAML::NodeType::Undefined:
      case YAML::NodeType::Null: return Value::null(path, mark);
      case YAML::NodeType::Scalar: return convertScalar(node, path, mark);
      case YAML::NodeType::Sequence: {
        std::vector<Value> items;
        std::size_t i = 0;
        for (const auto& child : node) items.push_back(convert(child, indexPath(path, i++)));
        return Value::sequence(std::move(items), path, mark);
      }
      case YAML::NodeType::Map: {
        Value::Entries entries;
        Value::Entries merged;  // from YAML 1.1 merge keys (`<<: *defaults`), which PyYAML honours
        std::map<std::string, Mark> seen;
        for (const auto& kv : node) {
          const Mark keyMark = toMark(kv.first.Mark());
          if (!kv.first.IsScalar()) {
            error(keyMark, path, "mapping keys must be plain strings");
            continue;
          }
          const std::string key = kv.first.Scalar();
          if (key == "<<" && kv.first.Tag() == "?") {
            mergeKey(kv.second, path, merged);
            continue;
          }
          const std::string p = childPath(path, key);
          if (auto [it, inserted] = seen.emplace(key, keyMark); !inserted) {
            error(keyMark, p, fmt::format("duplicate key '{}' (first at line {})", key, it->second.line));
            // PyYAML keeps the last value; do the same so a partial (generator) run means
            // what upstream would have meant.
            auto old = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == key; });
            if (old != entries.end()) old->second = convert(kv.second, p);
            continue;
          }
          entries.emplace_back(key, convert(kv.second, p));
        }
        if (!merged.empty()) {
          // PyYAML's order: merged keys first, explicit keys override them.
          for (auto& [key, value] : merged) {
            auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == key; });
            if (it != entries.end()) {
              value = std::move(it->second);
              entries.erase(it);
            }
          }
          merged.insert(merged.end(), std::make_move_iterator(entries.begin()), std::make_move_iterator(entries.end()));
          entries = std::move(merged);
        }
        return Value::mapping(std::move(entries), path, mark);
      }
    }
    return Value::null(path, mark);
  }

  // `<<: mapping` or `<<: [mapping, …]` into @p merged; an earlier mapping wins over a later one.
  void mergeKey(const YAML::Node& node, const std::string& path, Value::Entries& merged) {
    std::vector<YAML::Node> sources;
    if (node.IsMap()) sources.push_back(node);
    if (node.IsSequence())
      for (const auto& item : node) sources.push_back(item);
    for (const auto& source : sources) {
      if (!source.IsMap()) {
        const Mark m = toMark(source.Mark());
        error(m, childPath(path, "<<"), "the merge key '<<' needs a mapping or a list of mappings (such as *defaults)");
        return;
      }
      const Value converted = convert(source, path);
      for (const auto& [key, value] : converted.entries())
        if (std::none_of(merged.begin(), merged.end(), [&](const auto& e) { return e.first == key; }))
          merged.emplace_back(key, value);
    }
    if (sources.empty())
      error(toMark(node.Mark()), childPath(path, "<<"),
            "the merge key '<<' needs a mapping or a list of mappings (such as *defaults)");
  }

  // yaml-cpp 0.7 ends a quoted scalar that has no closing quote at the end of the file, silently
  // swallowing everything after it; PyYAML rejects it.
  void checkQuoteTerminated(const YAML::Node& node) {
    const YAML::Mark m = node.Mark();
    if (m.is_null() || m.pos < 0 || static_cast<std::size_t>(m.pos) >= text_.size()) return;
    const char quote = text_[static_cast<std::size_t>(m.pos)];
    if (quote != '"' && quote != '\'') return;
    for (std::size_t i = static_cast<std::size_t>(m.pos) + 1; i < text_.size(); ++i) {
      if (quote == '"' && text_[i] == '\\') {
        ++i;
      } else if (text_[i] == quote) {
        if (quote == '\'' && i + 1 < text_.size() && text_[i + 1] == '\'') {
          ++i;
          continue;
        }
        return;
      }
    }
    const Mark at = toMark(m);
    throw ConfigError(fileName_, at.line, at.column, "",
                      fmt::format("invalid YAML: unterminated {}-quoted string", quote == '"' ? "double" : "single"));
  }

  Value convertScalar(const YAML::Node& node, const std::string& path, Mark mark) {
    const std::string& text = node.Scalar();
    const std::string& tag = node.Tag();
    if (tag == "?") {
      Value v = resolvePlain(text, path, mark);
      return v.kind() == Kind::String ? expand(text, path, mark) : v;
    }
    if (tag == "tag:yaml.org,2002:int" || tag == "tag:yaml.org,2002:float" || tag == "tag:yaml.org,2002:bool" ||
        tag == "tag:yaml.org,2002:null") {
      Value v = resolvePlain(text, path, mark);
      if (v.kind() == Kind::String) error(mark, path, fmt::format("'{}' does not match its tag {}", text, tag));
      return v;
    }
    if (tag == "!") checkQuoteTerminated(node);
    return expand(text, path, mark);  // quoted ("!") or !!str or an unknown tag: a string
  }

  Value expand(const std::string& text, const std::string& path, Mark mark) {
    if (text.find("${") == std::string::npos) return Value::string(text, path, mark);
    std::vector<std::string> unresolved;
    std::string expanded = expandEnvironment(text, options_.environment, &unresolved);
    for (const auto& name : unresolved)
      warn(mark, path,
           fmt::format("environment variable '{}' is not set and has no default; keeping '${{{}}}'", name, name));
    static const std::regex whole{R"(\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\})"};
    if (unresolved.empty() && std::regex_match(text, whole)) return convertWholeValue(std::move(expanded), path, mark);
    return Value::string(std::move(expanded), path, mark);
  }

  // ---- top level -----------------------------------------------------------------------------
  void loadTopLevel(const Value& root, Config& config) {
    Value::Entries globals;
    for (const auto& [key, value] : root.entries()) {
      if (key == "nats" || key == "registry" || key == "services") continue;
      if (auto close = closeKnownKey(key, kTopLevelKeys))
        warn(value.mark(), key,
             fmt::format("unknown top-level key '{}'; did you mean '{}'? (kept as a global setting)", key, *close));
      if (std::find(std::begin(kIdentityKeys), std::end(kIdentityKeys), key) != std::end(kIdentityKeys)) {
        warn(value.mark(), key, fmt::format("'{}' is a per-service key and is ignored at the top level", key));
        continue;
      }
      globals.emplace_back(key, value);
    }
    globals_ = Value::mapping(std::move(globals), "", root.mark());

    loadNats(root.find("nats"), config.nats_);
    loadRegistry(root.find("registry"));

    const Value* services = root.find("services");
    if (!services || services->isNull()) {
      warn(services ? services->mark() : root.mark(), "services", "no services are configured");
      return;
    }
    if (services->kind() != Kind::Sequence) {
      error(*services,
            fmt::format("must be a list of service entries ('- type: …'), got {}", Value::kindName(services->kind())));
      return;
    }
    std::vector<ServiceConfig> candidates;
    for (std::size_t i = 0; i < services->items().size(); ++i) {
      const std::size_t before = errorCount();
      auto svc = loadService(services->items()[i], static_cast<int>(i));
      if (svc && errorCount() == before && !hasErrorBelow(services->items()[i].path()))
        candidates.push_back(std::move(*svc));
      else if (auto id = identityOf(services->items()[i]))
        rejected_.push_back({id->type, id->variant, static_cast<int>(i)});
    }
    checkDuplicatesAndReferences(candidates, config.services_);
  }

  // ---- nats ----------------------------------------------------------------------------------
  std::optional<std::string> optString(const Value& section, std::string_view key) {
    const Value* v = section.find(key);
    if (!v || v->isNull()) return std::nullopt;
    if (v->kind() != Kind::String) {
      error(*v, fmt::format("expected a string, got {} {}", Value::kindName(v->kind()), v->describe()));
      return std::nullopt;
    }
    return v->stringValue();
  }

  std::optional<std::filesystem::path> optPath(const Value& section, std::string_view key) {
    auto s = optString(section, key);
    if (!s) return std::nullopt;
    std::filesystem::path p{*s};
    if (p.is_relative()) p = file_.parent_path() / p;
    return p.lexically_normal();
  }

  void loadNats(const Value* section, NatsConfig& nats) {
    const auto& env = options_.environment;
    if (auto it = env.find("NATS_HOST"); it != env.end() && !it->second.empty()) nats.host = it->second;
    if (auto it = env.find("NATS_PORT"); it != env.end() && !it->second.empty()) {
      const Value* configured = section && section->kind() == Kind::Mapping ? section->find("port") : nullptr;
      if (auto p = pythonInt(it->second); p && *p > 0 && *p < 65536)
        nats.port = static_cast<int>(*p);
      else if (!configured || configured->isNull())  // like upstream, unread when nats.port is set
        error(Mark{}, "$NATS_PORT (environment)", fmt::format("invalid port '{}' (expected 1-65535)", it->second));
    }
    nats.present = section != nullptr;
    nats.required = nats.present;
    if (!section || section->isNull()) return;
    if (section->kind() != Kind::Mapping) {
      error(*section, fmt::format("expected a mapping, got {}", Value::kindName(section->kind())));
      return;
    }
    for (const auto& [key, value] : section->entries()) {
      if (std::find(std::begin(kNatsKeys), std::end(kNatsKeys), key) != std::end(kNatsKeys)) continue;
      if (auto close = closeKnownKey(key, kNatsKeys))
        warn(value.mark(), value.path(), fmt::format("unknown key '{}'; did you mean '{}'? (ignored)", key, *close));
      else
        warn(value.mark(), value.path(), fmt::format("unknown key '{}' (ignored)", key));
    }
    if (auto h = optString(*section, "host")) {
      if (h->empty() || hasControlChars(*h) || h->find(' ') != std::string::npos)
        error(*section->find("host"), fmt::format("invalid host {}", section->find("host")->describe()));
      else
        nats.host = *h;
    }
    if (const Value* p = section->find("port"); p && !p->isNull()) {
      std::optional<std::int64_t> port;
      if (p->kind() == Kind::Int) port = p->intValue();
      if (p->kind() == Kind::String) port = pythonInt(p->stringValue());
      if (!port || *port <= 0 || *port > 65535)
        error(*p, fmt::format("invalid port {} (expected an integer 1-65535)", p->describe()));
      else
        nats.port = static_cast<int>(*port);
    }
    if (const Value* s = section->find("servers"); s && !s->isNull()) {
      std::vector<Value> items = s->kind() == Kind::Sequence ? s->items() : std::vector<Value>{*s};
      for (const auto& item : items) {
        if (item.kind() != Kind::String || item.stringValue().empty() || hasControlChars(item.stringValue()))
          error(item, fmt::format("expected a server URL such as 'nats://host:4222', got {}", item.describe()));
        else
          nats.servers.push_back(item.stringValue());
      }
    }
    if (const Value* r = section->find("required"); r && !r->isNull()) {
      if (r->kind() == Kind::Bool)
        nats.required = r->boolValue();
      else
        error(*r, fmt::format("expected true or false (unquoted), got {}", r->describe()));
    }
    if (auto prefix = optString(*section, "subject_prefix")) {
      static const std::regex token{R"([^\s.*>]+(\.[^\s.*>]+)*)"};
      if (!std::regex_match(*prefix, token) || hasControlChars(*prefix) || prefix->front() == '$')
        error(*section->find("subject_prefix"),
              fmt::format("invalid subject prefix {}: dot-separated NATS tokens without spaces, '*' or '>'",
                          section->find("subject_prefix")->describe()));
      else
        nats.subjectPrefix = *prefix;
    }
    if (const Value* c = section->find("config_subject"); c && !c->isNull())
      warn(c->mark(), c->path(), "config_subject is not implemented (upstream only logs a placeholder); ignored");
    nats.user = optString(*section, "user");
    nats.password = optString(*section, "password");
    nats.passwordFile = optPath(*section, "password_file");
    nats.token = optString(*section, "token");
    nats.tokenFile = optPath(*section, "token_file");
    nats.credsFile = optPath(*section, "creds_file");
    nats.nkeySeedFile = optPath(*section, "nkey_seed_file");
    if (nats.password && nats.passwordFile)
      error(*section->find("password_file"), "give either password or password_file, not both");
    if (nats.token && nats.tokenFile) error(*section->find("token_file"), "give either token or token_file, not both");
    if ((nats.password || nats.passwordFile) && !nats.user)
      error(section->mark(), section->path(), "a password needs a user");
    if (const Value* tls = section->find("tls"); tls && !tls->isNull()) {
      if (tls->kind() != Kind::Mapping) {
        error(*tls, fmt::format("expected a mapping with ca/cert/key, got {}", Value::kindName(tls->kind())));
      } else {
        for (const auto& [key, value] : tls->entries())
          if (std::find(std::begin(kTlsKeys), std::end(kTlsKeys), key) == std::end(kTlsKeys))
            error(value, fmt::format("unknown key '{}' (allowed: ca, cert, key)", key));
        nats.tlsCa = optPath(*tls, "ca");
        nats.tlsCert = optPath(*tls, "cert");
        nats.tlsKey = optPath(*tls, "key");
        if (nats.tlsCert.has_value() != nats.tlsKey.has_value())
          error(*tls, "a client certificate needs both 'cert' and 'key'");
      }
    }
  }

  // ---- registry ------------------------------------------------------------------------------
  void loadRegistry(const Value* section) {
    if (!section || section->isNull()) return;
    if (section->kind() != Kind::Mapping) {
      error(*section,
            fmt::format("expected a mapping of service type to executable, got {}", Value::kindName(section->kind())));
      return;
    }
    for (const auto& [type, value] : section->entries()) {
      if (!unit_name::isValidType(type)) {
        error(value, fmt::format("invalid service type '{}': each dot-separated part must match {}", type,
                                 unit_name::kTokenPattern));
        registry_[type] = std::nullopt;
        continue;
      }
      if (value.isNull()) continue;  // ~: the built-in binary
      if (value.kind() != Kind::String || value.stringValue().empty()) {
        error(value,
              fmt::format("expected ~ (the built-in binary) or a path to an executable, got {}", value.describe()));
        registry_[type] = std::nullopt;
        continue;
      }
      const std::string& s = value.stringValue();
      if (hasControlChars(s)) {
        error(value, fmt::format("path {} contains a control character", value.describe()));
        registry_[type] = std::nullopt;
        continue;
      }
      if (s.find('/') == std::string::npos) {
        error(value, fmt::format("{} is not a path to an executable (upstream's Python module paths do not run "
                                 "under tcs): use ~ for the built-in '{}' binary, an absolute path, or './{}' "
                                 "for a file beside the config",
                                 value.describe(), type, s));
        registry_[type] = std::nullopt;
        continue;
      }
      // systemd refuses these in an ExecStart= program path ("contains special characters",
      // "specifies a directory"); a leading ~ is not expanded by anyone.
      if (s.find_first_of("\"'\\") != std::string::npos || s.back() == '/' || s.front() == '~') {
        error(value, fmt::format("path {} cannot be an ExecStart= program: no quotes, backslashes, leading '~' or "
                                 "trailing '/'",
                                 value.describe()));
        registry_[type] = std::nullopt;
        continue;
      }
      std::filesystem::path p{s};
      if (p.is_relative()) p = file_.parent_path() / p;
      registry_[type] = p.lexically_normal();
    }
  }

  // ---- services ------------------------------------------------------------------------------
  template <typename F>
  void withValue(const Value& entry, std::string_view key, F&& f) {
    const Value* v = entry.find(key);
    if (v && !v->isNull()) f(*v);
  }

  // Seconds above a year are surely a mistake, and would overflow systemd's usec fields.
  static constexpr double kMaxSeconds = 365.0 * 24 * 3600;

  std::optional<double> number(const Value& v, double min, bool allowMin, std::string_view what,
                               double max = kMaxSeconds) {
    std::optional<double> d;
    if (v.kind() == Kind::Int) d = static_cast<double>(v.intValue());
    if (v.kind() == Kind::Double) d = v.doubleValue();
    if (v.kind() == Kind::String) d = pythonFloat(v.stringValue());  // upstream: float(value)
    if (!d || !std::isfinite(*d) || *d < min || (!allowMin && *d == min) || *d > max) {
      error(v, fmt::format("invalid value {} (expected {})", v.describe(), what));
      return std::nullopt;
    }
    return d;
  }

  std::optional<std::string> unitString(const Value& v, std::string_view what) {
    std::string s;
    switch (v.kind()) {
      case Kind::String: s = v.stringValue(); break;
      case Kind::Int:
      case Kind::Double: s = v.describe(); break;
      case Kind::Bool: s = v.boolValue() ? "true" : "false"; break;
      default: error(v, fmt::format("expected {}, got {}", what, Value::kindName(v.kind()))); return std::nullopt;
    }
    if (hasControlChars(s)) {
      error(v, fmt::format("value {} contains a newline or control character, which may not reach a unit file",
                           v.describe()));
      return std::nullopt;
    }
    return s;
  }

  std::vector<std::string> serviceIds(const Value& v, int index) {
    std::vector<Value> items = v.kind() == Kind::Sequence ? v.items() : std::vector<Value>{v};
    std::vector<std::string> ids;
    for (const auto& item : items) {
      if (item.kind() != Kind::String || !unit_name::parseServiceId(item.stringValue())) {
        error(item,
              fmt::format("expected a service id '<type>.<variant>' of a configured service, got {}", item.describe()));
        continue;
      }
      ids.push_back(item.stringValue());
      refs_.push_back({index, item.stringValue(), item.mark(), item.path()});
    }
    return ids;
  }

  // Type and variant of an entry, when they are readable, even if the rest is invalid.
  static std::optional<unit_name::Parsed> identityOf(const Value& entry) {
    if (entry.kind() != Kind::Mapping) return std::nullopt;
    const Value* type = entry.find("type");
    if (!type || type->kind() != Kind::String || !unit_name::isValidType(type->stringValue())) return std::nullopt;
    std::string variant = "dev";
    for (const char* key : {"variant", "instance_context"}) {
      const Value* v = entry.find(key);
      if (v && v->kind() == Kind::String && !v->stringValue().empty()) {
        variant = v->stringValue();
        break;
      }
    }
    if (!unit_name::isValidToken(variant)) return std::nullopt;
    return unit_name::Parsed{type->stringValue(), variant};
  }

  std::optional<ServiceConfig> loadService(const Value& entry, int index) {
    if (entry.kind() != Kind::Mapping) {
      error(entry, fmt::format("a service entry must be a mapping with at least 'type:', got {}",
                               Value::kindName(entry.kind())));
      return std::nullopt;
    }
    ServiceConfig s;
    s.index = index;
    s.mark = entry.mark();
    const std::string path = entry.path();

    for (const auto& [key, value] : entry.entries())
      if (auto close = closeKnownKey(key, kServiceKeys))
        warn(value.mark(), value.path(),
             fmt::format("unknown key '{}'; did you mean '{}'? (kept as a service setting)", key, *close));

    // Identity: from the entry only.
    const Value* type = entry.find("type");
    if (!type || type->isNull()) {
      error(entry.mark(), path, "missing required key 'type'");
      return std::nullopt;
    }
    if (type->kind() != Kind::String || !unit_name::isValidType(type->stringValue())) {
      error(*type, fmt::format("invalid service type {}: dot-separated parts, each matching {}", type->describe(),
                               unit_name::kTokenPattern));
      return std::nullopt;
    }
    s.type = type->stringValue();
    const Value* variant = entry.find("variant");
    const Value* legacy = entry.find("instance_context");
    for (const Value* v : {variant, legacy}) {
      if (v && v->kind() == Kind::Bool) {
        error(*v, fmt::format("{} was read as a YAML boolean (unquoted yes/no/on/off/true/false); quote the variant, "
                              "e.g. \"off\"",
                              v->describe()));
        return std::nullopt;
      }
    }
    // Upstream: `variant or instance_context or "dev"` (Python truthiness: "" and 0 are false).
    auto truthy = [](const Value* v) {
      return v && !v->isNull() && !(v->kind() == Kind::String && v->stringValue().empty()) &&
             !(v->kind() == Kind::Int && v->intValue() == 0);
    };
    const Value* chosen = truthy(variant) ? variant : (truthy(legacy) ? legacy : nullptr);
    if (truthy(variant) && truthy(legacy) && variant->describe() != legacy->describe())
      warn(legacy->mark(), legacy->path(),
           fmt::format("both variant and legacy instance_context are set; using variant {}", variant->describe()));
    if (chosen) {
      std::string v;
      if (chosen->kind() == Kind::String)
        v = chosen->stringValue();
      else if (chosen->kind() == Kind::Int)
        v = std::to_string(chosen->intValue());
      else
        v = chosen->describe();
      if (v.find('.') != std::string::npos) {
        error(*chosen, fmt::format("invalid variant {}: a variant may not contain dots (the service id "
                                   "'<type>.<variant>' is split at its last dot)",
                                   chosen->describe()));
        return std::nullopt;
      }
      if (!unit_name::isValidToken(v)) {
        error(*chosen, fmt::format("invalid variant {}: must match {}", chosen->describe(), unit_name::kTokenPattern));
        return std::nullopt;
      }
      s.variant = v;
    } else {
      s.variant = "dev";
    }
    if (s.unitName().size() > unit_name::kMaxUnitNameLength) {
      error(entry.mark(), path,
            fmt::format("unit name '{}' is longer than systemd's limit of {} characters", s.unitName(),
                        unit_name::kMaxUnitNameLength));
      return std::nullopt;
    }

    // Everything else: the entry over the top-level globals.
    const Value merged = deepMerge(globals_, entry);
    withValue(merged, "restart", [&](const Value& v) {
      if (v.kind() == Kind::Bool && !v.boolValue()) {
        s.restart = RestartPolicy::No;  // unquoted YAML `no`
        return;
      }
      const std::string word = v.kind() == Kind::String ? v.stringValue() : "";
      if (word == "no")
        s.restart = RestartPolicy::No;
      else if (word == "on-failure")
        s.restart = RestartPolicy::OnFailure;
      else if (word == "on-abnormal")
        s.restart = RestartPolicy::OnAbnormal;
      else if (word == "always")
        s.restart = RestartPolicy::Always;
      else
        error(v,
              fmt::format("invalid value {} (expected one of: \"no\", on-failure, on-abnormal, always)", v.describe()));
    });
    withValue(merged, "restart_sec", [&](const Value& v) {
      if (auto d = number(v, 0, true, "seconds from 0 to 31536000")) s.restartSec = *d;
    });
    withValue(merged, "restart_max", [&](const Value& v) {
      std::optional<std::int64_t> i;
      if (v.kind() == Kind::Int) i = v.intValue();
      if (v.kind() == Kind::String) i = pythonInt(v.stringValue());
      if (v.kind() == Kind::Double && v.doubleValue() == std::trunc(v.doubleValue()))
        i = static_cast<std::int64_t>(v.doubleValue());
      if (!i || *i < 0 || *i > 1000000)
        error(v,
              fmt::format("invalid value {} (expected a whole number of restarts >= 0; 0 = unlimited)", v.describe()));
      else
        s.restartMax = static_cast<int>(*i);
    });
    withValue(merged, "restart_window", [&](const Value& v) {
      if (auto d = number(v, 0, false, "seconds > 0, at most 31536000")) s.restartWindow = *d;
    });
    withValue(merged, "log_level", [&](const Value& v) {
      auto level = v.kind() == Kind::String ? parseLogLevel(v.stringValue()) : std::nullopt;
      if (!level)
        error(v, fmt::format("invalid value {} (expected DEBUG, INFO, WARNING, ERROR or CRITICAL)", v.describe()));
      else
        s.logLevel = *level;
    });
    withValue(merged, "enabled", [&](const Value& v) {
      if (v.kind() != Kind::Bool)
        error(v, fmt::format("expected true or false (unquoted), got {}", v.describe()));
      else
        s.enabled = v.boolValue();
    });
    withValue(merged, "watchdog_sec", [&](const Value& v) {
      if (auto d = number(v, 0, true, "seconds from 0 to 31536000; 0 disables the watchdog")) s.watchdogSec = *d;
    });
    withValue(merged, "after", [&](const Value& v) { s.after = serviceIds(v, index); });
    withValue(merged, "requires", [&](const Value& v) { s.requires_ = serviceIds(v, index); });
    withValue(merged, "environment", [&](const Value& v) {
      if (v.kind() != Kind::Mapping) {
        error(v, fmt::format("expected a mapping NAME: value, got {}", Value::kindName(v.kind())));
        return;
      }
      static const std::regex name{R"([A-Za-z_][A-Za-z0-9_]*)"};
      for (const auto& [key, value] : v.entries()) {
        if (!std::regex_match(key, name)) {
          error(value, fmt::format("invalid environment variable name '{}' (expected [A-Za-z_][A-Za-z0-9_]*)", key));
          continue;
        }
        if (key.starts_with("TCS_")) {
          error(value, fmt::format("'{}' is reserved: TCS_* variables are set by tcs-unitgen", key));
          continue;
        }
        if (value.isNull()) {
          s.environment.emplace_back(key, "");
          continue;
        }
        if (auto str = unitString(value, "a scalar value")) s.environment.emplace_back(key, *str);
      }
    });
    withValue(merged, "user", [&](const Value& v) {
      static const std::regex re{R"([a-z_][a-z0-9_-]{0,31})"};
      if (v.kind() != Kind::String || !std::regex_match(v.stringValue(), re))
        error(v, fmt::format("invalid user name {} (expected [a-z_][a-z0-9_-]{{0,31}})", v.describe()));
      else
        s.user = v.stringValue();
    });
    withValue(merged, "memory_max", [&](const Value& v) {
      // systemd: whole bytes, or a fraction with a K/M/G/T suffix, or a percentage with at most
      // two decimals; anything else it silently reads differently or ignores.
      static const std::regex re{R"([0-9]+|[0-9]+(\.[0-9]+)?[KMGT]|[0-9]+(\.[0-9]{1,2})?%|infinity)"};
      auto str = unitString(v, "a size such as 512M");
      if (!str) return;
      if (!std::regex_match(*str, re))
        error(v, fmt::format("invalid value {} (expected whole bytes, a size with a K/M/G/T suffix such as 1.5G, a "
                             "percentage with at most two decimals, or infinity)",
                             v.describe()));
      else
        s.memoryMax = *str;
    });
    withValue(merged, "cpu_quota", [&](const Value& v) {
      static const std::regex re{R"([0-9]+(\.[0-9]{1,2})?%)"};  // systemd takes two decimals at most
      if (v.kind() == Kind::Int || v.kind() == Kind::Double) {
        auto d = number(v, 0, false, "a percentage > 0 such as 50%", 1e6);
        if (d && std::abs(*d * 100 - std::round(*d * 100)) > 1e-6)
          error(v, fmt::format("invalid value {} (at most two decimals, such as 33.33)", v.describe()));
        else if (d)
          s.cpuQuota = fmt::format("{}%", *d);
        return;
      }
      auto str = unitString(v, "a percentage such as 50%");
      if (!str) return;
      if (!std::regex_match(*str, re) || pythonFloat(str->substr(0, str->size() - 1)).value_or(0) <= 0)
        error(v, fmt::format("invalid value {} (expected a percentage > 0 with at most two decimals, such as 50% or "
                             "150%)",
                             v.describe()));
      else
        s.cpuQuota = *str;
    });
    withValue(merged, "description", [&](const Value& v) {
      auto str = unitString(v, "a string");
      if (str && str->ends_with('\\'))  // systemd would join the next line to Description=
        error(v, fmt::format("description {} may not end with a backslash", v.describe()));
      else if (str)
        s.description = *str;
    });
    withValue(entry, "module", [&](const Value& v) {
      warn(v.mark(), v.path(),
           "'module' is ignored since upstream 1.0; map the type to an executable under 'registry:'");
    });

    // Executable.
    if (auto it = registry_.find(s.type); it != registry_.end()) {
      if (!it->second) {
        error(entry.mark(), path, fmt::format("type '{}' has no usable executable (see registry.{})", s.type, s.type));
        return std::nullopt;
      }
      s.executable = *it->second;
    } else {
      s.executable = options_.builtinServiceDir / s.type;
    }

    // Settings: merged entry, then {TYPE}_{FIELD} env vars under it.
    Value::Entries settings = merged.entries();
    std::string prefix = s.type;
    std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                   [](unsigned char c) { return c == '.' ? '_' : std::toupper(c); });
    prefix += '_';
    for (const auto& [name, text] : options_.environment) {
      if (!name.starts_with(prefix) || name.size() == prefix.size()) continue;
      std::string field = name.substr(prefix.size());
      std::transform(field.begin(), field.end(), field.begin(), [](unsigned char c) { return std::tolower(c); });
      if (std::any_of(settings.begin(), settings.end(), [&](const auto& e) { return e.first == field; })) continue;
      settings.emplace_back(field, envOverrideValue(text, fmt::format("${} (environment)", name)));
    }
    s.settings = Settings(fileName_, Value::mapping(std::move(settings), path, entry.mark()));
    return s;
  }

  // {TYPE}_{FIELD}: upstream's conversion except that "1"/"0" stay numbers.
  static Value envOverrideValue(const std::string& text, std::string path) {
    std::string lower = text;
    std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
    if (lower == "true" || lower == "yes" || lower == "on") return Value::boolean(true, std::move(path), {});
    if (lower == "false" || lower == "no" || lower == "off") return Value::boolean(false, std::move(path), {});
    return convertWholeValue(text, std::move(path), {});
  }

  void checkDuplicatesAndReferences(std::vector<ServiceConfig>& candidates, std::vector<ServiceConfig>& out) {
    std::map<std::string, const ServiceConfig*> byId;
    std::vector<ServiceConfig> unique;
    for (auto& s : candidates) {
      auto [it, inserted] = byId.emplace(s.id(), &s);
      if (!inserted) {
        error(s.mark, s.yamlPath(),
              fmt::format("duplicate service '{}' (first defined in {} at line {}); each type+variant may appear once",
                          s.id(), it->second->yamlPath(), it->second->mark.line));
        continue;
      }
    }
    // Drop every copy of a duplicated id: which one was meant is unknowable.
    std::set<std::string> duplicated;
    {
      std::map<std::string, int> counts;
      for (const auto& s : candidates) ++counts[s.id()];
      for (const auto& [id, n] : counts)
        if (n > 1) duplicated.insert(id);
    }
    for (auto& s : candidates)
      if (!duplicated.count(s.id()))
        unique.push_back(std::move(s));
      else
        rejected_.push_back({s.type, s.variant, s.index});
    // A reference must name a service that survives validation; dropping one service can
    // invalidate services that require it, so repeat until nothing changes.
    for (bool changed = true; changed;) {
      changed = false;
      std::set<std::string> valid;
      for (const auto& s : unique) valid.insert(s.id());
      for (auto it = unique.begin(); it != unique.end();) {
        bool ok = true;
        for (const auto& ref : refs_) {
          if (ref.index != it->index) continue;
          if (ref.id == it->id()) {
            error(ref.mark, ref.path, fmt::format("'{}' refers to the service itself", ref.id));
            ok = false;
          } else if (duplicated.count(ref.id)) {
            error(ref.mark, ref.path, fmt::format("'{}' is defined more than once and was dropped", ref.id));
            ok = false;
          } else if (!valid.count(ref.id)) {
            error(ref.mark, ref.path,
                  fmt::format("'{}' is not a configured service{}", ref.id,
                              byId.count(ref.id) ? " (its entry has errors)" : ""));
            ok = false;
          }
        }
        if (ok) {
          ++it;
        } else {
          rejected_.push_back({it->type, it->variant, it->index});
          it = unique.erase(it);
          changed = true;
        }
      }
    }
    out = std::move(unique);
  }

  std::filesystem::path file_;
  std::string fileName_;
  const LoadOptions& options_;
  std::string_view text_;
  std::vector<Diagnostic> diagnostics_;
  Value globals_;
  std::map<std::string, std::optional<std::filesystem::path>, std::less<>> registry_;
  struct Reference {
    int index;  ///< of the referring service
    std::string id;
    Mark mark;
    std::string path;
  };
  std::vector<Reference> refs_;
  std::vector<RejectedService> rejected_;
};

LoadResult parse(std::string_view yaml, const std::filesystem::path& fileName, const LoadOptions& options) {
  return Loader(fileName, fileName.string(), options).run(yaml);
}

LoadResult load(const std::filesystem::path& file, const LoadOptions& options) {
  std::error_code ec;
  const auto absolute = std::filesystem::absolute(file, ec).lexically_normal();
  if (std::filesystem::is_directory(file, ec))  // an ifstream opens it and reads nothing
    throw ConfigError(file.string(), 0, 0, "", fmt::format("cannot read: {}", std::strerror(EISDIR)));
  std::ifstream in(file, std::ios::binary);
  if (!in) throw ConfigError(file.string(), 0, 0, "", fmt::format("cannot open: {}", std::strerror(errno)));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) throw ConfigError(file.string(), 0, 0, "", fmt::format("cannot read: {}", std::strerror(errno)));
  return Loader(ec ? file : absolute, file.string(), options).run(text.str());
}

}  // namespace tcs::config
