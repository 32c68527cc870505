// The one place that turns a storage URL into a backend (storage.h, landing.h).
#include "storage/backends.h"

namespace snapdelta {
// "scheme://..." with a scheme other than s3: refused rather than taken for a folder name.
Status CheckStorageUrl(const std::string& url, std::string_view what) {
  size_t colon = url.find("://");
  if (colon == std::string::npos || IsS3Url(url)) return Status::OK();
  return InvalidArgumentError(std::string(what) + " " + url + ": unknown scheme \"" +
                              url.substr(0, colon) + "\"; use a folder or s3://BUCKET[/PREFIX]");
}

bool IsS3Url(std::string_view url) { return url.starts_with("s3://"); }

StatusOr<std::unique_ptr<LandingZone>> OpenLandingZone(const std::string& url) {
  RETURN_IF_ERROR(CheckStorageUrl(url, "landing zone"));
  if (IsS3Url(url)) return OpenS3Landing(url);
  return OpenLocalLanding(url);
}

StatusOr<std::unique_ptr<StateStore>> OpenStateStore(const std::string& url) {
  RETURN_IF_ERROR(CheckStorageUrl(url, "state store"));
  if (IsS3Url(url)) return OpenS3StateStore(url);
  return OpenLocalStateStore(url);
}

StatusOr<std::unique_ptr<LandingEvents>> OpenLandingEvents(const std::string& url) {
  if (url.starts_with("sqs://") || url.starts_with("https://") || url.starts_with("http://")) {
    return OpenSqsEvents(url);
  }
  return InvalidArgumentError("--events " + url +
                              ": use sqs://HOST/ACCOUNT/QUEUE (an SQS queue "
                              "receiving the bucket's S3 event notifications)");
}

StatusOr<std::unique_ptr<StoredFile>> OpenStoredFile(const std::string& url) {
  RETURN_IF_ERROR(CheckStorageUrl(url, "file"));
  if (IsS3Url(url)) return OpenS3File(url);
  return OpenLocalFile(url);
}

}  // namespace snapdelta
