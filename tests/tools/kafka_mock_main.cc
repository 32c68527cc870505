// snapdelta-kafka-mock: librdkafka's mock Kafka cluster (rdkafka_mock.h) as a process, for the
// tests of the Kafka sink. It prints the cluster's bootstrap address on the first line of stdout
// and serves until its stdin closes or it gets SIGTERM/SIGINT.
//
//   snapdelta-kafka-mock [--brokers N] [--topic NAME:PARTITIONS]...
//
// Commands on stdin, one per line, inject faults for the tests:
//   down BROKER_ID / up BROKER_ID     takes a broker down or brings it back
//   errors API_KEY COUNT ERROR_CODE   the next COUNT requests of the API fail with the error
// Each command is answered with "ok" or "error: <why>" on stdout.
#include <librdkafka/rdkafka.h>
#include <librdkafka/rdkafka_mock.h>

#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

namespace {

volatile std::sig_atomic_t g_stop = 0;
extern "C" void OnSignal(int) { g_stop = 1; }

int Fail(const std::string& message) {
  std::fprintf(stderr, "snapdelta-kafka-mock: %s\n", message.c_str());
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  int brokers = 3;
  std::vector<std::pair<std::string, int>> topics;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--brokers" && i + 1 < argc) {
      brokers = std::atoi(argv[++i]);
    } else if (arg == "--topic" && i + 1 < argc) {
      std::string spec = argv[++i];
      size_t colon = spec.rfind(':');
      if (colon == std::string::npos) return Fail("--topic takes NAME:PARTITIONS");
      topics.emplace_back(spec.substr(0, colon), std::atoi(spec.c_str() + colon + 1));
    } else {
      return Fail("usage: snapdelta-kafka-mock [--brokers N] [--topic NAME:PARTITIONS]...");
    }
  }
  char error[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  // A producer handle only hosts the mock cluster's threads; it sends nothing.
  rd_kafka_t* handle = rd_kafka_new(RD_KAFKA_PRODUCER, conf, error, sizeof(error));
  if (handle == nullptr) return Fail(std::string("rd_kafka_new: ") + error);
  rd_kafka_mock_cluster_t* cluster = rd_kafka_mock_cluster_new(handle, brokers);
  if (cluster == nullptr) return Fail("rd_kafka_mock_cluster_new failed");
  for (const auto& [name, partitions] : topics) {
    rd_kafka_resp_err_t err = rd_kafka_mock_topic_create(cluster, name.c_str(), partitions, 1);
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR)
      return Fail("topic " + name + ": " + rd_kafka_err2str(err));
  }
  std::signal(SIGTERM, OnSignal);
  std::signal(SIGINT, OnSignal);
  std::cout << rd_kafka_mock_cluster_bootstraps(cluster) << std::endl;
  std::string line;
  while (!g_stop && std::getline(std::cin, line)) {
    std::istringstream in(line);
    std::string command;
    in >> command;
    rd_kafka_resp_err_t err = RD_KAFKA_RESP_ERR_NO_ERROR;
    if (command == "down" || command == "up") {
      int broker = 0;
      in >> broker;
      err = command == "down" ? rd_kafka_mock_broker_set_down(cluster, broker)
                              : rd_kafka_mock_broker_set_up(cluster, broker);
    } else if (command == "errors") {
      int api = 0, count = 0, code = 0;
      in >> api >> count >> code;
      for (int n = 0; n < count; ++n) {
        rd_kafka_mock_push_request_errors(cluster, api, 1, static_cast<rd_kafka_resp_err_t>(code));
      }
    } else {
      std::cout << "error: unknown command '" << command << "'" << std::endl;
      continue;
    }
    if (err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      std::cout << "error: " << rd_kafka_err2str(err) << std::endl;
    } else {
      std::cout << "ok" << std::endl;
    }
  }
  rd_kafka_mock_cluster_destroy(cluster);
  rd_kafka_destroy(handle);
  return 0;
}
