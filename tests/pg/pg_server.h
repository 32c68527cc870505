// A real PostgreSQL server for tests: PgServer runs one in a temporary folder on a free loopback
// port, and PgTest, a GoogleTest fixture, gives each test suite its own server.
//
// The cluster is made once per machine user and PostgreSQL version (`initdb`, a few seconds)
// into a template folder under $TMPDIR, guarded by a file lock so parallel test processes make
// it once; each server copies the template and starts `postgres` on it with `pg_ctl`. PostgreSQL
// refuses to run as root: when the tests run as root, the server runs as `nobody` (runuser).
// Authentication is `trust` on loopback for the superuser "snapdelta"; URLs carry a password
// anyway, so tests can check that no message leaks it.
//
// Binaries: `initdb`, `pg_ctl` and `postgres` from PATH, or else from the newest
// /usr/lib/postgresql/<version>/bin (where Debian's `postgresql` package puts them); `psql`,
// the independent client the tests check with, from PATH. When they are missing every test of
// a PgTest suite is skipped with the reason (scripts/install-deps.sh installs them).
//
// Thread safety: none; call from the test's main thread.
#ifndef SNAPDELTA_TESTS_PG_PG_SERVER_H_
#define SNAPDELTA_TESTS_PG_PG_SERVER_H_

#include <gtest/gtest.h>

#include <memory>
#include <string>

#include "integration/harness.h"

namespace snapdelta::testing {

class PgServer {
 public:
  // Makes (or reuses) the template cluster, copies it and starts the server. Null with *error
  // set when PostgreSQL is missing or does not come up (the message quotes its log).
  static std::unique_ptr<PgServer> Start(std::string* error);
  // Stops the server at once (immediate shutdown) and removes its folder.
  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  int port() const { return port_; }
  // "postgresql://snapdelta:<password>@127.0.0.1:<port>/<database>".
  std::string Url(const std::string& database = "postgres") const;
  static constexpr char kPassword[] = "pg-secret-do-not-print";
  // Creates a new, empty database with a name unique in this server (from the running test's
  // name and `hint`) and returns its URL.
  std::string NewDatabase(const std::string& hint = "");

  // A fast shutdown (sessions disconnected), waiting until it is down; then Resume starts it
  // again on the same port and data. A GoogleTest failure names the command when one fails.
  void Stop();
  void Resume();
  bool running() const { return running_; }

  // `psql -X -A -t -v ON_ERROR_STOP=1 -c SQL URL`: the independent client.
  static CommandResult Psql(const std::string& url, const std::string& sql);

 private:
  PgServer(std::unique_ptr<TempDir> dir, std::string bin, int port)
      : dir_(std::move(dir)), bin_(std::move(bin)), port_(port) {}
  // pg_ctl `action` (start/stop) as the server's user.
  CommandResult PgCtl(const std::string& action, const std::string& mode = "") const;

  std::unique_ptr<TempDir> dir_;
  std::string bin_;  // folder of initdb, pg_ctl and postgres
  int port_;
  bool running_ = false;
  int databases_ = 0;
};

class PgTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite();
  static void TearDownTestSuite();
  void SetUp() override;

  static PgServer* server() { return server_.get(); }

 private:
  static std::unique_ptr<PgServer> server_;
  static std::string skip_reason_;
};

}  // namespace snapdelta::testing

#endif  // SNAPDELTA_TESTS_PG_PG_SERVER_H_
