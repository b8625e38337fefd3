// SPDX-License-Identifier: MIT
#include "render.hpp"

#include <gtest/gtest.h>

#include <filesystem>

#include "tcs/config.hpp"
#include "temp_dir.hpp"

using tcs::unitgen::escapeSpecifiers;
using tcs::unitgen::formatTimespan;
using tcs::unitgen::quoteEnvironmentAssignment;
using tcs::unitgen::quoteExecArgument;
using tcs::unitgen::render;

namespace {

tcs::config::Config load(const std::string& yaml) {
  tcs::config::LoadOptions o;
  o.environment = {};
  o.builtinServiceDir = "/usr/libexec/tcs";
  auto r = tcs::config::parse(yaml, "/etc/tcs/services.yaml", o);
  EXPECT_TRUE(r.ok()) << (r.diagnostics.empty() ? "" : r.diagnostics.front().format());
  return r.config;
}

TEST(FormatTimespan, UsesTheLargestExactUnit) {
  const std::pair<double, const char*> table[] = {{0, "0"},       {5, "5s"},          {60, "60s"},      {2.5, "2500ms"},
                                                  {0.1, "100ms"}, {0.00025, "250us"}, {1.0000001, "1s"}};
  for (const auto& [in, out] : table) EXPECT_EQ(formatTimespan(in), out) << in;
}

TEST(QuoteExecArgument, EscapesQuotesBackslashesSpecifiersAndDollars) {
  EXPECT_EQ(quoteExecArgument("/usr/bin/x"), R"("/usr/bin/x")");
  EXPECT_EQ(quoteExecArgument(R"(a "b" c\d)"), R"("a \"b\" c\\d")");
  EXPECT_EQ(quoteExecArgument("50%$HOME"), R"("50%%$$HOME")");
}

TEST(QuoteEnvironmentAssignment, KeepsDollarsBecauseEnvironmentDoesNotExpandThem) {
  EXPECT_EQ(quoteEnvironmentAssignment("A=$x %i \"q\""), R"("A=$x %%i \"q\"")");
}

TEST(EscapeSpecifiers, DoublesEveryPercent) {
  EXPECT_EQ(escapeSpecifiers("100% %n"), "100%% %%n");
}

TEST(Render, WritesOneDropInPerServiceAndAWantsLinkPerEnabledOne) {
  const auto units = render(load(R"(
services:
  - {type: a, variant: one}
  - {type: a, variant: two, enabled: false}
  - {type: b.c, variant: x}
)"));
  std::vector<std::string> paths;
  for (const auto& [p, e] : units) paths.push_back(p);
  EXPECT_EQ(paths, (std::vector<std::string>{"tcs.target.wants/tcs@a:one.service", "tcs.target.wants/tcs@b.c:x.service",
                                             "tcs@a:one.service.d/50-tcs.conf", "tcs@a:two.service.d/50-tcs.conf",
                                             "tcs@b.c:x.service.d/50-tcs.conf"}));
  const auto& link = units.at("tcs.target.wants/tcs@a:one.service");
  EXPECT_EQ(link.kind, tcs::unitgen::Entry::Kind::Symlink);
  EXPECT_EQ(link.content, "/lib/systemd/system/tcs@.service");
}

// The same config written in another order (services, and the keys of every mapping but an
// environment:, which is rendered in file order) renders the same units. determinism_test.cpp
// runs the binary on both files in fresh processes against committed output.
TEST(Render, IgnoresTheOrderOfServicesAndOfTheKeysOfAnEntry) {
  const std::filesystem::path dir{TCS_UNITGEN_DETERMINISM_DIR};
  const std::string a = tcs::test::readFile(dir / "fleet.yaml");
  const std::string b = tcs::test::readFile(dir / "fleet-reordered.yaml");
  ASSERT_NE(a, b);
  const auto units = render(load(a));
  EXPECT_EQ(units.size(), 7u) << "four drop-ins and three wants links";
  const auto reordered = render(load(b));
  ASSERT_EQ(reordered.size(), units.size());
  for (const auto& [path, entry] : units) {
    const auto it = reordered.find(path);
    ASSERT_NE(it, reordered.end()) << path;
    EXPECT_EQ(it->second.content, entry.content) << path;
    EXPECT_EQ(it->second.kind, entry.kind) << path;
  }
}

TEST(Render, MapsRestartMaxToABurstThatCountsTheFirstStart) {
  const auto units =
      render(load("services:\n  - {type: a, variant: x, restart: on-failure, restart_max: 2, restart_window: 30}\n"));
  const auto& text = units.at("tcs@a:x.service.d/50-tcs.conf").content;
  EXPECT_NE(text.find("\nStartLimitBurst=3\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nStartLimitIntervalSec=30s\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nRestart=on-failure\n"), std::string::npos) << text;
}

TEST(Render, DisablesTheStartLimitWhenRestartsAreUnlimited) {
  const auto units = render(load("services:\n  - {type: a, variant: x, restart: always}\n"));
  const auto& text = units.at("tcs@a:x.service.d/50-tcs.conf").content;
  EXPECT_NE(text.find("\nStartLimitIntervalSec=0\n"), std::string::npos) << text;
  EXPECT_EQ(text.find("StartLimitBurst"), std::string::npos) << text;
}

TEST(Render, ResetsTheTemplateExecStartBeforeSettingItsOwn) {
  const auto units = render(load("services:\n  - {type: a, variant: x}\n"));
  const auto& text = units.at("tcs@a:x.service.d/50-tcs.conf").content;
  const auto reset = text.find("\nExecStart=\n");
  const auto set = text.find("\nExecStart=\"/usr/libexec/tcs/a\" \"/etc/tcs/services.yaml\" \"x\" --runner-id");
  ASSERT_NE(reset, std::string::npos) << text;
  ASSERT_NE(set, std::string::npos) << text;
  EXPECT_LT(reset, set);
}

TEST(Render, CannotBeMadeToAddADirectiveThroughAValue) {
  // Newlines never get this far (the loader rejects them); what does get here is escaped.
  const auto units = render(load(R"(
registry:
  a: "/opt/we ird/%n$x"
services:
  - type: a
    variant: x
    description: "100% sure"
    environment: {GREETING: "hi \"there\" $USER %i"}
)"));
  const auto& text = units.at("tcs@a:x.service.d/50-tcs.conf").content;
  EXPECT_NE(text.find("Description=100%% sure\n"), std::string::npos) << text;
  EXPECT_NE(text.find(R"(ExecStart="/opt/we ird/%%n$x")"), std::string::npos) << text;  // no $$ in the path
  EXPECT_NE(text.find(R"(Environment="GREETING=hi \"there\" $USER %%i")"), std::string::npos) << text;
}

TEST(Render, OrdersAfterEveryRequiredServiceOnce) {
  const auto units = render(load(R"(
services:
  - {type: a, variant: x, requires: a.y, after: [a.y, a.z]}
  - {type: a, variant: y}
  - {type: a, variant: z}
)"));
  const auto& text = units.at("tcs@a:x.service.d/50-tcs.conf").content;
  EXPECT_NE(text.find("Requires=tcs@a:y.service\nAfter=tcs@a:y.service\nAfter=tcs@a:z.service\n"), std::string::npos)
      << text;
}

TEST(Render, EveryFileNamesItsGeneratorAndSource) {
  const auto units = render(load("services:\n  - {type: a, variant: x}\n"));
  const auto& text = units.at("tcs@a:x.service.d/50-tcs.conf").content;
  EXPECT_TRUE(
      text.starts_with("# Automatically generated by tcs-unitgen from /etc/tcs/services.yaml (service a.x).\n"));
  EXPECT_NE(text.find("\nSourcePath=/etc/tcs/services.yaml\n"), std::string::npos);
}

TEST(Render, HandsTheTopLevelNatsSecretsToTheSupervisorThroughItsOwnDropIn) {
  const auto units = render(load(R"(
nats: {host: 127.0.0.1, user: sup, password_file: /etc/tcs/sup%1.password, tls: {ca: /etc/ca.pem}}
services:
  - {type: a, variant: x, nats: {nkey_seed_file: /etc/tcs/a.nk}}
)"));
  const auto& text = units.at("tcs-supervisor.service.d/50-tcs.conf").content;
  EXPECT_EQ(
      text,
      "# Automatically generated by tcs-unitgen from /etc/tcs/services.yaml (the supervisor's NATS credentials).\n"
      "# Do not edit: change the config's nats: section and run tcs-unitgen (or systemctl daemon-reload).\n"
      "[Service]\n"
      "LoadCredential=nats.password:/etc/tcs/sup%%1.password\n");
  // The service's own entry names its own file only.
  const auto& service = units.at("tcs@a:x.service.d/50-tcs.conf").content;
  EXPECT_NE(service.find("\nLoadCredential=nats.nkey:/etc/tcs/a.nk\n"), std::string::npos);
  EXPECT_EQ(service.find("nats.password"), std::string::npos);
}

TEST(Render, HandsSystemdCredsFilesOverAsEncryptedCredentials) {
  // `systemd-creds encrypt --name=nats.password secret /etc/credstore.encrypted/x.cred`: systemd
  // decrypts it into $CREDENTIALS_DIRECTORY under the same name libtcs looks for.
  const auto units = render(load(R"(
nats: {host: 127.0.0.1, user: sup, password_file: /etc/credstore.encrypted/sup.cred, tls: {cert: /etc/tls.pem, key: /etc/tls.key}}
services:
  - {type: a, variant: x, nats: {user: a, password_file: /etc/credstore.encrypted/a.cred}}
)"));
  EXPECT_NE(units.at("tcs-supervisor.service.d/50-tcs.conf")
                .content.find("\nLoadCredentialEncrypted=nats.password:/etc/credstore.encrypted/sup.cred\n"),
            std::string::npos);
  const auto& service = units.at("tcs@a:x.service.d/50-tcs.conf").content;
  EXPECT_NE(service.find("\nLoadCredentialEncrypted=nats.password:/etc/credstore.encrypted/a.cred\n"),
            std::string::npos);
  EXPECT_NE(service.find("\nLoadCredential=nats.tls-key:/etc/tls.key\n"), std::string::npos) << service;
}

TEST(Render, WritesNoSupervisorDropInWithoutSecretFilesOrForAUserManager) {
  EXPECT_FALSE(render(load("nats: {host: h, user: u, password: p}\nservices:\n  - {type: a, variant: x}\n"))
                   .count("tcs-supervisor.service.d/50-tcs.conf"));
  tcs::unitgen::RenderOptions user;
  user.mode = tcs::unitgen::Mode::User;
  EXPECT_FALSE(render(load("nats: {creds_file: /etc/tcs/x.creds}\nservices:\n  - {type: a, variant: x}\n"), user)
                   .count("tcs-supervisor.service.d/50-tcs.conf"));
}

}  // namespace
