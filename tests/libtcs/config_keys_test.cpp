// SPDX-License-Identifier: MIT
// doc/config.md's "Service entry" table against the loader's one table of service keys
// (tcs::config::serviceKeys(), defined in libtcs/src/config/service_keys.cpp).
#include <fmt/format.h>
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <fstream>
#include <map>
#include <sstream>
#include <string>
#include <string_view>
#include <vector>

#include "tcs/config.hpp"

namespace cfg = tcs::config;
using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::IsEmpty;

namespace {

constexpr std::string_view kTableSource = "libtcs/src/config/service_keys.cpp";

std::string trim(std::string_view s) {
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && s.back() == ' ') s.remove_suffix(1);
  return std::string{s};
}

std::vector<std::string> cells(std::string_view row) {
  if (row.starts_with('|')) row.remove_prefix(1);
  if (row.ends_with('|')) row.remove_suffix(1);
  std::vector<std::string> out;
  std::size_t start = 0;
  for (std::size_t i = 0; i <= row.size(); ++i)
    if (i == row.size() || row[i] == '|') {
      out.push_back(trim(row.substr(start, i - start)));
      start = i + 1;
    }
  return out;
}

struct DocRow {
  int line;
  std::vector<std::string> cells;
};

/**
 * Every disagreement between the "## Service entry" table of @p markdown and @p keys, one
 * readable line each; empty when they agree.
 */
std::vector<std::string> docProblems(const std::string& markdown, const std::vector<cfg::ServiceKeyInfo>& keys) {
  std::vector<std::string> problems;
  std::istringstream in(markdown);
  std::string line;
  int n = 0;
  bool inSection = false, inTable = false, sawHeader = false;
  std::map<std::string, DocRow> documented;
  while (std::getline(in, line)) {
    ++n;
    if (line.starts_with("## ")) {
      if (inSection) break;
      inSection = line == "## Service entry";
      continue;
    }
    if (!inSection) continue;
    if (!line.starts_with('|')) {
      if (inTable) break;  // the first table of the section ends
      continue;
    }
    inTable = true;
    if (!sawHeader) {
      sawHeader = true;
      if (cells(line) != std::vector<std::string>{"key", "type", "default", "meaning"})
        problems.push_back(fmt::format("doc/config.md:{}: the header must be | key | type | default | meaning |", n));
      continue;
    }
    if (line.starts_with("|---")) continue;
    auto row = cells(line);
    if (row.size() != 4) {
      problems.push_back(fmt::format("doc/config.md:{}: expected 4 cells, got {}", n, row.size()));
      continue;
    }
    const std::string& key = row[0];
    if (key.find('`') == std::string::npos) continue;  // prose such as "anything else"
    if (key.size() < 3 || key.front() != '`' || key.back() != '`' || key.find('`', 1) != key.size() - 1) {
      problems.push_back(fmt::format("doc/config.md:{}: the key cell {} must be one `key` (one row per key)", n, key));
      continue;
    }
    const std::string name = key.substr(1, key.size() - 2);
    if (auto [it, inserted] = documented.emplace(name, DocRow{n, row}); !inserted)
      problems.push_back(
          fmt::format("doc/config.md:{}: key '{}' is documented twice (also line {})", n, name, it->second.line));
  }
  if (!sawHeader) problems.push_back("doc/config.md: no table under '## Service entry'");
  for (const auto& k : keys) {
    auto it = documented.find(std::string{k.name});
    if (it == documented.end()) {
      problems.push_back(fmt::format("key '{}' is in the loader's table ({}) but not documented in doc/config.md",
                                     k.name, kTableSource));
      continue;
    }
    const auto& [docLine, row] = it->second;
    const std::pair<std::string_view, std::string_view> columns[] = {
        {"type", k.type}, {"default", k.defaultValue}, {"meaning", k.meaning}};
    for (std::size_t c = 0; c < 3; ++c)
      if (row[c + 1] != columns[c].second)
        problems.push_back(
            fmt::format("doc/config.md:{}: the {} of key '{}' differs from {}:\n  doc:   {}\n  table: {}", docLine,
                        columns[c].first, k.name, kTableSource, row[c + 1], columns[c].second));
    documented.erase(it);
  }
  for (const auto& [name, row] : documented)
    problems.push_back(fmt::format("doc/config.md:{}: key '{}' is documented but not in the loader's table ({})",
                                   row.line, name, kTableSource));
  return problems;
}

