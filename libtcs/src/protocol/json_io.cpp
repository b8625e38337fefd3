// SPDX-License-Identifier: MIT
#include "json_io.hpp"

#include <cmath>
#include <utility>
#include <vector>

namespace tcs::protocol::detail {
namespace {

// Values quoted in error messages are cut so that a huge input cannot make a huge message.
std::string quote(std::string_view value) {
  constexpr std::size_t kMax = 64;
  std::string s{"'"};
  s += value.substr(0, kMax);
  if (value.size() > kMax) s += "…";
  s += '\'';
  return s;
}

// The parser itself is iterative, but dump() and our own decoders recurse, so the depth is
// bounded before anything is parsed.
void checkDepth(std::string_view text, std::string_view what) {
  std::size_t depth = 0;
  bool inString = false;
  bool escaped = false;
  for (const char c : text) {
    if (inString) {
      if (escaped)
        escaped = false;
      else if (c == '\\')
        escaped = true;
      else if (c == '"')
        inString = false;
      continue;
    }
    switch (c) {
      case '"': inString = true; break;
      case '[':
      case '{':
        if (++depth > kMaxNestingDepth)
          fail(std::string{what} + ": nested deeper than " + std::to_string(kMaxNestingDepth) + " levels");
        break;
      case ']':
      case '}':
        if (depth > 0) --depth;
        break;
      default: break;
    }
  }
}

std::string typeName(const Json& j) {
  if (j.is_number_float()) return "a fractional or out-of-range number";
  if (j.is_number()) return "number";
  return j.type_name();
}

}  // namespace

std::string Path::str() const {
  std::vector<const Path*> chain;
  for (const Path* p = this; p != nullptr; p = p->parent) chain.push_back(p);
  std::string s;
  for (auto it = chain.rbegin(); it != chain.rend(); ++it) {
    if ((*it)->isIndex) {
      s += '[';
      s += std::to_string((*it)->index);
      s += ']';
    } else if (!(*it)->key.empty()) {
      if (!s.empty()) s += '.';
      s += (*it)->key;
    }
  }
  return s;
}

void fail(const Path& path, std::string_view what) {
  std::string s = path.str();
  if (!s.empty()) s += ": ";
  s += what;
  throw ProtocolError(s);
}

void fail(std::string_view what) {
  throw ProtocolError(std::string{what});
}

Json parseJson(std::string_view text, std::string_view what) {
  checkDepth(text, what);
  try {
    return Json::parse(text.begin(), text.end());
  } catch (const Json::exception& e) {
    // "[json.exception.parse_error.101] parse error at line 1, …" → "parse error at line 1, …"
    std::string_view msg = e.what();
    if (const auto close = msg.find("] "); close != std::string_view::npos) msg.remove_prefix(close + 2);
    fail(std::string{what} + ": not JSON (" + std::string{msg} + ")");
  }
}

std::string dump(const Json& j) {
  return j.dump(-1, ' ', false, Json::error_handler_t::replace);
}

const Json& requireObject(const Json& j, const Path& path) {
  if (!j.is_object()) fail(path, "expected an object, got " + typeName(j));
  return j;
}

const Json* find(const Json& object, std::string_view key) {
  const auto it = object.find(key);
  return it == object.end() ? nullptr : &*it;
}

const Json& require(const Json& object, std::string_view key, const Path& path) {
  const Json* v = find(object, key);
  if (v == nullptr) fail(path, "missing required key '" + std::string{key} + "'");
  return *v;
}

std::string asString(const Json& j, const Path& path) {
  if (!j.is_string()) fail(path, "expected a string, got " + typeName(j));
  return j.get_ref<const std::string&>();
}

bool asBool(const Json& j, const Path& path) {
  if (!j.is_boolean()) fail(path, "expected true or false, got " + typeName(j));
  return j.get<bool>();
}

double asDouble(const Json& j, const Path& path) {
  if (!j.is_number()) fail(path, "expected a number, got " + typeName(j));
  const double d = j.get<double>();
  if (!std::isfinite(d)) fail(path, "number out of range");
  return d;
}

std::int64_t asInt(const Json& j, const Path& path, std::int64_t min, std::int64_t max) {
  const auto outOfRange = [&](const std::string& value) {
    fail(path, "integer " + value + " out of range [" + std::to_string(min) + ", " + std::to_string(max) + "]");
  };
  if (j.is_number_unsigned()) {
    const auto u = j.get<std::uint64_t>();
    if (max < 0 || u > static_cast<std::uint64_t>(max) || (min > 0 && u < static_cast<std::uint64_t>(min)))
      outOfRange(std::to_string(u));
    return static_cast<std::int64_t>(u);
  }
  if (j.is_number_integer()) {
    const auto v = j.get<std::int64_t>();
    if (v < min || v > max) outOfRange(std::to_string(v));
    return v;
  }
  fail(path, "expected an integer, got " + typeName(j));
}

std::uint64_t asUint(const Json& j, const Path& path) {
  if (j.is_number_unsigned()) return j.get<std::uint64_t>();
  return static_cast<std::uint64_t>(asInt(j, path, 0, std::numeric_limits<std::int64_t>::max()));
}

Status asStatus(const Json& j, const Path& path) {
  const std::string s = asString(j, path);
  const auto status = parseStatus(s);
  if (!status) fail(path, "unknown status value " + quote(s));
  return *status;
}

JsonObject asObject(const Json& j, const Path& path) {
  return JsonAccess::fromJson(requireObject(j, path));
}

std::string getString(const Json& o, std::string_view key, const Path& path) {
  return asString(require(o, key, path), path / key);
}

std::optional<std::string> optString(const Json& o, std::string_view key, const Path& path) {
  const Json* v = find(o, key);
  if (v == nullptr || v->is_null()) return std::nullopt;
  return asString(*v, path / key);
}

Status getStatus(const Json& o, std::string_view key, const Path& path) {
  return asStatus(require(o, key, path), path / key);
}

Timestamp getTimestamp(const Json& o, std::string_view key, const Path& path) {
  return asTimestamp(require(o, key, path), path / key);
}

}  // namespace tcs::protocol::detail

