// The S3 backend of landing.h and storage.h, on the libcurl client of src/cloud.
//
//   landing  s3://BUCKET[/PREFIX]/<tenant>/<table>/<version>/<file>
//   states   s3://BUCKET[/PREFIX]/<tenant>/<table>/<version>/<16 hex digits>.state
//
// An object's content id is "s3:<size>:<etag>", from the listing or a HEAD: registering an
// export never downloads it. A state is written once under a key of its own (If-None-Match), so
// two writers never overwrite each other's state; the registry records which one is current.
#include <fmt/format.h>

#include <algorithm>
#include <map>
#include <mutex>
#include <random>
#include <set>
#include <utility>

#include "cloud/aws_config.h"
#include "cloud/s3_client.h"
#include "storage/backends.h"

namespace snapdelta {
namespace {

constexpr std::string_view kStateSuffix = ".state";
// An S3 landing zone kept across `watch` passes lists everything at every this many listings,
// and only what is new in each table in between.
constexpr uint64_t kFullRescanEvery = 10;

std::string ContentIdOf(uint64_t size, const std::string& etag) {
  return fmt::format("s3:{}:{}", size, etag);
}

// The ETag inside a content id "s3:<size>:<etag>"; "" when `id` is not one.
std::string EtagOf(const std::string& id) {
  if (!id.starts_with("s3:")) return "";
  size_t colon = id.find(':', 3);
  return colon == std::string::npos ? "" : id.substr(colon + 1);
}

struct S3Location {
  std::string bucket;
  std::string prefix;  // "" or "a/b/" (with a trailing '/')
};

StatusOr<S3Location> ParseS3Url(const std::string& url) {
  std::string rest = url.substr(5);  // after "s3://"
  size_t slash = rest.find('/');
  S3Location location;
  location.bucket = rest.substr(0, slash);
  if (slash != std::string::npos) location.prefix = rest.substr(slash + 1);
  while (!location.prefix.empty() && location.prefix.back() == '/') location.prefix.pop_back();
  if (!location.prefix.empty()) location.prefix += '/';
  if (location.bucket.empty()) {
    return InvalidArgumentError(url + ": no bucket; use s3://BUCKET[/PREFIX]");
  }
  return location;
}

StatusOr<std::shared_ptr<S3Client>> NewClient() {
  ASSIGN_OR_RETURN(AwsConfig config, ResolveAwsConfig("s3"));
  ASSIGN_OR_RETURN(std::unique_ptr<S3Client> client, S3Client::Create(std::move(config)));
  return std::shared_ptr<S3Client>(std::move(client));
}

// Credentials refused mid-import (kInvalidArgument from the client: expired, revoked) are the
// environment's fault, not the export's: kUnavailable, so the import is retried once fixed.
Status AsEnvironment(Status status) {
  if (status.code() != StatusCode::kInvalidArgument) return status;
  return UnavailableError(status.message());
}

// A stream whose errors pass through AsEnvironment.
class S3Stream final : public ByteSource {
 public:
  explicit S3Stream(std::unique_ptr<ByteSource> inner) : inner_(std::move(inner)) {}
  StatusOr<size_t> Read(char* buf, size_t capacity) override {
    StatusOr<size_t> n = inner_->Read(buf, capacity);
    if (!n.ok()) return AsEnvironment(n.status());
    return n;
  }
  const std::string& name() const override { return inner_->name(); }
  uint64_t raw_bytes_consumed() const override { return inner_->raw_bytes_consumed(); }

 private:
  std::unique_ptr<ByteSource> inner_;
};

class S3File final : public StoredFile {
 public:
  // The object `key` of `bucket`; its size and ETag are asked for (HEAD) when needed.
  S3File(std::shared_ptr<S3Client> client, std::string bucket, std::string key)
      : client_(std::move(client)),
        bucket_(std::move(bucket)),
        key_(std::move(key)),
        name_("s3://" + bucket_ + "/" + key_) {}

  const std::string& name() const override { return name_; }

  StatusOr<std::unique_ptr<ByteSource>> Open(uint64_t offset,
                                             const std::string& expected_id) override {
    std::string etag = EtagOf(expected_id);
    if (!expected_id.empty() && etag.empty()) {
      return UnavailableError(name_ + ": registered as " + expected_id +
                              ", which is not an S3 object's content id; run again");
    }
    StatusOr<std::unique_ptr<ByteSource>> stream = client_->Get(bucket_, key_, etag, offset);
    if (!stream.ok()) return AsEnvironment(stream.status());
    return std::unique_ptr<ByteSource>(std::make_unique<S3Stream>(std::move(stream).value()));
  }

  StatusOr<uint64_t> Size() override {
    StatusOr<S3Object> object = client_->Head(bucket_, key_);
    if (!object.ok()) return AsEnvironment(object.status());
    return object->size;
  }

  StatusOr<std::string> ContentId() override {
    StatusOr<S3Object> object = client_->Head(bucket_, key_);
    if (!object.ok()) return AsEnvironment(object.status());
    return ContentIdOf(object->size, object->etag);
  }

