// SPDX-License-Identifier: MIT
#include <string>

#include "json_io.hpp"

namespace tcs::protocol {
namespace {

using namespace std::chrono;

// Python's datetime range; anything else would make an upstream reader raise.
std::string problemWith(std::span<const std::int64_t> f) {
  if (f.size() < 7) return "expected at least 7 integers, got " + std::to_string(f.size());
  if (f[0] < 1 || f[0] > 9999) return "year " + std::to_string(f[0]) + " out of range [1, 9999]";
  if (f[1] < 1 || f[1] > 12) return "month " + std::to_string(f[1]) + " out of range [1, 12]";
  if (f[2] < 1 || f[2] > 31 ||
      !year_month_day{year{static_cast<int>(f[0])}, month{static_cast<unsigned>(f[1])},
                      day{static_cast<unsigned>(f[2])}}
           .ok())
    return "day " + std::to_string(f[2]) + " does not exist in " + std::to_string(f[0]) + "-" + std::to_string(f[1]);
  if (f[3] < 0 || f[3] > 23) return "hour " + std::to_string(f[3]) + " out of range [0, 23]";
  if (f[4] < 0 || f[4] > 59) return "minute " + std::to_string(f[4]) + " out of range [0, 59]";
  if (f[5] < 0 || f[5] > 59) return "second " + std::to_string(f[5]) + " out of range [0, 59]";
  if (f[6] < 0 || f[6] > 999'999) return "microsecond " + std::to_string(f[6]) + " out of range [0, 999999]";
  return {};
}

Timestamp build(std::span<const std::int64_t> f) {
  const year_month_day ymd{year{static_cast<int>(f[0])}, month{static_cast<unsigned>(f[1])},
                           day{static_cast<unsigned>(f[2])}};
  return Timestamp{sys_days{ymd}} + hours{f[3]} + minutes{f[4]} + seconds{f[5]} + microseconds{f[6]};
}

}  // namespace

Timestamp now() noexcept {
  return floor<microseconds>(system_clock::now());
}

TimestampFields toFields(Timestamp ts) noexcept {
  const auto d = floor<days>(ts);
  const year_month_day ymd{d};
  const hh_mm_ss tod{ts - d};
  return {static_cast<int>(ymd.year()),
          static_cast<unsigned>(ymd.month()),
          static_cast<unsigned>(ymd.day()),
          tod.hours().count(),
          tod.minutes().count(),
          tod.seconds().count(),
          tod.subseconds().count()};
}

Timestamp fromFields(std::span<const std::int64_t> fields) {
  if (auto problem = problemWith(fields); !problem.empty()) detail::fail("timestamp: " + problem);
  return build(fields);
}

std::string encodeTimestamp(Timestamp ts) {
  return detail::dump(detail::timestampJson(ts));
}

Timestamp decodeTimestamp(std::string_view json) {
  return detail::asTimestamp(detail::parseJson(json, "timestamp"), detail::Path{nullptr, "timestamp"});
}

namespace detail {

Json timestampJson(Timestamp ts) {
  const auto f = toFields(ts);
  return Json::array({f[0], f[1], f[2], f[3], f[4], f[5], f[6]});
}

Timestamp asTimestamp(const Json& j, const Path& path) {
  if (!j.is_array()) fail(path, "expected a timestamp array [y, m, d, H, M, S, us], got " + std::string{j.type_name()});
  if (j.size() < 7) fail(path, "expected at least 7 integers, got " + std::to_string(j.size()));
  TimestampFields f{};
  for (std::size_t i = 0; i < f.size(); ++i)
    f[i] = asInt(j[i], path[i], std::numeric_limits<std::int64_t>::min(), std::numeric_limits<std::int64_t>::max());
  if (auto problem = problemWith(f); !problem.empty()) fail(path, problem);
  return build(f);
}

}  // namespace detail
}  // namespace tcs::protocol