namespace tcs::protocol {

JsonObject JsonObject::Access::fromJson(const detail::Json& object) {
  JsonObject o;
  o.text_ = detail::dump(object);
  return o;
}

detail::Json JsonObject::Access::toJson(const JsonObject& object) {
  detail::Json j = detail::Json::parse(object.text_, nullptr, false);
  return j.is_object() ? j : detail::Json::object();
}

JsonObject JsonObject::parse(std::string_view json) {
  const detail::Json j = detail::parseJson(json, "JSON object");
  if (!j.is_object()) detail::fail("JSON object: expected an object, got " + std::string{j.type_name()});
  return detail::JsonAccess::fromJson(j);
}

JsonObject& JsonObject::set(std::string_view key, Scalar value) {
  detail::Json j = detail::JsonAccess::toJson(*this);
  std::visit([&](auto&& v) { j[std::string{key}] = std::forward<decltype(v)>(v); }, std::move(value));
  text_ = detail::dump(j);
  return *this;
}

JsonObject& JsonObject::set(std::string_view key, const JsonObject& value) {
  detail::Json j = detail::JsonAccess::toJson(*this);
  j[std::string{key}] = detail::JsonAccess::toJson(value);
  text_ = detail::dump(j);
  return *this;
}

JsonObject& JsonObject::merge(const JsonObject& other) {
  if (other.empty()) return *this;
  if (empty()) {
    text_ = other.text_;
    return *this;
  }
  detail::Json j = detail::JsonAccess::toJson(*this);
  const detail::Json o = detail::JsonAccess::toJson(other);
  for (auto it = o.begin(); it != o.end(); ++it) j[it.key()] = *it;
  text_ = detail::dump(j);
  return *this;
}

}  // namespace tcs::protocol