std::string readDoc() {
  std::ifstream in(std::string{TCS_SOURCE_DIR} + "/doc/config.md");
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string joined(const std::vector<std::string>& lines) {
  std::string out;
  for (const auto& l : lines) out += l + "\n";
  return out;
}

const std::vector<cfg::ServiceKeyInfo> kTwoKeys = {{"restart_sec", "seconds", "5", "`RestartSec=`"},
                                                   {"enabled", "boolean", "true", "tcs: false = not wanted"}};
constexpr const char* kTwoKeysDoc =
    "# x\n\n## Service entry\n\n| key | type | default | meaning |\n|---|---|---|---|\n"
    "| `restart_sec` | seconds | 5 | `RestartSec=` |\n| `enabled` | boolean | true | tcs: false = not wanted |\n"
    "| anything else | — | — | settings |\n\n## Next\n\n| `ignored` | a | b | c |\n";

}  // namespace

TEST(TheServiceKeyTable, AgreesWithDocConfigMdRowByRow) {
  const std::string doc = readDoc();
  ASSERT_FALSE(doc.empty()) << "cannot read " << TCS_SOURCE_DIR << "/doc/config.md";
  EXPECT_THAT(docProblems(doc, cfg::serviceKeys()), IsEmpty()) << joined(docProblems(doc, cfg::serviceKeys()));
}

TEST(TheServiceKeyTable, NamesEveryKeyOnceInValidationOrder) {
  std::vector<std::string_view> names;
  for (const auto& k : cfg::serviceKeys()) names.push_back(k.name);
  EXPECT_EQ(names.front(), "type");
  for (std::size_t i = 0; i < names.size(); ++i)
    for (std::size_t j = i + 1; j < names.size(); ++j) EXPECT_NE(names[i], names[j]);
  for (const auto& k : cfg::serviceKeys()) {
    EXPECT_FALSE(k.type.empty()) << k.name;
    EXPECT_FALSE(k.defaultValue.empty()) << k.name;
    EXPECT_FALSE(k.meaning.empty()) << k.name;
  }
}

TEST(TheDocCheck, PassesWhenTheDocAndTheTableAgree) {
  EXPECT_THAT(docProblems(kTwoKeysDoc, kTwoKeys), IsEmpty()) << joined(docProblems(kTwoKeysDoc, kTwoKeys));
}

TEST(TheDocCheck, FailsForAKeyTheDocDoesNotDocument) {
  auto keys = kTwoKeys;
  keys.push_back({"watchdog_sec", "seconds", "30", "`WatchdogSec=`"});
  EXPECT_THAT(docProblems(kTwoKeysDoc, keys),
              ElementsAre(HasSubstr("key 'watchdog_sec' is in the loader's table "
                                    "(libtcs/src/config/service_keys.cpp) but not documented in doc/config.md")));
}

TEST(TheDocCheck, FailsForADocumentedKeyTheTableDoesNotHave) {
  const std::vector<cfg::ServiceKeyInfo> keys = {kTwoKeys[0]};
  EXPECT_THAT(docProblems(kTwoKeysDoc, keys),
              ElementsAre("doc/config.md:8: key 'enabled' is documented but not in the loader's table "
                          "(libtcs/src/config/service_keys.cpp)"));
}

TEST(TheDocCheck, FailsForADifferentTypeDefaultOrMeaningShowingBoth) {
  auto keys = kTwoKeys;
  keys[0].type = "number";
  keys[1].defaultValue = "false";
  keys[1].meaning = "tcs: true = wanted";
  EXPECT_THAT(docProblems(kTwoKeysDoc, keys),
              ElementsAre(HasSubstr("doc/config.md:7: the type of key 'restart_sec' differs from "
                                    "libtcs/src/config/service_keys.cpp:\n  doc:   seconds\n  table: number"),
                          HasSubstr("doc/config.md:8: the default of key 'enabled' differs"),
                          HasSubstr("the meaning of key 'enabled' differs")));
}

TEST(TheDocCheck, FailsForRowsItCannotRead) {
  std::string doc = kTwoKeysDoc;
  doc.replace(doc.find("| `enabled` |"), 13, "| `enabled`, `x` |");
  EXPECT_THAT(docProblems(doc, kTwoKeys), ElementsAre(HasSubstr("must be one `key`"), HasSubstr("'enabled'")));
  EXPECT_THAT(docProblems("# x\n\n## Service entry\n\nno table\n", kTwoKeys),
              testing::Contains("doc/config.md: no table under '## Service entry'"));
  std::string twice = kTwoKeysDoc;
  twice.insert(twice.find("| anything"), "| `enabled` | boolean | true | tcs: false = not wanted |\n");
  EXPECT_THAT(docProblems(twice, kTwoKeys), ElementsAre(HasSubstr("key 'enabled' is documented twice (also line 8)")));
}
