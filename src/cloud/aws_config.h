// AwsConfig: where an AWS service lives and which credentials sign requests to it, resolved the
// way the AWS CLI resolves them, from environment variables and the shared config files.
//
// Resolution order (the first that is set wins):
//   region       AWS_REGION, AWS_DEFAULT_REGION, `region` of the profile in the config file
//                (AWS_CONFIG_FILE, default ~/.aws/config), "us-east-1".
//   endpoint     AWS_ENDPOINT_URL_<SERVICE> (e.g. AWS_ENDPOINT_URL_S3), AWS_ENDPOINT_URL, none
//                (real AWS). A custom endpoint (MinIO, Ceph, moto) also selects path-style S3
//                addressing.
//   credentials  AWS_ACCESS_KEY_ID + AWS_SECRET_ACCESS_KEY (+ AWS_SESSION_TOKEN), else the profile
//                AWS_PROFILE (default "default") in the credentials file
//                (AWS_SHARED_CREDENTIALS_FILE, default ~/.aws/credentials), else the same profile
//                in the config file.
// The profile is `[name]` in the credentials file and `[profile name]` (or `[default]`) in the
// config file, as the AWS CLI writes them. Instance roles, SSO and credential_process are not
// supported: a process that needs them exports the variables instead.
//
// Errors are kInvalidArgument and say what was looked at, e.g. which variables and which
// file/profile, so the message alone tells the user what to set.
//
// Thread safety: the functions are reentrant; the default getenv must not race with setenv.
#ifndef SNAPDELTA_CLOUD_AWS_CONFIG_H_
#define SNAPDELTA_CLOUD_AWS_CONFIG_H_

#include <functional>
#include <string>
#include <string_view>

#include "snapdelta/status.h"

namespace snapdelta {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;  // empty unless temporary credentials
  // Where they came from, for messages: "AWS_ACCESS_KEY_ID (environment)" or
  // "profile 'dev' in /root/.aws/credentials".
  std::string source;
};

struct AwsConfig {
  std::string service;      // "s3", "sqs", "kinesis": the SigV4 service name
  std::string region;       // "us-east-1"
  std::string endpoint;     // "http://127.0.0.1:9000" without a trailing '/'; empty for real AWS
  bool path_style = false;  // S3: http://endpoint/bucket/key rather than http://bucket.endpoint/key
  AwsCredentials credentials;
};

// Looks up an environment variable: nullptr when unset. Tests inject a map.
using GetenvFunction = std::function<const char*(const char*)>;

// Resolves the configuration of `service` from the process environment.
StatusOr<AwsConfig> ResolveAwsConfig(std::string_view service);
// The same with `getenv` answering every variable lookup (HOME included).
StatusOr<AwsConfig> ResolveAwsConfig(std::string_view service, const GetenvFunction& getenv);

// The endpoint a request goes to: config.endpoint, or https://<service>.<region>.amazonaws.com.
std::string ServiceEndpoint(const AwsConfig& config);

}  // namespace snapdelta

#endif  // SNAPDELTA_CLOUD_AWS_CONFIG_H_
