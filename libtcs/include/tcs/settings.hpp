// SPDX-License-Identifier: MIT
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tcs/error.hpp"
#include "tcs/export.hpp"

/**
 * @file
 * A service's settings: its services.yaml entry as typed values (config::Settings, what
 * Service::settings() returns). Split from tcs/config.hpp, which loads whole configs, so a
 * service's headers do not pull in the loader's model (std::filesystem, std::map …).
 */
namespace tcs::config {

/** @brief 1-based position in the YAML file; 0 = unknown (e.g. a value from the environment). */
struct TCS_API Mark {
  int line = 0;
  int column = 0;
};

/**
 * @brief One immutable YAML value after environment expansion, with where it came from.
 *
 * Scalars are typed the way upstream's PyYAML (YAML 1.1) types them: an unquoted `no`
 * is a bool, `5` an int, `5.0` a double, a quoted value always a string.
 */
class TCS_API Value {
 public:
  enum class Kind { Null, Bool, Int, Double, String, Sequence, Mapping };
  using Entries = std::vector<std::pair<std::string, Value>>;

  Value() = default;
  static Value null(std::string path, Mark mark);
  static Value boolean(bool v, std::string path, Mark mark);
  static Value integer(std::int64_t v, std::string path, Mark mark);
  static Value real(double v, std::string path, Mark mark);
  static Value string(std::string v, std::string path, Mark mark);
  static Value sequence(std::vector<Value> items, std::string path, Mark mark);
  static Value mapping(Entries entries, std::string path, Mark mark);

  Kind kind() const noexcept { return kind_; }
  bool isNull() const noexcept { return kind_ == Kind::Null; }
  bool isScalar() const noexcept { return kind_ != Kind::Sequence && kind_ != Kind::Mapping; }
  /** @brief YAML path such as `services[2].interval`, or `$NAME (environment)`. */
  const std::string& path() const noexcept { return path_; }
  Mark mark() const noexcept { return mark_; }

  bool boolValue() const noexcept { return bool_; }
  std::int64_t intValue() const noexcept { return int_; }
  double doubleValue() const noexcept { return double_; }
  const std::string& stringValue() const noexcept { return string_; }
  const std::vector<Value>& items() const noexcept { return items_; }
  const Entries& entries() const noexcept { return entries_; }
  /** @return the value under @p key of a mapping, or nullptr. */
  const Value* find(std::string_view key) const noexcept;

  /** @brief Human form for messages: `'abc'`, `5`, `true`, `null`, `a list`, `a mapping`. */
  std::string describe() const;
  /** @brief Name of the kind for messages: "a string", "an integer", … */
  static std::string_view kindName(Kind kind) noexcept;

 private:
  Kind kind_ = Kind::Null;
  bool bool_ = false;
  std::int64_t int_ = 0;
  double double_ = 0;
  std::string string_;
  std::vector<Value> items_;
  Entries entries_;
  std::string path_;
  Mark mark_;
};

/**
 * @brief A service's own settings (everything in its merged entry), with typed access.
 *
 * `get<double>("interval", 3.0)` returns the default when the key is absent or null and
 * throws tcs::ConfigError naming file, line, YAML path and the bad value when present with
 * the wrong type. Supported T: bool, int, std::int64_t, double, std::string,
 * std::vector<std::string>; a text default (`get("key", "default")`) gives a std::string. An integer is accepted where
 * a double is asked for; a double is accepted as an integer only when it is whole.
 */
class TCS_API Settings {
 public:
  Settings() = default;
  Settings(std::string file, Value mapping);

  template <typename T>
  T get(std::string_view key, T fallback) const;
  /** @brief `get("greeting", "Hello")`: a string setting with a text default, as std::string. */
  std::string get(std::string_view key, const char* fallback) const;
  std::string get(std::string_view key, std::string_view fallback) const;
  /** @throws tcs::ConfigError when the key is absent. */
  template <typename T>
  T require(std::string_view key) const;
  bool contains(std::string_view key) const noexcept;
  /**
   * @brief Rejects the value of @p key: throws tcs::ConfigError at that value's location
   * (or the entry's, when the key is absent), e.g. `reject("worker_count", "must be at least 1")`.
   * The runtime turns it into exit status 78 (configuration error).
   */
  [[noreturn]] void reject(std::string_view key, std::string_view why) const;
  const Value* find(std::string_view key) const noexcept { return root_.find(key); }
  const Value& root() const noexcept { return root_; }
  const std::string& file() const noexcept { return file_; }

 private:
  std::string file_;
  Value root_;
};

}  // namespace tcs::config
