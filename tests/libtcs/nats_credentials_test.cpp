// SPDX-License-Identifier: MIT
// NATS secret files delivered by systemd (LoadCredential=, written by tcs-unitgen): the NATS layer
// reads $CREDENTIALS_DIRECTORY/nats.* instead of the configured file when the credential is there.
#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "nats/options.hpp"
#include "tcs/config.hpp"
#include "tcs/nats.hpp"
#include "temp_dir.hpp"

namespace {

using tcs::config::NatsConfig;
using ::testing::HasSubstr;

NatsConfig everyFile(const tcs::test::TempDir& etc) {
  NatsConfig config;
  config.present = true;
  config.user = "tcs";
  config.passwordFile = etc / "nats.password";
  config.tokenFile = etc / "nats.token";
  config.credsFile = etc / "tcs.creds";
  config.nkeySeedFile = etc / "tcs.nk";
  config.tlsCa = etc / "ca.pem";
  config.tlsCert = etc / "client.pem";
  config.tlsKey = etc / "client.key";
  return config;
}

// Sets CREDENTIALS_DIRECTORY for one test and restores what was there.
class CredentialsDirectory {
 public:
  explicit CredentialsDirectory(const std::filesystem::path& dir) {
    if (const char* old = std::getenv("CREDENTIALS_DIRECTORY")) old_ = old;
    ::setenv("CREDENTIALS_DIRECTORY", dir.c_str(), 1);
  }
  ~CredentialsDirectory() {
    if (old_)
      ::setenv("CREDENTIALS_DIRECTORY", old_->c_str(), 1);
    else
      ::unsetenv("CREDENTIALS_DIRECTORY");
  }
  CredentialsDirectory(const CredentialsDirectory&) = delete;
  CredentialsDirectory& operator=(const CredentialsDirectory&) = delete;

 private:
  std::optional<std::string> old_;
};

TEST(NatsCredentialFiles, NameEverySecretFileButTheCaAndTheCertificate) {
  tcs::test::TempDir etc;
  const auto files = tcs::config::natsCredentialFiles(everyFile(etc));
  ASSERT_EQ(files.size(), 5u);
  EXPECT_EQ(files[0].credential, "nats.creds");
  EXPECT_EQ(files[0].key, "creds_file");
  EXPECT_EQ(files[0].path, etc / "tcs.creds");
  EXPECT_EQ(files[1].credential, "nats.nkey");
  EXPECT_EQ(files[2].credential, "nats.password");
  EXPECT_EQ(files[3].credential, "nats.token");
  EXPECT_EQ(files[4].credential, "nats.tls-key");
  EXPECT_EQ(files[4].path, etc / "client.key");
  EXPECT_TRUE(tcs::config::natsCredentialFiles(NatsConfig{}).empty());
}

TEST(NatsSystemdCredentials, ReplaceEachConfiguredFileThatTheDirectoryHolds) {
  tcs::test::TempDir etc, credentials;
  credentials.write("nats.nkey", "SU…\n");
  credentials.write("nats.password", "secret\n");
  credentials.write("nats.tls-key", "key\n");
  credentials.write("nats.unrelated", "x\n");
  const auto config = tcs::detail::withSystemdCredentials(everyFile(etc), credentials.path());
  EXPECT_EQ(config.nkeySeedFile, credentials / "nats.nkey");
  EXPECT_EQ(config.passwordFile, credentials / "nats.password");
  EXPECT_EQ(config.tlsKey, credentials / "nats.tls-key");
  // Not delivered: the configured files stay.
  EXPECT_EQ(config.credsFile, etc / "tcs.creds");
  EXPECT_EQ(config.tokenFile, etc / "nats.token");
  // Public files are never taken from the directory.
  EXPECT_EQ(config.tlsCa, etc / "ca.pem");
  EXPECT_EQ(config.tlsCert, etc / "client.pem");
}

TEST(NatsSystemdCredentials, AddNothingTheConfigDoesNotName) {
  tcs::test::TempDir credentials;
  credentials.write("nats.password", "secret\n");
  credentials.write("nats.creds", "creds\n");
  NatsConfig config;
  config.user = "tcs";
  config.password = "inline";
  const auto used = tcs::detail::withSystemdCredentials(config, credentials.path());
  EXPECT_FALSE(used.passwordFile);
  EXPECT_FALSE(used.credsFile);
  EXPECT_EQ(used.password, "inline");
}

TEST(NatsSystemdCredentials, WithoutADirectoryLeaveTheConfigAsItIs) {
  tcs::test::TempDir etc;
  const auto config = tcs::detail::withSystemdCredentials(everyFile(etc), {});
  EXPECT_EQ(config.passwordFile, etc / "nats.password");
  EXPECT_EQ(config.nkeySeedFile, etc / "tcs.nk");
}

TEST(NatsSystemdCredentials, ADirectoryEntryThatIsNoFileIsNotACredential) {
  tcs::test::TempDir etc, credentials;
  std::filesystem::create_directories(credentials / "nats.password");
  const auto config = tcs::detail::withSystemdCredentials(everyFile(etc), credentials.path());
  EXPECT_EQ(config.passwordFile, etc / "nats.password");
}

TEST(NatsOptionsFromConfig, ReadTheSecretsFromCredentialsDirectoryWhenSystemdDeliveredThem) {
  tcs::test::TempDir etc, credentials;
  NatsConfig config;
  config.present = true;
  config.user = "tcs";
  config.passwordFile = etc / "unreadable.password";  // absent: as if 0600 root, not ours to open
  config.tokenFile = etc / "unreadable.token";
  const std::vector<std::string> urls{"nats://127.0.0.1:4222"};
  try {
    (void)tcs::detail::buildNatsOptions(config, tcs::NatsOptions{}, urls, {});
    FAIL() << "the configured file does not exist";
  } catch (const tcs::NatsError& e) {
    EXPECT_THAT(e.what(), HasSubstr((etc / "unreadable.password").string()));
  }

  credentials.write("nats.password", "secret\n");
  credentials.write("nats.token", "\n");  // delivered but empty: the error names the credential
  const CredentialsDirectory env(credentials.path());
  try {
    (void)tcs::detail::buildNatsOptions(config, tcs::NatsOptions{}, urls, {});
    FAIL() << "an empty token credential";
  } catch (const tcs::NatsError& e) {
    EXPECT_THAT(e.what(), HasSubstr("nats.token_file"));
    EXPECT_THAT(e.what(), HasSubstr((credentials / "nats.token").string()));
    EXPECT_THAT(e.what(), HasSubstr("is empty"));
  }

  credentials.write("nats.token", "a-token\n");
  EXPECT_NO_THROW((void)tcs::detail::buildNatsOptions(config, tcs::NatsOptions{}, urls, {}));
}

}  // namespace
