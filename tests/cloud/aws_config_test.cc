// ResolveAwsConfig with an injected environment and shared files in a scratch folder; the
// pure helpers of aws_util.h.
#include "cloud/aws_config.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <map>
#include <string>

#include "cloud/aws_util.h"
#include "test_util.h"

namespace snapdelta {
namespace {

using ::testing::AllOf;
using ::testing::HasSubstr;
using ::testing::Not;
using testing::ScratchDir;

class AwsConfigTest : public ::testing::Test {
 protected:
  AwsConfigTest() { env_["HOME"] = dir_.path(); }

  StatusOr<AwsConfig> Resolve(const std::string& service = "s3") {
    return ResolveAwsConfig(service, [this](const char* name) -> const char* {
      auto it = env_.find(name);
      return it == env_.end() ? nullptr : it->second.c_str();
    });
  }

  ScratchDir dir_;
  std::map<std::string, std::string> env_;
};

TEST_F(AwsConfigTest, EnvironmentVariablesWin) {
  env_["AWS_ACCESS_KEY_ID"] = "AKIAENV";
  env_["AWS_SECRET_ACCESS_KEY"] = "secret";
  env_["AWS_SESSION_TOKEN"] = "token";
  env_["AWS_DEFAULT_REGION"] = "eu-west-1";
  dir_.Write(".aws/credentials",
             "[default]\naws_access_key_id = AKIAFILE\n"
             "aws_secret_access_key = filesecret\n");
  StatusOr<AwsConfig> config = Resolve();
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->service, "s3");
  EXPECT_EQ(config->region, "eu-west-1");
  EXPECT_EQ(config->endpoint, "");
  EXPECT_FALSE(config->path_style);
  EXPECT_EQ(config->credentials.access_key_id, "AKIAENV");
  EXPECT_EQ(config->credentials.session_token, "token");
  EXPECT_EQ(config->credentials.source, "AWS_ACCESS_KEY_ID (environment)");
  EXPECT_EQ(ServiceEndpoint(*config), "https://s3.eu-west-1.amazonaws.com");

  env_["AWS_REGION"] = "ap-south-1";
  EXPECT_EQ(Resolve()->region, "ap-south-1");
}

TEST_F(AwsConfigTest, ProfileFromSharedFiles) {
  dir_.Write(".aws/credentials",
             "# comment\n[default]\naws_access_key_id=AKIADEFAULT\naws_secret_access_key=d\n\n"
             "[dev]\naws_access_key_id = AKIADEV \n aws_secret_access_key = devsecret\n"
             "aws_secret_access_key = devsecret2\naws_session_token = tok\n");
  dir_.Write(".aws/config",
             "[default]\nregion = us-west-2\n[profile dev]\nregion = eu-central-1\n"
             "s3 =\n  addressing_style = path\n");
  StatusOr<AwsConfig> config = Resolve();
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->region, "us-west-2");
  EXPECT_EQ(config->credentials.access_key_id, "AKIADEFAULT");
  EXPECT_EQ(config->credentials.source,
            "profile 'default' in " + dir_.path() + "/.aws/credentials");

  env_["AWS_PROFILE"] = "dev";
  config = Resolve();
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->region, "eu-central-1");
  EXPECT_EQ(config->credentials.access_key_id, "AKIADEV");
  EXPECT_EQ(config->credentials.secret_access_key, "devsecret2");
  EXPECT_EQ(config->credentials.session_token, "tok");
  EXPECT_EQ(config->credentials.source, "profile 'dev' in " + dir_.path() + "/.aws/credentials");
}

TEST_F(AwsConfigTest, FilesNamedByVariablesAndKeysInConfigFile) {
  const std::string config_file = dir_.Write("elsewhere/cfg",
                                             "[profile ci]\nregion = sa-east-1\n"
                                             "aws_access_key_id = AKIACFG\n"
                                             "aws_secret_access_key = s\n");
  env_["AWS_CONFIG_FILE"] = config_file;
  env_["AWS_SHARED_CREDENTIALS_FILE"] = dir_.File("missing");
  env_["AWS_PROFILE"] = "ci";
  StatusOr<AwsConfig> config = Resolve("sqs");
  ASSERT_TRUE(config.ok()) << config.status().ToString();
  EXPECT_EQ(config->region, "sa-east-1");
  EXPECT_EQ(config->credentials.access_key_id, "AKIACFG");
  EXPECT_EQ(config->credentials.source, "profile 'ci' in " + config_file);
}

TEST_F(AwsConfigTest, EndpointVariables) {
  env_["AWS_ACCESS_KEY_ID"] = "k";
  env_["AWS_SECRET_ACCESS_KEY"] = "s";
  env_["AWS_ENDPOINT_URL"] = "http://127.0.0.1:5000/";
  StatusOr<AwsConfig> config = Resolve("s3");
  ASSERT_TRUE(config.ok());
  EXPECT_EQ(config->endpoint, "http://127.0.0.1:5000");
  EXPECT_TRUE(config->path_style);
  EXPECT_EQ(config->region, "us-east-1");

  env_["AWS_ENDPOINT_URL_S3"] = "https://minio.local:9000";
  EXPECT_EQ(Resolve("s3")->endpoint, "https://minio.local:9000");
  EXPECT_EQ(Resolve("sqs")->endpoint, "http://127.0.0.1:5000");

  env_["AWS_ENDPOINT_URL_S3"] = "minio.local:9000";
  config = Resolve("s3");
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("AWS_ENDPOINT_URL_S3=minio.local:9000"));
}

