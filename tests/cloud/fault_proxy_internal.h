// Socket helpers shared by fault_proxy.cc and fault_proxy_kinesis.cc (FaultProxy's own files).
#ifndef SNAPDELTA_TESTS_CLOUD_FAULT_PROXY_INTERNAL_H_
#define SNAPDELTA_TESTS_CLOUD_FAULT_PROXY_INTERNAL_H_

#include <cstddef>
#include <string>

#include "cloud/fault_proxy.h"

namespace snapdelta::testing::proxy_internal {

// Sends all of `data`; false when the peer is gone.
bool SendAll(int fd, const char* data, size_t size);
// Waits up to 50 ms for `fd` to be readable; true when it is (or has an error or EOF).
bool Readable(int fd);
// The value of header `name` (lower-case, with ':') in `head`, or "".
std::string HeaderValue(const std::string& head, const char* name);
// Reads the rest of `request`'s body (Content-Length; answers "Expect: 100-continue"), for up
// to 5 s; false when it did not all come.
bool ReadBody(int client, ProxiedRequest& request);
// Sends `response`, lets the client finish, closes the connection.
void Reply(int client, const std::string& response);

}  // namespace snapdelta::testing::proxy_internal

#endif  // SNAPDELTA_TESTS_CLOUD_FAULT_PROXY_INTERNAL_H_