 private:
  std::shared_ptr<S3Client> client_;
  const std::string bucket_;
  const std::string key_;
  const std::string name_;
};

class S3Landing final : public LandingZone {
 public:
  S3Landing(std::shared_ptr<S3Client> client, S3Location location, std::string url)
      : client_(std::move(client)), location_(std::move(location)), url_(std::move(url)) {}

  // Every kFullRescanEvery-th listing (the first included) lists the whole prefix; the others
  // list each table prefix seen so far (and those of upload notifications) from its last key on
  // (StartAfter), which finds new versions with a request per table instead of a listing of
  // every object. Changes to older keys and new tables wait for the next full rescan, or for a
  // notification naming them.
  StatusOr<LandingListing> List() override {
    std::lock_guard<std::mutex> lock(mutex_);
    if (polls_++ % kFullRescanEvery == 0) {
      ASSIGN_OR_RETURN(std::vector<S3Object> objects,
                       client_->List(location_.bucket, location_.prefix));
      known_.clear();
      for (S3Object& object : objects) known_[object.key] = std::move(object);
    } else {
      std::set<std::string> tables = std::move(notified_);
      notified_.clear();
      for (const std::string& key : std::exchange(notified_keys_, {})) {  // re-uploads too
        StatusOr<S3Object> object = client_->Head(location_.bucket, key);
        if (object.ok()) known_[key] = *std::move(object);
      }
      for (const auto& [key, object] : known_) tables.insert(TablePrefixOf(key));
      for (const std::string& table : tables) {
        if (table.empty()) continue;
        auto last = known_.lower_bound(table + '\xff');  // the first key past the table
        std::string start_after =
            last != known_.begin() && std::prev(last)->first.starts_with(table)
                ? std::prev(last)->first
                : "";
        ASSIGN_OR_RETURN(std::vector<S3Object> objects,
                         client_->List(location_.bucket, table, start_after));
        for (S3Object& object : objects) known_[object.key] = std::move(object);
      }
    }
    LandingListing listing;
    for (const auto& [key, object] : known_) {
      std::optional<LandingFile> file = FileOf(object);
      if (file) listing.files.push_back(std::move(*file));
    }
    std::sort(listing.files.begin(), listing.files.end(),
              [](const LandingFile& a, const LandingFile& b) {
                return std::tie(a.tenant, a.table, a.version, a.file) <
                       std::tie(b.tenant, b.table, b.version, b.file);
              });
    return listing;
  }

  void Notify(const std::vector<std::string>& paths) override {
    std::lock_guard<std::mutex> lock(mutex_);
    const std::string root = "s3://" + location_.bucket + "/";
    for (const std::string& path : paths) {
      if (!path.starts_with(root)) continue;
      notified_.insert(TablePrefixOf(path.substr(root.size())));
      notified_keys_.insert(path.substr(root.size()));
    }
  }

  StatusOr<std::vector<LandingFile>> ListVersion(const std::string& tenant,
                                                 const std::string& table,
                                                 const std::string& version) override {
    ASSIGN_OR_RETURN(std::vector<S3Object> objects,
                     client_->List(location_.bucket,
                                   location_.prefix + tenant + "/" + table + "/" + version + "/"));
    std::vector<LandingFile> files;
    for (const S3Object& object : objects) {
      std::optional<LandingFile> file = FileOf(object);
      if (file) files.push_back(std::move(*file));
    }
    std::sort(files.begin(), files.end(),
              [](const LandingFile& a, const LandingFile& b) { return a.file < b.file; });
    return files;
  }

  std::unique_ptr<StoredFile> Open(const LandingFile& file) override {
    return std::make_unique<S3File>(client_, location_.bucket, KeyOf(file));
  }

  // The content id the last listing gave (no request), else a HEAD.
  StatusOr<std::string> Checksum(const LandingFile& file) override {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = known_.find(KeyOf(file));
      if (it != known_.end()) return ContentIdOf(it->second.size, it->second.etag);
    }
    return Open(file)->ContentId();
  }

  const std::string& url() const override { return url_; }

 private:
  std::string KeyOf(const LandingFile& file) const {
    return location_.prefix + file.tenant + "/" + file.table + "/" + file.version + "/" + file.file;
  }

  // The landing file an object is, or nullopt for a key at another depth, a "folder" object
  // or a name a landing zone ignores (landing.h).
  std::optional<LandingFile> FileOf(const S3Object& object) const {
    std::optional<LandingFile> file =
        LandingFileAt(url_, "s3://" + location_.bucket + "/" + object.key);
    if (file) {
      file->size = object.size;
      file->mtime_ms = object.mtime_ms;
    }
    return file;
  }

  // "PREFIX/<tenant>/<table>/" of a key under the prefix, or "" for a key at another depth.
  std::string TablePrefixOf(const std::string& key) const {
    if (!key.starts_with(location_.prefix)) return "";
    size_t tenant_end = key.find('/', location_.prefix.size());
    if (tenant_end == std::string::npos) return "";
    size_t table_end = key.find('/', tenant_end + 1);
    if (table_end == std::string::npos) return "";
    return key.substr(0, table_end + 1);
  }

