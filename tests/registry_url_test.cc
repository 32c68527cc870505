// OpenRegistry: the one factory that picks a registry backend by URL.
#include <gtest/gtest.h>

#include <filesystem>

#include "integration/harness.h"
#include "snapdelta/registry.h"

namespace snapdelta {
namespace {

TEST(RegistryUrl, PostgresUrlsAreRecognisedByScheme) {
  EXPECT_TRUE(IsPostgresUrl("postgresql://u@h:5432/db"));
  EXPECT_TRUE(IsPostgresUrl("postgres://h/db"));
  EXPECT_FALSE(IsPostgresUrl("/var/lib/snapdelta/registry.db"));
  EXPECT_FALSE(IsPostgresUrl("mysql://h/db"));
}

TEST(RegistryUrl, AFilePathIsASqliteRegistryCreatedOnlyWhenAskedTo) {
  testing::TempDir dir("snapdelta-registry-url");
  const std::string path = (dir / "registry.db").string();
  StatusOr<std::unique_ptr<Registry>> missing = OpenRegistry(path, RegistryAccess::kExisting);
  EXPECT_EQ(missing.status().code(), StatusCode::kNotFound) << missing.status().ToString();
  EXPECT_NE(missing.status().message().find("snapdelta run"), std::string::npos);
  EXPECT_EQ(OpenRegistry(path, RegistryAccess::kReadOnly).status().code(), StatusCode::kNotFound);
  EXPECT_FALSE(std::filesystem::exists(path)) << "nothing created";

  StatusOr<std::unique_ptr<Registry>> created = OpenRegistry(path, RegistryAccess::kCreate);
  ASSERT_TRUE(created.ok()) << created.status().ToString();
  ImportRecord record;
  record.tenant = "acme";
  record.table = "orders";
  record.version = "v1";
  record.file = "e.csv";
  ASSERT_TRUE((*created)->RegisterImport(record).ok());
  created->reset();
  StatusOr<std::unique_ptr<Registry>> read = OpenRegistry(path, RegistryAccess::kReadOnly);
  ASSERT_TRUE(read.ok()) << read.status().ToString();
  EXPECT_EQ((*read)->ListImports()->size(), 1u);
}

TEST(RegistryUrl, AnUnknownSchemeIsRefusedNamingWhatIsAccepted) {
  StatusOr<std::unique_ptr<Registry>> opened =
      OpenRegistry("mysql://h/db", RegistryAccess::kCreate);
  EXPECT_EQ(opened.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(opened.status().message().find("postgresql://"), std::string::npos)
      << opened.status().ToString();
}

}  // namespace
}  // namespace snapdelta
