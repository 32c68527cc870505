#include "cloud/aws_config.h"

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>

namespace snapdelta {
namespace {

using IniSection = std::map<std::string, std::string>;
using IniFile = std::map<std::string, IniSection>;

std::string Trim(std::string_view text) {
  const size_t begin = text.find_first_not_of(" \t\r\n");
  if (begin == std::string_view::npos) return "";
  const size_t end = text.find_last_not_of(" \t\r\n");
  return std::string(text.substr(begin, end - begin + 1));
}

std::string Lower(std::string text) {
  std::transform(text.begin(), text.end(), text.begin(),
                 [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
  return text;
}

// Parses the AWS shared-file dialect of INI: `[section]`, `key = value`, comments starting
// with '#' or ';'. Indented lines are sub-settings of the previous key (`s3 =` blocks) and
// are skipped. nullopt when the file cannot be opened.
std::optional<IniFile> ReadIniFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  IniFile file;
  IniSection* section = nullptr;
  std::string line;
  while (std::getline(in, line)) {
    const std::string trimmed = Trim(line);
    if (trimmed.empty() || trimmed[0] == '#' || trimmed[0] == ';') continue;
    if (trimmed.front() == '[' && trimmed.back() == ']') {
      section = &file[Trim(std::string_view(trimmed).substr(1, trimmed.size() - 2))];
      continue;
    }
    if (section == nullptr || line[0] == ' ' || line[0] == '\t') continue;
    const size_t eq = trimmed.find('=');
    if (eq == std::string::npos) continue;
    (*section)[Lower(Trim(std::string_view(trimmed).substr(0, eq)))] =
        Trim(std::string_view(trimmed).substr(eq + 1));
  }
  return file;
}

std::string Get(const GetenvFunction& getenv, const char* name) {
  const char* value = getenv(name);
  return value == nullptr ? "" : value;
}

// The profile's section in the config file: `[default]` or `[profile <name>]`.
const IniSection* ConfigProfile(const std::optional<IniFile>& file, const std::string& profile) {
  if (!file) return nullptr;
  auto it = file->find("profile " + profile);
  if (it == file->end() && profile == "default") it = file->find("default");
  return it == file->end() ? nullptr : &it->second;
}

std::string Value(const IniSection* section, const std::string& key) {
  if (section == nullptr) return "";
  auto it = section->find(key);
  return it == section->end() ? "" : it->second;
}

std::string UpperService(std::string_view service) {
  std::string out;
  for (char c : service) {
    out += std::isalnum(static_cast<unsigned char>(c))
               ? static_cast<char>(std::toupper(static_cast<unsigned char>(c)))
               : '_';
  }
  return out;
}

StatusOr<std::string> ResolveEndpoint(std::string_view service, const GetenvFunction& getenv) {
  const std::string specific = "AWS_ENDPOINT_URL_" + UpperService(service);
  std::string variable = specific;
  std::string endpoint = Get(getenv, specific.c_str());
  if (endpoint.empty()) {
    variable = "AWS_ENDPOINT_URL";
    endpoint = Get(getenv, "AWS_ENDPOINT_URL");
  }
  if (endpoint.empty()) return std::string();
  if (!endpoint.starts_with("http://") && !endpoint.starts_with("https://")) {
    return InvalidArgumentError(variable + "=" + endpoint +
                                ": the endpoint must start with http:// or https://");
  }
  while (endpoint.ends_with('/')) endpoint.pop_back();
  return endpoint;
}

// Credentials from the environment, else from the profile in the credentials file, else from
// the profile in the config file.
StatusOr<AwsCredentials> ResolveCredentials(const GetenvFunction& getenv,
                                            const std::string& profile, bool profile_explicit,
                                            const std::string& credentials_path,
                                            const std::string& config_path,
                                            const std::optional<IniFile>& config) {
  AwsCredentials creds;
  creds.access_key_id = Get(getenv, "AWS_ACCESS_KEY_ID");
  creds.secret_access_key = Get(getenv, "AWS_SECRET_ACCESS_KEY");
  if (!creds.access_key_id.empty() || !creds.secret_access_key.empty()) {
    if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
      return InvalidArgumentError(
          std::string(creds.access_key_id.empty() ? "AWS_SECRET_ACCESS_KEY" : "AWS_ACCESS_KEY_ID") +
          " is set but " +
          (creds.access_key_id.empty() ? "AWS_ACCESS_KEY_ID" : "AWS_SECRET_ACCESS_KEY") +
          " is not: set both (and AWS_SESSION_TOKEN for temporary credentials)");
    }
    creds.session_token = Get(getenv, "AWS_SESSION_TOKEN");
    creds.source = "AWS_ACCESS_KEY_ID (environment)";
    return creds;
  }
  const std::optional<IniFile> credentials_file = ReadIniFile(credentials_path);
  const IniSection* section = nullptr;
  std::string where;
  if (credentials_file) {
    auto it = credentials_file->find(profile);
    if (it != credentials_file->end()) {
      section = &it->second;
      where = "profile '" + profile + "' in " + credentials_path;
    }
  }
  if (section == nullptr || Value(section, "aws_access_key_id").empty()) {
    if (const IniSection* from_config = ConfigProfile(config, profile);
        from_config != nullptr && !Value(from_config, "aws_access_key_id").empty()) {
      section = from_config;
      where = "profile '" + profile + "' in " + config_path;
    }
  }
  if (section == nullptr) {
    return InvalidArgumentError(
        "no AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY are not set, and "
        "profile '" +
        profile + "' (" + (profile_explicit ? "AWS_PROFILE" : "the default; set AWS_PROFILE") +
        ") has no keys in " + credentials_path +
        (credentials_file ? "" : " (no such file; AWS_SHARED_CREDENTIALS_FILE)") + " or " +
        config_path + (config ? "" : " (no such file; AWS_CONFIG_FILE)"));
  }
  creds.access_key_id = Value(section, "aws_access_key_id");
  creds.secret_access_key = Value(section, "aws_secret_access_key");
  creds.session_token = Value(section, "aws_session_token");
  creds.source = where;
  if (creds.access_key_id.empty() || creds.secret_access_key.empty()) {
    return InvalidArgumentError(
        where + " lacks " +
        (creds.access_key_id.empty() ? "aws_access_key_id" : "aws_secret_access_key"));
  }
  return creds;
}

}  // namespace

StatusOr<AwsConfig> ResolveAwsConfig(std::string_view service, const GetenvFunction& getenv) {
  if (service.empty()) return InvalidArgumentError("AWS service name is empty");
  const std::string home = Get(getenv, "HOME");
  std::string config_path = Get(getenv, "AWS_CONFIG_FILE");
  if (config_path.empty()) config_path = home + "/.aws/config";
  std::string credentials_path = Get(getenv, "AWS_SHARED_CREDENTIALS_FILE");
  if (credentials_path.empty()) credentials_path = home + "/.aws/credentials";
  std::string profile = Get(getenv, "AWS_PROFILE");
  const bool profile_explicit = !profile.empty();
  if (!profile_explicit) profile = "default";
  const std::optional<IniFile> config_file = ReadIniFile(config_path);

  AwsConfig config;
  config.service = std::string(service);
  config.region = Get(getenv, "AWS_REGION");
  if (config.region.empty()) config.region = Get(getenv, "AWS_DEFAULT_REGION");
  if (config.region.empty()) config.region = Value(ConfigProfile(config_file, profile), "region");
  if (config.region.empty()) config.region = "us-east-1";
  ASSIGN_OR_RETURN(config.endpoint, ResolveEndpoint(service, getenv));
  config.path_style = !config.endpoint.empty();
  ASSIGN_OR_RETURN(config.credentials,
                   ResolveCredentials(getenv, profile, profile_explicit, credentials_path,
                                      config_path, config_file));
  return config;
}

StatusOr<AwsConfig> ResolveAwsConfig(std::string_view service) {
  return ResolveAwsConfig(service, [](const char* name) { return std::getenv(name); });
}

std::string ServiceEndpoint(const AwsConfig& config) {
  if (!config.endpoint.empty()) return config.endpoint;
  return "https://" + config.service + "." + config.region + ".amazonaws.com";
}

}  // namespace snapdelta
