// SPDX-License-Identifier: MIT
// tcs-web's settings: the web: section (errors name file, line and key), --listen, the operator
// password (file or systemd credential), and that the config loader keeps web: to itself.
#include "settings.hpp"

#include <gtest/gtest.h>

#include "tcs/config.hpp"
#include "temp_dir.hpp"

namespace {

using tcs::web::parseListen;
using tcs::web::parseWebSettings;
using tcs::web::WebConfigError;

std::string errorOf(const std::string& yaml) {
  try {
    parseWebSettings(yaml, "services.yaml");
  } catch (const WebConfigError& e) {
    return e.what();
  }
  return "";
}

TEST(TheWebSettings, DefaultToReadOnlyOnTheLoopback) {
  const auto s = parseWebSettings("nats: {host: x}\nservices: []\n", "services.yaml");
  EXPECT_EQ(s.listen.host, "127.0.0.1");
  EXPECT_EQ(s.listen.port, 8470);
  EXPECT_FALSE(s.control);
  EXPECT_EQ(s.timeline, 200u);
}

TEST(TheWebSettings, ReadTheWebSection) {
  const auto s = parseWebSettings(
      "web:\n  listen: 0.0.0.0:9000\n  control: true\n  operator_password_file: /etc/tcs/pw\n  timeline: 50\n",
      "services.yaml");
  EXPECT_EQ(s.listen.host, "0.0.0.0");
  EXPECT_EQ(s.listen.port, 9000);
  EXPECT_TRUE(s.control);
  EXPECT_EQ(s.operatorPasswordFile, "/etc/tcs/pw");
  EXPECT_EQ(s.timeline, 50u);
}

TEST(TheWebSettings, NameFileLineAndKeyOfAnError) {
  EXPECT_EQ(errorOf("services: []\nweb:\n  contrl: true\n"),
            "services.yaml:3: web.contrl: unknown key (known: listen, control, operator_password_file, timeline)");
  EXPECT_EQ(errorOf("web:\n  control: maybe\n"), "services.yaml:2: web.control: 'maybe' is not a valid value");
  EXPECT_EQ(errorOf("web:\n  listen: localhost\n"),
            "services.yaml:2: web.listen: listen address 'localhost': expected ADDR:PORT, e.g. 127.0.0.1:8470");
  EXPECT_EQ(errorOf("web:\n  operator_password_file: pw.txt\n"),
            "services.yaml:2: web.operator_password_file: must be an absolute path");
  EXPECT_EQ(errorOf("web:\n  timeline: 0\n"), "services.yaml:2: web.timeline: must be from 1 to 10000, got 0");
  EXPECT_EQ(errorOf("web: [1]\n"), "services.yaml:1: web: must be a mapping (listen:, control:, …)");
}

TEST(AListenAddress, TakesIpv4Ipv6AndRefusesNonsense) {
  EXPECT_EQ(parseListen("127.0.0.1:8470").port, 8470);
  EXPECT_EQ(parseListen("[::1]:80").host, "::1");
  EXPECT_THROW(parseListen(""), WebConfigError);
  EXPECT_THROW(parseListen("127.0.0.1:0"), WebConfigError);
  EXPECT_THROW(parseListen("127.0.0.1:65536"), WebConfigError);
  EXPECT_THROW(parseListen("127.0.0.1:80x"), WebConfigError);
  EXPECT_THROW(parseListen("::1:80"), WebConfigError);
  EXPECT_THROW(parseListen("[::1]80"), WebConfigError);
}

TEST(TheOperatorPassword, ComesFromTheFileOrTheSystemdCredential) {
  tcs::test::TempDir dir;
  tcs::web::WebSettings s;
  s.control = true;
  EXPECT_THROW(tcs::web::operatorPassword(s, nullptr), WebConfigError);
  dir.write("creds/operator-password", "correct horse\n");
  EXPECT_EQ(tcs::web::operatorPassword(s, (dir / "creds").c_str()), "correct horse");
  s.operatorPasswordFile = dir.write("pw", "battery staple\n");
  EXPECT_EQ(tcs::web::operatorPassword(s, (dir / "creds").c_str()), "battery staple");
  s.operatorPasswordFile = dir.write("short", "abc\n");
  EXPECT_THROW(tcs::web::operatorPassword(s, nullptr), WebConfigError);
  s.operatorPasswordFile = dir / "missing";
  EXPECT_THROW(tcs::web::operatorPassword(s, nullptr), WebConfigError);
}

TEST(TheConfigLoader, KeepsTheWebSectionOutOfTheServicesSettings) {
  const auto r = tcs::config::parse(
      "web: {control: true}\ninterval: 3\nservices:\n  - {type: hello_world, variant: main}\n", "services.yaml");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r.config.services().size(), 1u);
  const auto& settings = r.config.services()[0].settings;
  EXPECT_TRUE(settings.contains("interval"));
  EXPECT_FALSE(settings.contains("web"));
  EXPECT_TRUE(r.diagnostics.empty()) << r.diagnostics.front().message;
}

}  // namespace
