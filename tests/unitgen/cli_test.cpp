// SPDX-License-Identifier: MIT
#include "cli.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>
#include <fstream>

#include "temp_dir.hpp"

namespace fs = std::filesystem;
using tcs::test::readFile;
using tcs::test::TempDir;

namespace {

struct Outcome {
  int status;
  std::string out, err;
};

class UnitgenCli : public ::testing::Test {
 protected:
  Outcome invoke(std::vector<std::string> args, std::string argv0 = "tcs-unitgen") {
    args.insert(args.begin(), argv0);
    std::FILE* out = std::tmpfile();
    std::FILE* err = std::tmpfile();
    const int status = tcs::unitgen::run(args, defaults_, out, err);
    auto slurp = [](std::FILE* f) {
      std::fflush(f);
      std::rewind(f);
      std::string s;
      char buf[4096];
      for (std::size_t n; (n = std::fread(buf, 1, sizeof buf, f)) > 0;) s.append(buf, n);
      std::fclose(f);
      return s;
    };
    return {status, slurp(out), slurp(err)};
  }

  TempDir dir_;
  static tcs::unitgen::Defaults makeDefaults(const TempDir& dir) {
    tcs::unitgen::Defaults d;
    d.configPath = (dir / "etc/services.yaml").string();
    d.outputDir = (dir / "etc/systemd/system").string();
    d.templateUnit = "/lib/systemd/system/tcs@.service";
    d.serviceBinDir = "/usr/libexec/tcs";
    d.version = "9.9.9";
    d.userTemplate = "[Service]\nExecStart=@TCS_UNITGEN@ --not-configured %i @TCS_CONFIG@\n";
    d.userTarget = "[Unit]\nDocumentation=file://@TCS_DOC_DIR@/development.md\n";
    d.docDir = "/usr/share/doc/tcs";
    d.selfPath = "/home/dev/tcs/build/unitgen/tcs-unitgen";
    d.environment = {{"HOME", (dir / "home").string()}};
    return d;
  }
  tcs::unitgen::Defaults defaults_ = makeDefaults(dir_);
  const std::string good_ = "services:\n  - {type: a, variant: x}\n  - {type: a, variant: y, enabled: false}\n";
  const std::string bad_ = "services:\n  - {type: a, variant: x}\n  - {type: a, variant: y, restart: sometimes}\n";
};

TEST_F(UnitgenCli, PrintsHelpAndVersion) {
  const auto help = invoke({"--help"});
  EXPECT_EQ(help.status, 0);
  EXPECT_NE(help.out.find("Usage: tcs-unitgen"), std::string::npos);
  EXPECT_NE(help.out.find("--dry-run"), std::string::npos);
  const auto version = invoke({"--version"});
  EXPECT_EQ(version.out, "tcs-unitgen 9.9.9\n");
}

TEST_F(UnitgenCli, HelpDescribesUserModeBinDirAndRemove) {
  const auto help = invoke({"--help"});
  for (const char* word : {"--user", "--bin-dir DIR", "--remove", "--nats-address", "~/.config/systemd/user",
                           "TCS_SERVICE_BIN_DIR", "systemctl --user"})
    EXPECT_NE(help.out.find(word), std::string::npos) << word << " not in:\n" << help.out;
}

TEST_F(UnitgenCli, RejectsUnknownOptionsWithUsageStatus) {
  const auto r = invoke({"--frobnicate"});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("unknown option '--frobnicate'"), std::string::npos);
}

