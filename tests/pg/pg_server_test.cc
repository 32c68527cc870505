// The PostgreSQL test server itself: it starts (as `nobody` when root), answers the independent
// psql client, makes a fresh database per call and keeps its data across a stop and a restart.
#include "pg/pg_server.h"

#include <gtest/gtest.h>

namespace snapdelta::testing {
namespace {

using PgServerTest = PgTest;

TEST_F(PgServerTest, AnswersPsqlAndKeepsDataAcrossARestart) {
  const std::string url = server()->NewDatabase("keep");
  ASSERT_NE(url, server()->NewDatabase("keep")) << "each database is new";
  CommandResult created = PgServer::Psql(url, "CREATE TABLE t (v int); INSERT INTO t VALUES (7)");
  ASSERT_TRUE(created.ok()) << created.Describe();
  server()->Stop();
  EXPECT_FALSE(PgServer::Psql(url, "SELECT 1").ok()) << "the server is down";
  server()->Resume();
  CommandResult read = PgServer::Psql(url, "SELECT v FROM t");
  ASSERT_TRUE(read.ok()) << read.Describe();
  EXPECT_EQ(read.out, "7\n");
  CommandResult version = PgServer::Psql(url, "SHOW server_version_num");
  ASSERT_TRUE(version.ok()) << version.Describe();
  EXPECT_GE(std::stoi(version.out), 150000);
}

}  // namespace
}  // namespace snapdelta::testing
