// SPDX-License-Identifier: MIT
#include <fmt/format.h>

#include <cmath>
#include <limits>

#include "tcs/config.hpp"

namespace tcs::config {

Value Value::null(std::string path, Mark mark) {
  Value v;
  v.path_ = std::move(path);
  v.mark_ = mark;
  return v;
}

Value Value::boolean(bool b, std::string path, Mark mark) {
  Value v = null(std::move(path), mark);
  v.kind_ = Kind::Bool;
  v.bool_ = b;
  return v;
}

Value Value::integer(std::int64_t i, std::string path, Mark mark) {
  Value v = null(std::move(path), mark);
  v.kind_ = Kind::Int;
  v.int_ = i;
  return v;
}

Value Value::real(double d, std::string path, Mark mark) {
  Value v = null(std::move(path), mark);
  v.kind_ = Kind::Double;
  v.double_ = d;
  return v;
}

Value Value::string(std::string s, std::string path, Mark mark) {
  Value v = null(std::move(path), mark);
  v.kind_ = Kind::String;
  v.string_ = std::move(s);
  return v;
}

Value Value::sequence(std::vector<Value> items, std::string path, Mark mark) {
  Value v = null(std::move(path), mark);
  v.kind_ = Kind::Sequence;
  v.items_ = std::move(items);
  return v;
}

Value Value::mapping(Entries entries, std::string path, Mark mark) {
  Value v = null(std::move(path), mark);
  v.kind_ = Kind::Mapping;
  v.entries_ = std::move(entries);
  return v;
}

const Value* Value::find(std::string_view key) const noexcept {
  for (const auto& [k, v] : entries_)
    if (k == key) return &v;
  return nullptr;
}

std::string_view Value::kindName(Kind kind) noexcept {
  switch (kind) {
    case Kind::Null: return "null";
    case Kind::Bool: return "a boolean";
    case Kind::Int: return "an integer";
    case Kind::Double: return "a number";
    case Kind::String: return "a string";
    case Kind::Sequence: return "a list";
    case Kind::Mapping: return "a mapping";
  }
  return "?";
}

std::string Value::describe() const {
  switch (kind_) {
    case Kind::Null: return "null";
    case Kind::Bool: return bool_ ? "true" : "false";
    case Kind::Int: return std::to_string(int_);
    case Kind::Double: return fmt::format("{}", double_);
    case Kind::String: {
      std::string out = "'";
      for (char c : string_) {
        const auto u = static_cast<unsigned char>(c);
        if (u < 0x20 || u == 0x7f)
          out += fmt::format("\\x{:02x}", u);
        else
          out += c;
      }
      return out + "'";
    }
    case Kind::Sequence: return "a list";
    case Kind::Mapping: return "a mapping";
  }
  return "?";
}

Settings::Settings(std::string file, Value mapping) : file_(std::move(file)), root_(std::move(mapping)) {}

void Settings::reject(std::string_view key, std::string_view why) const {
  if (const Value* v = root_.find(key))
    throw ConfigError(file_, v->mark().line, v->mark().column, v->path(), fmt::format("{} {}", v->describe(), why));
  throw ConfigError(file_, root_.mark().line, root_.mark().column,
                    root_.path().empty() ? std::string(key) : fmt::format("{}.{}", root_.path(), key),
                    fmt::format("(default) {}", why));
}

bool Settings::contains(std::string_view key) const noexcept {
  const Value* v = root_.find(key);
  return v && !v->isNull();
}

namespace {

[[noreturn]] void wrongType(const std::string& file, const Value& v, std::string_view wanted) {
  throw ConfigError(file, v.mark().line, v.mark().column, v.path(),
                    fmt::format("expected {}, got {} {}", wanted, Value::kindName(v.kind()), v.describe()));
}

template <typename T>
T convert(const std::string& file, const Value& v);

template <>
bool convert<bool>(const std::string& file, const Value& v) {
  if (v.kind() != Value::Kind::Bool) wrongType(file, v, "a boolean (true/false)");
  return v.boolValue();
}

template <>
std::int64_t convert<std::int64_t>(const std::string& file, const Value& v) {
  if (v.kind() == Value::Kind::Int) return v.intValue();
  if (v.kind() == Value::Kind::Double && std::isfinite(v.doubleValue()) &&
      v.doubleValue() == std::trunc(v.doubleValue()) && std::abs(v.doubleValue()) < 9.0e15)
    return static_cast<std::int64_t>(v.doubleValue());
  wrongType(file, v, "an integer");
}

template <>
int convert<int>(const std::string& file, const Value& v) {
  const auto i = convert<std::int64_t>(file, v);
  if (i < std::numeric_limits<int>::min() || i > std::numeric_limits<int>::max())
    throw ConfigError(file, v.mark().line, v.mark().column, v.path(), fmt::format("integer {} is out of range", i));
  return static_cast<int>(i);
}

template <>
double convert<double>(const std::string& file, const Value& v) {
  if (v.kind() == Value::Kind::Double) return v.doubleValue();
  if (v.kind() == Value::Kind::Int) return static_cast<double>(v.intValue());
  wrongType(file, v, "a number");
}

template <>
std::string convert<std::string>(const std::string& file, const Value& v) {
  if (v.kind() != Value::Kind::String) wrongType(file, v, "a string");
  return v.stringValue();
}

template <>
std::vector<std::string> convert<std::vector<std::string>>(const std::string& file, const Value& v) {
  if (v.kind() != Value::Kind::Sequence) wrongType(file, v, "a list of strings");
  std::vector<std::string> out;
  out.reserve(v.items().size());
  for (const auto& item : v.items()) out.push_back(convert<std::string>(file, item));
  return out;
}

}  // namespace

template <typename T>
T Settings::get(std::string_view key, T fallback) const {
  const Value* v = root_.find(key);
  if (!v || v->isNull()) return fallback;
  return convert<T>(file_, *v);
}

std::string Settings::get(std::string_view key, const char* fallback) const {
  return get<std::string>(key, std::string{fallback});
}

std::string Settings::get(std::string_view key, std::string_view fallback) const {
  return get<std::string>(key, std::string{fallback});
}

template <typename T>
T Settings::require(std::string_view key) const {
  const Value* v = root_.find(key);
  if (!v || v->isNull())
    throw ConfigError(file_, root_.mark().line, root_.mark().column, root_.path(),
                      fmt::format("required setting '{}' is missing", key));
  return convert<T>(file_, *v);
}

#define TCS_INSTANTIATE_SETTINGS(T)                       \
  template T Settings::get<T>(std::string_view, T) const; \
  template T Settings::require<T>(std::string_view) const;
TCS_INSTANTIATE_SETTINGS(bool)
TCS_INSTANTIATE_SETTINGS(int)
TCS_INSTANTIATE_SETTINGS(std::int64_t)
TCS_INSTANTIATE_SETTINGS(double)
TCS_INSTANTIATE_SETTINGS(std::string)
TCS_INSTANTIATE_SETTINGS(std::vector<std::string>)
#undef TCS_INSTANTIATE_SETTINGS

}  // namespace tcs::config
