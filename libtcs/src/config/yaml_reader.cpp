// SPDX-License-Identifier: MIT
// YAML text → Value with PyYAML's meaning: YAML 1.1 scalars, merge keys, last duplicate wins
// (reported), `${VAR}` expansion in strings.
#include "yaml_reader.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <map>
#include <regex>

#include "scalars.hpp"

namespace tcs::config {
namespace {

using Kind = Value::Kind;

std::string childPath(const std::string& parent, std::string_view key) {
  return parent.empty() ? std::string{key} : fmt::format("{}.{}", parent, key);
}

std::string indexPath(const std::string& parent, std::size_t i) {
  return fmt::format("{}[{}]", parent, i);
}

// A services.yaml has hundreds of values; aliases can make a short file expand to billions.
constexpr std::size_t kMaxValues = 100'000;

Mark toMark(const YAML::Mark& m) {
  if (m.is_null()) return {};
  return {m.line + 1, m.column + 1};
}

class YamlReader {
 public:
  YamlReader(Diagnostics& diagnostics, std::string_view text, const Environment& environment)
      : diagnostics_(diagnostics), text_(text), environment_(environment) {}

  Value read() {
    YAML::Node doc;
    try {
      doc = YAML::Load(std::string{text_});
    } catch (const YAML::Exception& e) {
      const Mark m = toMark(e.mark);
      throw ConfigError(diagnostics_.fileName(), m.line, m.column, "", fmt::format("invalid YAML: {}", e.msg));
    }
    return convert(doc, "");
  }

 private:
  void error(Mark mark, std::string path, std::string message) {
    diagnostics_.error(mark, std::move(path), std::move(message));
  }
  void warn(Mark mark, std::string path, std::string message) {
    diagnostics_.warn(mark, std::move(path), std::move(message));
  }

  Value convert(const YAML::Node& node, const std::string& path) {
    const Mark mark = toMark(node.Mark());
    // yaml-cpp resolves an alias to its anchor's node, so `a: &x {b: *x}` is a cycle.
    if (std::any_of(open_.begin(), open_.end(), [&](const YAML::Node& n) { return n.is(node); }))
      throw ConfigError(diagnostics_.fileName(), mark.line, mark.column, path,
                        "invalid YAML: a recursive alias (this node contains an alias of itself)");
    if (++values_ > kMaxValues)
      throw ConfigError(diagnostics_.fileName(), mark.line, mark.column, path,
                        fmt::format("invalid YAML: more than {} values once aliases are expanded", kMaxValues));
    open_.push_back(node);
    struct Close {
      std::vector<YAML::Node>& open;
      ~Close() { open.pop_back(); }
    } close{open_};
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
      case YAML::NodeType::Map: return convertMapping(node, path, mark);
    }
    return Value::null(path, mark);
  }

  Value convertMapping(const YAML::Node& node, const std::string& path, Mark mark) {
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
    if (!merged.empty()) entries = mergedFirst(std::move(merged), std::move(entries));
    return Value::mapping(std::move(entries), path, mark);
  }

  // PyYAML's order: merged keys first, explicit keys override them.
  static Value::Entries mergedFirst(Value::Entries merged, Value::Entries entries) {
    for (auto& [key, value] : merged) {
      auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return e.first == key; });
      if (it != entries.end()) {
        value = std::move(it->second);
        entries.erase(it);
      }
    }
    merged.insert(merged.end(), std::make_move_iterator(entries.begin()), std::make_move_iterator(entries.end()));
    return merged;
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
    throw ConfigError(diagnostics_.fileName(), at.line, at.column, "",
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
    std::string expanded = expandEnvironment(text, environment_, &unresolved);
    for (const auto& name : unresolved)
      warn(mark, path,
           fmt::format("environment variable '{}' is not set and has no default; keeping '${{{}}}'", name, name));
    static const std::regex whole{R"(\$\{[A-Za-z_][A-Za-z0-9_]*(:-[^}]*)?\})"};
    if (unresolved.empty() && std::regex_match(text, whole)) return convertWholeValue(std::move(expanded), path, mark);
    return Value::string(std::move(expanded), path, mark);
  }

  Diagnostics& diagnostics_;
  std::vector<YAML::Node> open_;  // the nodes convert() is inside of, outermost first
  std::size_t values_ = 0;        // converted so far, aliases counted at every use
  std::string_view text_;
  const Environment& environment_;
};

}  // namespace

Value readYaml(std::string_view text, Diagnostics& diagnostics, const Environment& environment) {
  return YamlReader(diagnostics, text, environment).read();
}

}  // namespace tcs::config