TEST_F(AwsConfigTest, MissingCredentialsSayWhatWasLookedAt) {
  StatusOr<AwsConfig> config = Resolve();
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(),
              AllOf(HasSubstr("AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set"),
                    HasSubstr("profile 'default'"),
                    HasSubstr(dir_.path() + "/.aws/credentials (no such file"),
                    HasSubstr(dir_.path() + "/.aws/config")));

  env_["AWS_PROFILE"] = "prod";
  dir_.Write(".aws/credentials", "[default]\naws_access_key_id=a\naws_secret_access_key=b\n");
  config = Resolve();
  EXPECT_THAT(config.status().message(),
              AllOf(HasSubstr("profile 'prod' (AWS_PROFILE)"),
                    Not(HasSubstr("(no such file; AWS_SHARED_CREDENTIALS_FILE)"))));

  env_["AWS_PROFILE"] = "half";
  dir_.Write(".aws/credentials", "[half]\naws_access_key_id=a\n");
  config = Resolve();
  EXPECT_EQ(config.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(config.status().message(), HasSubstr("profile 'half' in "));
  EXPECT_THAT(config.status().message(), HasSubstr("lacks aws_secret_access_key"));

  env_.erase("AWS_PROFILE");
  env_["AWS_ACCESS_KEY_ID"] = "AKIA";
  config = Resolve();
  EXPECT_THAT(config.status().message(),
              HasSubstr("AWS_ACCESS_KEY_ID is set but AWS_SECRET_ACCESS_KEY is not"));
}

TEST(AwsUtilTest, UriEncodeAndCanonicalQuery) {
  EXPECT_EQ(UriEncode("dir/a b+c=d~_.-é", true), "dir/a%20b%2Bc%3Dd~_.-%C3%A9");
  EXPECT_EQ(UriEncode("dir/a", false), "dir%2Fa");
  EXPECT_EQ(CanonicalQuery({{"prefix", "a b/"},
                            {"list-type", "2"},
                            {"uploads", ""},
                            {"continuation-token", "1+2=="}}),
            "continuation-token=1%2B2%3D%3D&list-type=2&prefix=a%20b%2F&uploads=");
  EXPECT_EQ(CanonicalQuery({{"b", "2"}, {"a", "2"}, {"a", "1"}}), "a=1&a=2&b=2");
}

TEST(AwsUtilTest, UrlDecode) {
  EXPECT_EQ(UrlDecode("dir%2Fx+y%2Bz.txt", true), "dir/x y+z.txt");
  EXPECT_EQ(UrlDecode("a+b%20c", false), "a+b c");
  EXPECT_EQ(UrlDecode("%C3%A9%3d%", true), "é=%");
  EXPECT_EQ(UrlDecode("%zz", true), "%zz");
}

TEST(AwsUtilTest, ParseErrors) {
  AwsError error = ParseAwsError(
      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>NoSuchKey</Code><Message>The "
      "specified key does not exist.</Message><Key>k</Key></Error>");
  EXPECT_EQ(error.code, "NoSuchKey");
  EXPECT_EQ(error.message, "The specified key does not exist.");
  error = ParseAwsError(R"({"__type":"com.amazonaws.sqs#QueueDoesNotExist","message":"gone"})");
  EXPECT_EQ(error.code, "QueueDoesNotExist");
  EXPECT_EQ(error.message, "gone");
  error = ParseAwsError("<ErrorResponse><Error><Code>Throttling</Code></Error></ErrorResponse>");
  EXPECT_EQ(error.code, "Throttling");
  EXPECT_EQ(ParseAwsError("").code, "");
  EXPECT_EQ(ParseAwsError("<html>bad gateway</html>").code, "");
}

TEST(AwsUtilTest, TimesAndHashes) {
  EXPECT_EQ(ParseAwsTimeMs("2015-08-30T12:36:00.250Z"), 1440938160250);
  EXPECT_EQ(ParseAwsTimeMs("2015-08-30T12:36:00Z"), 1440938160000);
  EXPECT_EQ(ParseAwsTimeMs("Sun, 30 Aug 2015 12:36:00 GMT"), 1440938160000);
  EXPECT_EQ(ParseAwsTimeMs("yesterday-ish"), 0);
  EXPECT_EQ(Sha256Hex(""), kEmptySha256);
  EXPECT_EQ(Sha256Hex("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
  EXPECT_EQ(StripQuotes("\"abc\""), "abc");
  EXPECT_EQ(StripQuotes("abc"), "abc");
}

}  // namespace
}  // namespace snapdelta
