// SPDX-License-Identifier: MIT
// Deep merge of the top-level globals under a service entry (the entry wins).
#include "merge.hpp"

#include <algorithm>

namespace tcs::config {

using Kind = Value::Kind;

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

}  // namespace tcs::config