  std::shared_ptr<S3Client> client_;
  const S3Location location_;
  const std::string url_;
  // Guarded by mutex_:
  std::mutex mutex_;
  std::map<std::string, S3Object> known_;  // key -> object, as last listed
  std::set<std::string> notified_;         // table prefixes of notifications
  std::set<std::string> notified_keys_;    // their keys, looked at (HEAD) next
  uint64_t polls_ = 0;
};

class S3StateWriter final : public ObjectWriter {
 public:
  S3StateWriter(std::unique_ptr<S3Writer> writer, std::string name)
      : writer_(std::move(writer)), name_(std::move(name)) {}
  Status Append(std::string_view data) override { return writer_->Append(data); }
  Status Commit() override {
    Status status = writer_->Commit();
    if (status.code() == StatusCode::kAborted) {
      return AbortedError(writer_->name() +
                          ": another writer created this state first (If-None-Match refused "
                          "it); nothing was overwritten");
    }
    return status;
  }
  const std::string& name() const override { return name_; }

 private:
  std::unique_ptr<S3Writer> writer_;
  const std::string name_;
};

class S3StateStore final : public StateStore {
 public:
  S3StateStore(std::shared_ptr<S3Client> client, S3Location location)
      : client_(std::move(client)), location_(std::move(location)) {}

  std::string Location(const std::string& tenant, const std::string& table) const override {
    return "s3://" + location_.bucket + "/" + TablePrefix(tenant, table);
  }

  StatusOr<std::unique_ptr<ObjectWriter>> Create(const std::string& tenant,
                                                 const std::string& table,
                                                 const std::string& version) override {
    std::string name = version + "/" + RandomHex() + std::string(kStateSuffix);
    ASSIGN_OR_RETURN(std::unique_ptr<S3Writer> writer,
                     client_->StartWrite(location_.bucket, TablePrefix(tenant, table) + name,
                                         /*if_none_match=*/true));
    return std::unique_ptr<ObjectWriter>(
        std::make_unique<S3StateWriter>(std::move(writer), std::move(name)));
  }

  std::unique_ptr<StoredFile> Open(const std::string& tenant, const std::string& table,
                                   const std::string& name) override {
    return std::make_unique<S3File>(client_, location_.bucket, TablePrefix(tenant, table) + name);
  }

  StatusOr<std::vector<StoredState>> List(const std::string& tenant,
                                          const std::string& table) override {
    const std::string prefix = TablePrefix(tenant, table);
    ASSIGN_OR_RETURN(std::vector<S3Object> objects, client_->List(location_.bucket, prefix));
    std::vector<StoredState> states;
    for (const S3Object& object : objects) {
      std::string name = object.key.substr(prefix.size());
      if (!name.ends_with(kStateSuffix)) continue;
      size_t slash = name.rfind('/');
      std::string version = slash == std::string::npos
                                ? name.substr(0, name.size() - kStateSuffix.size())
                                : name.substr(0, slash);
      states.push_back({std::move(name), std::move(version)});
    }
    return states;
  }

  Status Remove(const std::string& tenant, const std::string& table,
                const std::string& name) override {
    return client_->Delete(location_.bucket, TablePrefix(tenant, table) + name);
  }

 private:
  std::string TablePrefix(const std::string& tenant, const std::string& table) const {
    return location_.prefix + tenant + "/" + table + "/";
  }

  static std::string RandomHex() {
    static thread_local std::mt19937_64 random{std::random_device{}()};
    return fmt::format("{:016x}", random());
  }

  std::shared_ptr<S3Client> client_;
  const S3Location location_;
};

}  // namespace

StatusOr<std::unique_ptr<LandingZone>> OpenS3Landing(const std::string& url) {
  ASSIGN_OR_RETURN(S3Location location, ParseS3Url(url));
  ASSIGN_OR_RETURN(std::shared_ptr<S3Client> client, NewClient());
  return std::unique_ptr<LandingZone>(
      std::make_unique<S3Landing>(std::move(client), std::move(location), url));
}

StatusOr<std::unique_ptr<StateStore>> OpenS3StateStore(const std::string& url) {
  ASSIGN_OR_RETURN(S3Location location, ParseS3Url(url));
  ASSIGN_OR_RETURN(std::shared_ptr<S3Client> client, NewClient());
  return std::unique_ptr<StateStore>(
      std::make_unique<S3StateStore>(std::move(client), std::move(location)));
}

StatusOr<std::unique_ptr<StoredFile>> OpenS3File(const std::string& url) {
  ASSIGN_OR_RETURN(S3Location location, ParseS3Url(url));
  if (location.prefix.empty()) return InvalidArgumentError(url + ": no key; use s3://BUCKET/KEY");
  ASSIGN_OR_RETURN(std::shared_ptr<S3Client> client, NewClient());
  location.prefix.pop_back();  // the key, without the '/' ParseS3Url added
  return std::unique_ptr<StoredFile>(
      std::make_unique<S3File>(std::move(client), location.bucket, location.prefix));
}

}  // namespace snapdelta
