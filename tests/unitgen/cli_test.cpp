// SPDX-License-Identifier: MIT
#include "cli.hpp"

#include <gtest/gtest.h>

#include <cstdio>
#include <filesystem>

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
  tcs::unitgen::Defaults defaults_{(dir_ / "etc/services.yaml").string(), (dir_ / "etc/systemd/system").string(),
                                   "/lib/systemd/system/tcs@.service", "/usr/libexec/tcs", "9.9.9"};
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
