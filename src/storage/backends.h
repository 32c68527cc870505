// The concrete storage backends, named only by the factories (factory.cc) and the backends'
// own tests: everything else goes through landing.h and storage.h.
#ifndef SNAPDELTA_STORAGE_BACKENDS_H_
#define SNAPDELTA_STORAGE_BACKENDS_H_

#include <memory>
#include <string>

#include "snapdelta/landing.h"
#include "snapdelta/storage.h"

namespace snapdelta {

// The landing folder `dir`. Errors from List: kNotFound when `dir` does not exist.
std::unique_ptr<LandingZone> OpenLocalLanding(const std::string& dir);

// States under `dir`: <dir>/<tenant>/<table>/<version>.state.
std::unique_ptr<StateStore> OpenLocalStateStore(const std::string& dir);

// The landing zone, state store and object at an "s3://BUCKET[/PREFIX]" URL (s3_storage.cc).
// Errors: kInvalidArgument for a URL without a bucket or AWS settings that are missing.
StatusOr<std::unique_ptr<LandingZone>> OpenS3Landing(const std::string& url);
StatusOr<std::unique_ptr<StateStore>> OpenS3StateStore(const std::string& url);
StatusOr<std::unique_ptr<StoredFile>> OpenS3File(const std::string& url);

// S3 event notifications on the SQS queue at `url` (sqs_events.cc).
StatusOr<std::unique_ptr<LandingEvents>> OpenSqsEvents(const std::string& url);

}  // namespace snapdelta

#endif  // SNAPDELTA_STORAGE_BACKENDS_H_
