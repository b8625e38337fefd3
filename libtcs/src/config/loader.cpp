// SPDX-License-Identifier: MIT
// services.yaml → validated tcs::config::Config. The rules are in doc/config.md; the loader
// keeps upstream's meaning (PyYAML 1.1 scalars, ${VAR} expansion, globals merged under
// entries, {TYPE}_{FIELD} env overrides) and adds the validation upstream lacks. The pieces
// live beside it: yaml_reader (YAML → Value), scalars, suggest, merge, sections (nats,
// registry), service_keys (the table of entry keys and their validators).
#include <fmt/format.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <set>
#include <sstream>

#include "diagnostics.hpp"
#include "merge.hpp"
#include "scalars.hpp"
#include "sections.hpp"
#include "service_keys.hpp"
#include "suggest.hpp"
#include "tcs/config.hpp"
#include "tcs/unit_name.hpp"
#include "yaml_reader.hpp"

namespace tcs::config {
namespace {

using Kind = Value::Kind;

// `web` is tcs-web's section (doc/web.md): read by tcs-web, never a default of the services.
constexpr std::string_view kTopLevelKeys[] = {"nats", "registry", "services", "web"};

// Type and variant of an entry, when they are readable, even if the rest is invalid.
std::optional<unit_name::Parsed> identityOf(const Value& entry) {
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

// Upstream: `variant or instance_context or "dev"` (Python truthiness: "" and 0 are false).
bool truthy(const Value* v) {
  return v && !v->isNull() && !(v->kind() == Kind::String && v->stringValue().empty()) &&
         !(v->kind() == Kind::Int && v->intValue() == 0);
}

// {TYPE}_{FIELD}: upstream's conversion except that "1"/"0" stay numbers.
Value envOverrideValue(const std::string& text, std::string path) {
  std::string lower = text;
  std::transform(lower.begin(), lower.end(), lower.begin(), [](unsigned char c) { return std::tolower(c); });
  if (lower == "true" || lower == "yes" || lower == "on") return Value::boolean(true, std::move(path), {});
  if (lower == "false" || lower == "no" || lower == "off") return Value::boolean(false, std::move(path), {});
  return convertWholeValue(text, std::move(path), {});
}

// `EXAMPLES_BASIC_` for type `examples.basic`.
std::string environmentPrefix(const std::string& type) {
  std::string prefix = type;
  std::transform(prefix.begin(), prefix.end(), prefix.begin(),
                 [](unsigned char c) { return c == '.' ? '_' : std::toupper(c); });
  return prefix + '_';
}

}  // namespace

/** Builds a Config from one YAML document; collects diagnostics on the way. */
class Loader {
 public:
  // @p file is what the model records (absolute after load()); @p displayName what messages show.
  Loader(std::filesystem::path file, std::string displayName, const LoadOptions& options)
      : file_(std::move(file)), diagnostics_(std::move(displayName)), options_(options) {}

  LoadResult run(std::string_view text) {
    if (hasControlChars(file_.string()))
      throw ConfigError(diagnostics_.fileName(), 0, 0, "", "the config path contains a control character");
    const Value root = readYaml(text, diagnostics_, options_.environment);
    LoadResult result;
    result.config.path_ = file_;
    if (root.isNull()) {
      warn({}, "", "the file is empty: no services are configured");
    } else if (root.kind() != Kind::Mapping) {
      throw ConfigError(
          diagnostics_.fileName(), root.mark().line, root.mark().column, "",
          fmt::format("the top level must be a mapping with a 'services:' list, got {}", Value::kindName(root.kind())));
    } else {
      loadTopLevel(root, result.config);
    }
    result.diagnostics = diagnostics_.take();
    result.rejected = std::move(rejected_);
    return result;
  }

 private:
  void error(const Value& at, std::string message) { diagnostics_.error(at, std::move(message)); }
  void error(Mark mark, std::string path, std::string message) {
    diagnostics_.error(mark, std::move(path), std::move(message));
  }
  void warn(Mark mark, std::string path, std::string message) {
    diagnostics_.warn(mark, std::move(path), std::move(message));
  }

  // ---- top level -----------------------------------------------------------------------------
  void loadTopLevel(const Value& root, Config& config) {
    globals_ = readGlobals(root);
    readNats(root.find("nats"), config.nats_, diagnostics_, options_.environment, file_);
    nats_ = &config.nats_;
    registry_ = readRegistry(root.find("registry"), diagnostics_, file_);

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
      const Value& entry = services->items()[i];
      const std::size_t before = diagnostics_.errorCount();
      auto svc = loadService(entry, static_cast<int>(i));
      if (svc && diagnostics_.errorCount() == before && !diagnostics_.hasErrorBelow(entry.path()))
        candidates.push_back(std::move(*svc));
      else if (auto id = identityOf(entry))
        rejected_.push_back({id->type, id->variant, static_cast<int>(i)});
    }
    checkDuplicatesAndReferences(candidates, config.services_);
  }

