// SPDX-License-Identifier: MIT
#include "settings.hpp"

#include <fmt/format.h>
#include <yaml-cpp/yaml.h>

#include <charconv>
#include <fstream>
#include <sstream>

namespace tcs::web {
namespace fs = std::filesystem;

namespace {

int parsePort(std::string_view text, std::string_view whole) {
  int port = -1;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), port);
  if (ec != std::errc{} || end != text.data() + text.size() || port < 1 || port > 65535)
    throw WebConfigError(
        fmt::format("listen address '{}': the port must be a number from 1 to 65535 (ADDR:PORT)", whole));
  return port;
}

std::string where(std::string_view file, const YAML::Node& node, std::string_view key) {
  return fmt::format("{}:{}: web.{}", file, node.Mark().line + 1, key);
}

}  // namespace

Listen parseListen(std::string_view text) {
  Listen l;
  if (text.empty()) throw WebConfigError("listen address '': expected ADDR:PORT, e.g. 127.0.0.1:8470");
  if (text.front() == '[') {  // [::1]:8470
    const auto close = text.find(']');
    if (close == std::string_view::npos || close + 1 >= text.size() || text[close + 1] != ':')
      throw WebConfigError(fmt::format("listen address '{}': expected [IPV6]:PORT", text));
    l.host = std::string(text.substr(1, close - 1));
    l.port = parsePort(text.substr(close + 2), text);
    return l;
  }
  const auto colon = text.rfind(':');
  if (colon == std::string_view::npos || colon == 0)
    throw WebConfigError(fmt::format("listen address '{}': expected ADDR:PORT, e.g. 127.0.0.1:8470", text));
  if (text.substr(0, colon).find(':') != std::string_view::npos)
    throw WebConfigError(fmt::format("listen address '{}': write an IPv6 address as [ADDR]:PORT", text));
  l.host = std::string(text.substr(0, colon));
  l.port = parsePort(text.substr(colon + 1), text);
  return l;
}

WebSettings parseWebSettings(std::string_view yaml, std::string_view fileName) {
  WebSettings s;
  YAML::Node root;
  try {
    root = YAML::Load(std::string(yaml));
  } catch (const YAML::Exception& e) {
    throw WebConfigError(fmt::format("{}:{}: {}", fileName, e.mark.line + 1, e.msg));
  }
  if (!root.IsMap()) return s;  // the config loader reports a top level that is not a mapping
  const YAML::Node web = root["web"];
  if (!web || web.IsNull()) return s;
  if (!web.IsMap())
    throw WebConfigError(
        fmt::format("{}:{}: web: must be a mapping (listen:, control:, …)", fileName, web.Mark().line + 1));
  for (const auto& kv : web) {
    const std::string key = kv.first.as<std::string>();
    const YAML::Node& v = kv.second;
    try {
      if (key == "listen") {
        s.listen = parseListen(v.as<std::string>());
      } else if (key == "control") {
        s.control = v.as<bool>();
      } else if (key == "operator_password_file") {
        s.operatorPasswordFile = v.as<std::string>();
        if (s.operatorPasswordFile.empty() || s.operatorPasswordFile.is_relative())
          throw WebConfigError("must be an absolute path");
      } else if (key == "timeline") {
        const long long n = v.as<long long>();
        if (n < 1 || n > 10000) throw WebConfigError(fmt::format("must be from 1 to 10000, got {}", n));
        s.timeline = static_cast<std::size_t>(n);
      } else {
        throw WebConfigError("unknown key (known: listen, control, operator_password_file, timeline)");
      }
    } catch (const YAML::Exception&) {
      throw WebConfigError(fmt::format("{}: '{}' is not a valid value", where(fileName, v, key), YAML::Dump(v)));
    } catch (const WebConfigError& e) {
      throw WebConfigError(fmt::format("{}: {}", where(fileName, v, key), e.what()));
    }
  }
  return s;
}

WebSettings loadWebSettings(const fs::path& file) {
  std::ifstream in(file);
  if (!in) throw WebConfigError(fmt::format("cannot read {}", file.string()));
  std::stringstream text;
  text << in.rdbuf();
  return parseWebSettings(text.str(), file.string());
}

std::string operatorPassword(const WebSettings& settings, const char* credentialsDirectory) {
  fs::path file = settings.operatorPasswordFile;
  if (file.empty() && credentialsDirectory && *credentialsDirectory) {
    const fs::path credential = fs::path(credentialsDirectory) / "operator-password";
    if (fs::exists(credential)) file = credential;
  }
  if (file.empty())
    throw WebConfigError(
        "web.control is true but there is no operator password: set web.operator_password_file, or pass the "
        "credential 'operator-password' (LoadCredential=operator-password:/etc/tcs/web-operator-password)");
  std::ifstream in(file);
  std::string line;
  if (!in || !std::getline(in, line))
    throw WebConfigError(fmt::format("cannot read the operator password from {}", file.string()));
  if (!line.empty() && line.back() == '\r') line.pop_back();
  if (line.size() < 8)
    throw WebConfigError(fmt::format("the operator password in {} is shorter than 8 characters", file.string()));
  return line;
}

}  // namespace tcs::web
