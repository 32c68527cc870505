// KafkaMock: librdkafka's mock Kafka cluster in a child process (snapdelta-kafka-mock), for the
// tests of the Kafka sink, with commands to inject faults. Check what was written with Debian's
// kcat, an independent client (Consume).
//
// Thread safety: none; use from the test's thread.
#ifndef SNAPDELTA_TESTS_CLOUD_KAFKA_MOCK_H_
#define SNAPDELTA_TESTS_CLOUD_KAFKA_MOCK_H_

#include <sys/types.h>

#include <memory>
#include <string>
#include <vector>

namespace snapdelta::testing {

class KafkaMock {
 public:
  // Starts a cluster of `brokers` with `topics` ("NAME:PARTITIONS"). Null with *error set when
  // it does not come up.
  static std::unique_ptr<KafkaMock> Start(int brokers, const std::vector<std::string>& topics,
                                          std::string* error);
  ~KafkaMock();  // closes its stdin and waits for it
  KafkaMock(const KafkaMock&) = delete;
  KafkaMock& operator=(const KafkaMock&) = delete;

  // "127.0.0.1:PORT,..." to give producers and consumers.
  const std::string& bootstrap() const { return bootstrap_; }
  // Sends a command ("down 1", "up 1", "errors API_KEY COUNT CODE") and returns its answer.
  std::string Command(const std::string& command);

 private:
  KafkaMock(pid_t pid, int in, FILE* out, std::string bootstrap)
      : pid_(pid), in_(in), out_(out), bootstrap_(std::move(bootstrap)) {}

  pid_t pid_;
  int in_;     // the child's stdin
  FILE* out_;  // the child's stdout
  std::string bootstrap_;
};

// Every message of `topic` as kcat prints it with `format` (e.g. "%k\t%s\n", "%h" the headers),
// read from the beginning to the end of every partition; empty with a test failure when kcat
// fails. `kcat_args` go before the format, e.g. {"-Z"} (NULL values printed "NULL") or
// {"-X", "isolation.level=read_committed"}.
std::string Consume(const std::string& bootstrap, const std::string& topic,
                    const std::string& format, const std::vector<std::string>& kcat_args = {});

}  // namespace snapdelta::testing

#endif  // SNAPDELTA_TESTS_CLOUD_KAFKA_MOCK_H_