  // Every top-level key but the sections: a default under every entry.
  Value readGlobals(const Value& root) {
    Value::Entries globals;
    for (const auto& [key, value] : root.entries()) {
      if (key == "nats" || key == "registry" || key == "services" || key == "web") continue;
      if (auto close = closeKnownKey(key, kTopLevelKeys))
        warn(value.mark(), key,
             fmt::format("unknown top-level key '{}'; did you mean '{}'? (kept as a global setting)", key, *close));
      if (isIdentityKey(key)) {
        warn(value.mark(), key, fmt::format("'{}' is a per-service key and is ignored at the top level", key));
        continue;
      }
      globals.emplace_back(key, value);
    }
    return Value::mapping(std::move(globals), "", root.mark());
  }

  // ---- one service entry ---------------------------------------------------------------------
  std::optional<ServiceConfig> loadService(const Value& entry, int index) {
    if (entry.kind() != Kind::Mapping) {
      error(entry, fmt::format("a service entry must be a mapping with at least 'type:', got {}",
                               Value::kindName(entry.kind())));
      return std::nullopt;
    }
    ServiceConfig s;
    s.index = index;
    s.mark = entry.mark();
    warnMisspelledKeys(entry);
    if (!readType(entry, s) || !readVariant(entry, s) || !checkUnitName(entry, s)) return std::nullopt;
    // Everything else: the entry over the top-level globals.
    const Value merged = deepMerge(globals_, entry);
    applyServiceKeys(entry, merged, s);
    if (!resolveExecutable(entry, s)) return std::nullopt;
    s.settings = Settings(diagnostics_.fileName(), settingsOf(merged, entry, s.type));
    return s;
  }

  void warnMisspelledKeys(const Value& entry) {
    for (const auto& [key, value] : entry.entries())
      if (auto close = closeKnownKey(key, suggestedServiceKeys()))
        warn(value.mark(), value.path(),
             fmt::format("unknown key '{}'; did you mean '{}'? (kept as a service setting)", key, *close));
  }

  // Identity: from the entry only.
  bool readType(const Value& entry, ServiceConfig& s) {
    const Value* type = entry.find("type");
    if (!type || type->isNull()) {
      error(entry.mark(), entry.path(), "missing required key 'type'");
      return false;
    }
    if (type->kind() != Kind::String || !unit_name::isValidType(type->stringValue())) {
      error(*type, fmt::format("invalid service type {}: dot-separated parts, each matching {}", type->describe(),
                               unit_name::kTokenPattern));
      return false;
    }
    s.type = type->stringValue();
    return true;
  }

  bool readVariant(const Value& entry, ServiceConfig& s) {
    const Value* variant = entry.find("variant");
    const Value* legacy = entry.find("instance_context");
    for (const Value* v : {variant, legacy}) {
      if (v && v->kind() == Kind::Bool) {
        error(*v, fmt::format("{} was read as a YAML boolean (unquoted yes/no/on/off/true/false); quote the variant, "
                              "e.g. \"off\"",
                              v->describe()));
        return false;
      }
    }
    const Value* chosen = truthy(variant) ? variant : (truthy(legacy) ? legacy : nullptr);
    if (truthy(variant) && truthy(legacy) && variant->describe() != legacy->describe())
      warn(legacy->mark(), legacy->path(),
           fmt::format("both variant and legacy instance_context are set; using variant {}", variant->describe()));
    if (!chosen) {
      s.variant = "dev";
      return true;
    }
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
      return false;
    }
    if (!unit_name::isValidToken(v)) {
      error(*chosen, fmt::format("invalid variant {}: must match {}", chosen->describe(), unit_name::kTokenPattern));
      return false;
    }
    s.variant = v;
    return true;
  }

  bool checkUnitName(const Value& entry, const ServiceConfig& s) {
    if (s.unitName().size() <= unit_name::kMaxUnitNameLength) return true;
    error(entry.mark(), entry.path(),
          fmt::format("unit name '{}' is longer than systemd's limit of {} characters", s.unitName(),
                      unit_name::kMaxUnitNameLength));
    return false;
  }

  // Every validated key of the table, in table order, from where its scope says.
  void applyServiceKeys(const Value& entry, const Value& merged, ServiceConfig& s) {
    KeyContext context{diagnostics_, s.index, refs_, file_, *nats_};
    for (const auto& key : serviceKeyTable()) {
      if (!key.validate) continue;
      const Value* v = (key.scope == KeyScope::Entry ? entry : merged).find(key.info.name);
      if (v && !v->isNull()) key.validate(context, *v, s);
    }
  }