TEST_F(UnitgenCli, WritesUnitsToTheOutputDirectory) {
  const auto cfg = dir_.write("c/services.yaml", good_);
  const auto r = invoke({cfg.string(), "--output-dir", (dir_ / "out").string()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "out/tcs@a:x.service.d/50-tcs.conf"));
  EXPECT_TRUE(fs::is_symlink(dir_ / "out/tcs.target.wants/tcs@a:x.service"));
  EXPECT_FALSE(fs::exists(dir_ / "out/tcs.target.wants/tcs@a:y.service"));
  EXPECT_NE(r.out.find("2 service(s) (1 enabled)"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("daemon-reload"), std::string::npos) << r.out;
}

TEST_F(UnitgenCli, UsesTheDefaultConfigAndOutputDirectory) {
  dir_.write("etc/services.yaml", good_);
  EXPECT_EQ(invoke({}).status, 0);
  EXPECT_TRUE(fs::exists(dir_ / "etc/systemd/system/tcs@a:x.service.d/50-tcs.conf"));
}

TEST_F(UnitgenCli, WritesNothingWhenTheConfigHasAnError) {
  const auto cfg = dir_.write("c/services.yaml", good_);
  ASSERT_EQ(invoke({cfg.string(), "-o", (dir_ / "out").string()}).status, 0);
  const auto before = readFile(dir_ / "out/tcs@a:x.service.d/50-tcs.conf");
  dir_.write("c/services.yaml", bad_ + "  - {type: a, variant: z}\n");
  const auto r = invoke({cfg.string(), "-o", (dir_ / "out").string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("services.yaml:3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("services[1].restart: invalid value 'sometimes'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing written"), std::string::npos) << r.err;
  EXPECT_EQ(readFile(dir_ / "out/tcs@a:x.service.d/50-tcs.conf"), before);
  EXPECT_FALSE(fs::exists(dir_ / "out/tcs@a:z.service.d"));
  EXPECT_TRUE(fs::exists(dir_ / "out/tcs@a:y.service.d"));  // stale removal did not run either
}

TEST_F(UnitgenCli, ReportsAMissingConfigFile) {
  const auto r = invoke({(dir_ / "nope.yaml").string(), "-o", (dir_ / "out").string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("nope.yaml: cannot open: No such file or directory"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "out"));
}

TEST_F(UnitgenCli, ReportsBrokenYamlWithItsPosition) {
  const auto cfg = dir_.write("c/services.yaml", "services:\n  - type: a\n   variant: [x\n");
  const auto r = invoke({cfg.string(), "--check"});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find("services.yaml:3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("invalid YAML"), std::string::npos) << r.err;
}

TEST_F(UnitgenCli, CheckValidatesWithoutWriting) {
  const auto cfg = dir_.write("c/services.yaml", good_);
  const auto ok = invoke({cfg.string(), "--check"});
  EXPECT_EQ(ok.status, 0);
  EXPECT_NE(ok.out.find("OK, 2 service(s)"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "etc/systemd/system"));
  dir_.write("c/services.yaml", bad_);
  EXPECT_EQ(invoke({cfg.string(), "--check"}).status, 1);
}

TEST_F(UnitgenCli, DryRunPrintsInsteadOfWriting) {
  const auto cfg = dir_.write("c/services.yaml", good_);
  const auto r = invoke({cfg.string(), "--dry-run"});
  EXPECT_EQ(r.status, 0);
  EXPECT_NE(r.out.find("--- tcs@a:x.service.d/50-tcs.conf ---\n# Automatically generated"), std::string::npos);
  EXPECT_FALSE(fs::exists(dir_ / "etc/systemd/system"));
}

TEST_F(UnitgenCli, GeneratorModeWritesTheValidServicesAndFailsForTheInvalidOnes) {
  dir_.write("etc/services.yaml", bad_);
  const auto r =
      invoke({(dir_ / "gen").string(), (dir_ / "early").string(), (dir_ / "late").string()}, "/x/tcs-generator");
  EXPECT_EQ(r.status, 1);
  EXPECT_TRUE(fs::exists(dir_ / "gen/tcs@a:x.service.d/50-tcs.conf"));
  EXPECT_FALSE(fs::exists(dir_ / "gen/tcs@a:y.service.d"));
  EXPECT_FALSE(fs::exists(dir_ / "early"));
  EXPECT_FALSE(fs::exists(dir_ / "late"));
}

TEST_F(UnitgenCli, GeneratorModeWithoutAConfigDoesNothing) {
  const auto r = invoke({"--generator", (dir_ / "gen").string()});
  EXPECT_EQ(r.status, 0) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "gen"));
}

TEST_F(UnitgenCli, GeneratorModeNeedsOneOrThreeDirectories) {
  EXPECT_EQ(invoke({"a", "b"}, "tcs-generator").status, 2);
}

TEST_F(UnitgenCli, ExplainsAnInstanceThatIsNotConfigured) {
  dir_.write("etc/services.yaml", good_);
  const auto r = invoke({"--not-configured", "b:main"});
  EXPECT_EQ(r.status, tcs::unitgen::kExitConfig);
  EXPECT_NE(r.err.find("tcs@b:main.service: service 'b.main' is not configured"), std::string::npos) << r.err;
  dir_.write("etc/services.yaml", bad_);
  const auto broken = invoke({"--not-configured", "a:y"});
  EXPECT_EQ(broken.status, tcs::unitgen::kExitConfig);
  EXPECT_NE(broken.err.find("config error: "), std::string::npos) << broken.err;
  EXPECT_NE(broken.err.find("services[1].restart: invalid value 'sometimes'"), std::string::npos) << broken.err;
  EXPECT_NE(broken.err.find("is configured in"), std::string::npos) << broken.err;
  EXPECT_NE(broken.err.find("as services[1] but invalid"), std::string::npos) << broken.err;
  const auto invalid = invoke({"--not-configured", "no colon"});
  EXPECT_EQ(invalid.status, tcs::unitgen::kExitConfig);
  EXPECT_NE(invalid.err.find("not a valid tcs instance"), std::string::npos) << invalid.err;
}

}  // namespace

// ---- --user (development mode) ------------------------------------------------------------------

namespace {
// An executable stand-in for a service binary in a fake build tree.
void makeBinary(const fs::path& p) {
  fs::create_directories(p.parent_path());
  std::ofstream(p) << "#!/bin/sh\n";
  fs::permissions(p, fs::perms::owner_all);
}
}  // namespace

TEST_F(UnitgenCli, UserModeWritesTheTemplateTargetDropInsAndLinksUnderXdgConfigHome) {
  const auto cfg = dir_.write("c/services.yaml", good_);
  makeBinary(dir_ / "build/services/bin/a");
  defaults_.environment["XDG_CONFIG_HOME"] = (dir_ / "xdg").string();
  defaults_.environment["XDG_RUNTIME_DIR"] = "/run/user/1000";
  const auto r = invoke({"--user", "--bin-dir", (dir_ / "build/services/bin").string(), cfg.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  const fs::path units = dir_ / "xdg/systemd/user";
  const auto tmpl = readFile(units / "tcs@.service");
  EXPECT_TRUE(tmpl.starts_with("# Automatically generated by tcs-unitgen --user")) << tmpl;
  EXPECT_NE(
      tmpl.find("ExecStart=\"/home/dev/tcs/build/unitgen/tcs-unitgen\" --not-configured %i \"" + cfg.string() + "\"\n"),
      std::string::npos)
      << tmpl;
  EXPECT_NE(readFile(units / "tcs.target").find("file:///usr/share/doc/tcs/development.md"), std::string::npos);
  EXPECT_EQ(fs::read_symlink(units / "tcs.target.wants/tcs@a:x.service"), units / "tcs@.service");
  const auto dropIn = readFile(units / "tcs@a:x.service.d/50-tcs.conf");
  EXPECT_NE(dropIn.find("ExecStart=\"" + (dir_ / "build/services/bin/a").string() + "\" "), std::string::npos)
      << dropIn;
  EXPECT_NE(r.out.find("systemctl --user daemon-reload"), std::string::npos) << r.out;
  EXPECT_EQ(r.out.find("XDG_RUNTIME_DIR"), std::string::npos) << r.out;
}

TEST_F(UnitgenCli, UserModeWritesBelowHomeWithoutXdgConfigHomeAndNotesAMissingUserManager) {
  const auto cfg = dir_.write("c/services.yaml", good_);
  makeBinary(dir_ / "bin/a");
  defaults_.environment["XDG_CONFIG_HOME"] = "relative/is/ignored";
  const auto r = invoke({"--user", "--bin-dir=" + (dir_ / "bin").string(), cfg.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_TRUE(fs::exists(dir_ / "home/.config/systemd/user/tcs@a:x.service.d/50-tcs.conf"));
  EXPECT_NE(r.out.find("XDG_RUNTIME_DIR is not set"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("loginctl enable-linger"), std::string::npos) << r.out;
  EXPECT_NE(r.out.find("machinectl shell"), std::string::npos) << r.out;
}

TEST_F(UnitgenCli, UserModeAsRootIsRefusedWithoutAnOutputDirectory) {
  const auto cfg = dir_.write("c/services.yaml", good_);
  makeBinary(dir_ / "bin/a");
  defaults_.root = true;
  const auto r = invoke({"--user", "--bin-dir", (dir_ / "bin").string(), cfg.string()});
  EXPECT_EQ(r.status, 2);
  EXPECT_NE(r.err.find("this is root"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("--output-dir"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "home"));
  const auto ok = invoke({"--user", "--bin-dir", (dir_ / "bin").string(), "-o", (dir_ / "out").string(), cfg.string()});
  EXPECT_EQ(ok.status, 0) << ok.err;
  EXPECT_TRUE(fs::exists(dir_ / "out/tcs@.service"));
}

TEST_F(UnitgenCli, UserModeNamesAMissingBinaryWhereTheConfigHasItAndWritesNothing) {
  const auto cfg = dir_.write("c/services.yaml", "services:\n  - {type: a, variant: x}\n  - {type: b, variant: y}\n");
  makeBinary(dir_ / "bin/a");
  const auto r = invoke({"--user", "--bin-dir", (dir_ / "bin").string(), cfg.string()});
  EXPECT_EQ(r.status, 1);
  EXPECT_NE(r.err.find(cfg.string() + ":3:"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("services[1]: service b.y: binary " + (dir_ / "bin/b").string() + " does not exist"),
            std::string::npos)
      << r.err;
  EXPECT_NE(r.err.find("registry 'b: ~'"), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("nothing written"), std::string::npos) << r.err;
  EXPECT_FALSE(fs::exists(dir_ / "home/.config/systemd/user"));
  EXPECT_EQ(invoke({"--user", "--check", "--bin-dir", (dir_ / "bin").string(), cfg.string()}).status, 1);
}

TEST_F(UnitgenCli, UserModeTakesTheBinDirFromTcsServiceBinDir) {
  const auto cfg = dir_.write("c/services.yaml", good_);
  makeBinary(dir_ / "envbin/a");
  defaults_.environment["TCS_SERVICE_BIN_DIR"] = (dir_ / "envbin").string();
  const auto r = invoke({"--user", cfg.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(
      readFile(dir_ / "home/.config/systemd/user/tcs@a:x.service.d/50-tcs.conf").find((dir_ / "envbin/a").string()),
      std::string::npos);
}

TEST_F(UnitgenCli, UserModeWarnsThatAUserKeyIsIgnoredAndRendersNoUserLine) {
  const auto cfg = dir_.write("c/services.yaml", "services:\n  - {type: a, variant: x, user: observer}\n");
  makeBinary(dir_ / "bin/a");
  const auto r = invoke({"--user", "--bin-dir", (dir_ / "bin").string(), cfg.string()});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.err.find(":2:5: warning: services[0].user: 'observer' is ignored under --user"), std::string::npos)
      << r.err;
  EXPECT_EQ(readFile(dir_ / "home/.config/systemd/user/tcs@a:x.service.d/50-tcs.conf").find("User="),
            std::string::npos);
}

TEST_F(UnitgenCli, RemoveDeletesEveryFileItWroteAndNothingElse) {
  const auto cfg = dir_.write("c/services.yaml", good_);
  makeBinary(dir_ / "bin/a");
  ASSERT_EQ(invoke({"--user", "--bin-dir", (dir_ / "bin").string(), cfg.string()}).status, 0);
  const fs::path units = dir_ / "home/.config/systemd/user";
  dir_.write("home/.config/systemd/user/tcs@a:x.service.d/60-mine.conf", "[Service]\n");
  dir_.write("home/.config/systemd/user/mine.service", "[Service]\n");
  const auto r = invoke({"--user", "--remove"});
  ASSERT_EQ(r.status, 0) << r.err;
  EXPECT_NE(r.out.find("5 file(s) removed"), std::string::npos) << r.out;
  for (const char* gone :
       {"tcs@.service", "tcs.target", "tcs.target.wants", "tcs@a:x.service.d/50-tcs.conf", "tcs@a:y.service.d"})
    EXPECT_FALSE(fs::exists(units / gone)) << gone;
  EXPECT_TRUE(fs::exists(units / "tcs@a:x.service.d/60-mine.conf"));
  EXPECT_TRUE(fs::exists(units / "mine.service"));
  EXPECT_EQ(invoke({"--user", "--remove"}).status, 0);  // nothing left: still fine
}

TEST_F(UnitgenCli, NatsAddressPrintsTheConfigsServer) {
  const auto plain = dir_.write("c/a.yaml", "nats: {host: 127.0.0.1, port: 4333}\nservices: []\n");
  EXPECT_EQ(invoke({"--nats-address", plain.string()}).out, "127.0.0.1:4333\n");
  const auto servers = dir_.write("c/b.yaml", "nats: {servers: ['nats://u:p@localhost:4555', 'nats://x:1']}\n");
  EXPECT_EQ(invoke({"--nats-address", servers.string()}).out, "localhost:4555\n");
  const auto none = dir_.write("c/c.yaml", "services: []\n");
  const auto r = invoke({"--nats-address", none.string()});
  EXPECT_EQ(r.status, 0);
  EXPECT_EQ(r.out, "");
}

TEST_F(UnitgenCli, SettingsPrintsOneLinePerServiceThatChangesOnlyWithItsOwnEntry) {
  const auto cfg = dir_.write("c/s.yaml",
                              "interval: 2\nservices:\n  - {type: a, variant: x, message: \"hi \\\"you\\\"\"}\n"
                              "  - {type: b, variant: y, list: [1, 2.5, true, null]}\n");
  const auto before = invoke({"--settings", cfg.string()});
  ASSERT_EQ(before.status, 0) << before.err;
  const auto newline = before.out.find('\n');
  ASSERT_NE(newline, std::string::npos);
  EXPECT_TRUE(before.out.starts_with("tcs@a:x.service {")) << before.out;
  EXPECT_NE(before.out.find("\"message\":\"hi \\\"you\\\"\""), std::string::npos) << before.out;
  EXPECT_NE(before.out.find("[1,2.5,true,null]"), std::string::npos) << before.out;
  dir_.write("c/s.yaml",
             "interval: 2\nservices:\n  - {type: a, variant: x, message: \"hi \\\"you\\\"\"}\n"
             "  - {type: b, variant: y, list: [1, 2.5, true, null, 3]}\n");
  const auto after = invoke({"--settings", cfg.string()});
  EXPECT_EQ(after.out.substr(0, newline), before.out.substr(0, newline));
  EXPECT_NE(after.out.substr(newline), before.out.substr(newline));
}
