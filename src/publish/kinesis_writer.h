// The StreamWriter of a KinesisStream (kinesis_stream.h describes what it does): the sender
// threads, batching, retries with backoff, the per-key ordering guard and the AckWindow.
#ifndef SNAPDELTA_PUBLISH_KINESIS_WRITER_H_
#define SNAPDELTA_PUBLISH_KINESIS_WRITER_H_

#include <memory>
#include <string>

#include "cloud/kinesis_client.h"
#include "publish/kinesis_stream.h"
#include "publish/stream.h"

namespace snapdelta {

// A writer of the imports of one table to the Kinesis stream `stream` (a name or an ARN).
std::unique_ptr<StreamWriter> NewKinesisWriter(std::shared_ptr<KinesisClient> client,
                                               std::string stream,
                                               const KinesisStreamOptions& options);

}  // namespace snapdelta

#endif  // SNAPDELTA_PUBLISH_KINESIS_WRITER_H_