  bool resolveExecutable(const Value& entry, ServiceConfig& s) {
    auto it = registry_.find(s.type);
    if (it == registry_.end()) {
      s.executable = options_.builtinServiceDir / s.type;
      return true;
    }
    if (!it->second) {
      error(entry.mark(), entry.path(),
            fmt::format("type '{}' has no usable executable (see registry.{})", s.type, s.type));
      return false;
    }
    s.executable = *it->second;
    return true;
  }

  // Settings: the merged entry, then {TYPE}_{FIELD} env vars under it.
  Value settingsOf(const Value& merged, const Value& entry, const std::string& type) {
    Value::Entries settings = merged.entries();
    const std::string prefix = environmentPrefix(type);
    for (const auto& [name, text] : options_.environment) {
      if (!name.starts_with(prefix) || name.size() == prefix.size()) continue;
      std::string field = name.substr(prefix.size());
      std::transform(field.begin(), field.end(), field.begin(), [](unsigned char c) { return std::tolower(c); });
      if (std::any_of(settings.begin(), settings.end(), [&](const auto& e) { return e.first == field; })) continue;
      settings.emplace_back(field, envOverrideValue(text, fmt::format("${} (environment)", name)));
    }
    return Value::mapping(std::move(settings), entry.path(), entry.mark());
  }

  // ---- across entries ------------------------------------------------------------------------
  void checkDuplicatesAndReferences(std::vector<ServiceConfig>& candidates, std::vector<ServiceConfig>& out) {
    std::set<std::string> candidateIds;
    for (const auto& s : candidates) candidateIds.insert(s.id());
    const std::set<std::string> duplicated = reportDuplicates(candidates);
    // Drop every copy of a duplicated id: which one was meant is unknowable.
    std::vector<ServiceConfig> unique;
    for (auto& s : candidates)
      if (!duplicated.count(s.id()))
        unique.push_back(std::move(s));
      else
        rejected_.push_back({s.type, s.variant, s.index});
    dropBrokenReferences(unique, duplicated, candidateIds);
    out = std::move(unique);
  }

  // Reports every further copy of a type+variant; returns the ids defined more than once.
  std::set<std::string> reportDuplicates(const std::vector<ServiceConfig>& candidates) {
    std::map<std::string, const ServiceConfig*> byId;
    std::set<std::string> duplicated;
    for (const auto& s : candidates) {
      auto [it, inserted] = byId.emplace(s.id(), &s);
      if (inserted) continue;
      error(s.mark, s.yamlPath(),
            fmt::format("duplicate service '{}' (first defined in {} at line {}); each type+variant may appear once",
                        s.id(), it->second->yamlPath(), it->second->mark.line));
      duplicated.insert(s.id());
    }
    return duplicated;
  }

  // A reference must name a service that survives validation; dropping one service can
  // invalidate services that require it, so repeat until nothing changes.
  void dropBrokenReferences(std::vector<ServiceConfig>& unique, const std::set<std::string>& duplicated,
                            const std::set<std::string>& candidateIds) {
    for (bool changed = true; changed;) {
      changed = false;
      std::set<std::string> valid;
      for (const auto& s : unique) valid.insert(s.id());
      for (auto it = unique.begin(); it != unique.end();) {
        if (referencesResolve(*it, valid, duplicated, candidateIds)) {
          ++it;
        } else {
          rejected_.push_back({it->type, it->variant, it->index});
          it = unique.erase(it);
          changed = true;
        }
      }
    }
  }

  bool referencesResolve(const ServiceConfig& s, const std::set<std::string>& valid,
                         const std::set<std::string>& duplicated, const std::set<std::string>& candidateIds) {
    bool ok = true;
    for (const auto& ref : refs_) {
      if (ref.index != s.index) continue;
      if (ref.id == s.id()) {
        error(ref.mark, ref.path, fmt::format("'{}' refers to the service itself", ref.id));
        ok = false;
      } else if (duplicated.count(ref.id)) {
        error(ref.mark, ref.path, fmt::format("'{}' is defined more than once and was dropped", ref.id));
        ok = false;
      } else if (!valid.count(ref.id)) {
        error(ref.mark, ref.path,
              fmt::format("'{}' is not a configured service{}", ref.id,
                          candidateIds.count(ref.id) ? " (its entry has errors)" : ""));
        ok = false;
      }
    }
    return ok;
  }

  std::filesystem::path file_;
  Diagnostics diagnostics_;
  const LoadOptions& options_;
  Value globals_;
  Registry registry_;
  const NatsConfig* nats_ = nullptr;  // the config's, once loadTopLevel has read it
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
