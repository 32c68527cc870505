// Tests for the Registry's leases, on both backends: grants, conflicts, expiry, renewal and
// release with growing fencing tokens; commits fenced by them; and one registry file or database
// contended for by several registry objects, threads and processes.
#include <sys/wait.h>
#include <unistd.h>

#include <functional>
#include <latch>
#include <thread>
#include <vector>

#include "registry_fixture.h"

namespace snapdelta {
namespace {

class RegistryLeaseTest : public RegistryTest {
 protected:
  StatusOr<Lease> TryAcquire(const std::string& owner) {
    return registry_->AcquireLease("acme", "orders", owner, kTtlMs);
  }

  // Registers an import of acme/orders and marks it running under a fresh lease.
  std::pair<int64_t, Lease> StartImport(const std::string& version, const std::string& owner) {
    const int64_t id = Register(MakeImport("orders", version));
    Lease lease = Acquire("orders", owner);
    EXPECT_TRUE(registry_->MarkRunning(id, lease).ok());
    return {id, lease};
  }
};

INSTANTIATE_TEST_SUITE_P(Backends, RegistryLeaseTest, RegistryBackends(), BackendName);

TEST_P(RegistryLeaseTest, AFreeTableIsGrantedWithTokenOne) {
  Lease lease = Acquire("orders", "w1");
  EXPECT_EQ(lease.tenant, "acme");
  EXPECT_EQ(lease.table, "orders");
  EXPECT_EQ(lease.owner, "w1");
  EXPECT_EQ(lease.token, 1);
  EXPECT_EQ(lease.expires_at_ms, kStartMs + kTtlMs);
}

TEST_P(RegistryLeaseTest, AHeldLeaseIsUnavailableToAnotherOwnerNamingHolderAndExpiry) {
  Acquire("orders", "w1");
  now_ += kTtlMs - 1;
  ExpectError(TryAcquire("w2").status(), StatusCode::kUnavailable,
              "lease for acme/orders is held by w1 until 2023-11-14T22:13:50.000Z (1 ms from now");
  EXPECT_EQ(Acquire("users", "w2").token, 1);  // other tables are independent
}

TEST_P(RegistryLeaseTest, AnExpiredLeaseIsGrantedAgainWithABiggerToken) {
  Lease first = Acquire("orders", "w1");
  now_ += kTtlMs;  // expires_at_ms <= now: expired
  Lease second = Acquire("orders", "w2");
  EXPECT_EQ(second.owner, "w2");
  EXPECT_GT(second.token, first.token);
}

TEST_P(RegistryLeaseTest, AHeldImportKeepsItsCountsAndCanStillBeRunOrSkipped) {
  auto [id, lease] = StartImport("v2", "w1");
  ASSERT_TRUE(registry_->MarkHeld(id, "max_delete_ratio: too many", {1000, 0, 0, 9000}).ok());
  StatusOr<std::optional<ImportRecord>> held =
      registry_->FindImport("acme", "orders", "v2", "export.csv.gz");
  ASSERT_TRUE(held.ok() && held->has_value());
  EXPECT_EQ((*held)->state, ImportState::kHeld);
  EXPECT_EQ((*held)->reason, "max_delete_ratio: too many");
  EXPECT_EQ((*held)->counts.deletes, 9000u);
  EXPECT_TRUE(registry_->ListPending()->empty());       // held waits for a person, not for `run`
  ASSERT_TRUE(registry_->MarkRunning(id, lease).ok());  // `release`
  ASSERT_TRUE(registry_->MarkHeld(id, "again", {}).ok());
  ASSERT_TRUE(registry_->MarkSkipped(id, "skipped by hand").ok());
  ExpectError(registry_->MarkHeld(id, "late", {}), StatusCode::kAborted, "already skipped");
}

TEST_P(RegistryLeaseTest, RewindMovesTheTableStateBackAndMarksTheUndoneImports) {
  auto [v1, first] = StartImport("v1", "w1");
  ASSERT_TRUE(
      registry_->CommitImport(first, v1, {}, "", {"acme", "orders", "v1", v1, "v1.state"}).ok());
  auto [v2, second] = StartImport("v2", "w1");
  ASSERT_TRUE(
      registry_->CommitImport(second, v2, {}, "", {"acme", "orders", "v2", v2, "v2.state"}).ok());
  ExpectError(registry_->RewindTable(first, {"acme", "orders", "v1", v1, "v1.state"}, {v2}),
              StatusCode::kAborted, "stale");  // fenced like a commit
  ASSERT_TRUE(registry_->ReleaseLease(second).ok());
  Lease lease = Acquire("orders", "admin");
  ASSERT_TRUE(registry_->RewindTable(lease, {"acme", "orders", "v1", v1, "v1.state"}, {v2}).ok());
  StatusOr<std::optional<TableState>> state = registry_->GetTableState("acme", "orders");
  ASSERT_TRUE(state.ok() && state->has_value());
  EXPECT_EQ((*state)->version, "v1");
  EXPECT_EQ((*state)->state_file, "v1.state");
  std::vector<ImportRecord> imports = *registry_->ListImports("acme", "orders");
  EXPECT_EQ(imports[0].state, ImportState::kCommitted);
  EXPECT_EQ(imports[1].state, ImportState::kRewound);
  EXPECT_NE(imports[1].reason.find("rewind to version v1"), std::string::npos);
}

TEST_P(RegistryLeaseTest, TakeOverGrantsAHeldLeaseOnlyFromTheNamedDeadOwner) {
  auto [id, dead] = StartImport("v1", "dead-worker");
  ExpectError(registry_->TakeOverLease("acme", "orders", "w2", kTtlMs, "someone-else").status(),
              StatusCode::kUnavailable, "held by dead-worker");
  StatusOr<std::optional<Lease>> held = registry_->GetLease("acme", "orders");
  ASSERT_TRUE(held.ok() && held->has_value());
  EXPECT_EQ((*held)->owner, "dead-worker");
  EXPECT_EQ((*held)->token, dead.token);
  StatusOr<Lease> taken = registry_->TakeOverLease("acme", "orders", "w2", kTtlMs, "dead-worker");
  ASSERT_TRUE(taken.ok()) << taken.status().ToString();
  EXPECT_EQ(taken->owner, "w2");
  EXPECT_GT(taken->token, dead.token);
  // The dead worker's grant is fenced: were it only paused, its commit is refused.
  ExpectError(registry_->CommitImport(dead, id, {}, "", {"acme", "orders", "v1", id, "v1.state"}),
              StatusCode::kAborted, "stale");
  EXPECT_FALSE(registry_->GetLease("acme", "users")->has_value());
}

TEST_P(RegistryLeaseTest, TheSameOwnerReacquiringGetsANewTokenThatFencesTheOldOne) {
  Lease first = Acquire("orders", "w1");
  Lease second = Acquire("orders", "w1");
  EXPECT_EQ(second.token, first.token + 1);
  ExpectError(registry_->RenewLease(&first, kTtlMs), StatusCode::kAborted,
              "token 1 is stale (current 2)");
}

TEST_P(RegistryLeaseTest, RenewExtendsTheExpiryAndKeepsOthersOut) {
  Lease lease = Acquire("orders", "w1");
  now_ += kTtlMs - 10;
  ASSERT_TRUE(registry_->RenewLease(&lease, kTtlMs).ok());
  EXPECT_EQ(lease.expires_at_ms, now_ + kTtlMs);
  now_ += kTtlMs - 10;  // past the first expiry, before the renewed one
  ExpectError(TryAcquire("w2").status(), StatusCode::kUnavailable, "held by w1");
}

TEST_P(RegistryLeaseTest, RenewAfterExpiryIsAborted) {
  Lease lease = Acquire("orders", "w1");
  now_ += kTtlMs + 500;
  ExpectError(
      registry_->RenewLease(&lease, kTtlMs), StatusCode::kAborted,
      "lease for acme/orders lost: token 1 expired at 2023-11-14T22:13:50.000Z (500 ms ago)");
  EXPECT_EQ(lease.expires_at_ms, kStartMs + kTtlMs);
}

TEST_P(RegistryLeaseTest, RenewAfterAnotherOwnerTookOverIsAborted) {
  Lease lease = Acquire("orders", "w1");
  now_ += kTtlMs;
  Acquire("orders", "w2");
  ExpectError(registry_->RenewLease(&lease, kTtlMs), StatusCode::kAborted,
              "token 1 is stale (current 2), now held by w2");
}

TEST_P(RegistryLeaseTest, ReleaseFreesTheLeaseAndTheNextGrantHasABiggerToken) {
  Lease lease = Acquire("orders", "w1");
  ASSERT_TRUE(registry_->ReleaseLease(lease).ok());
  EXPECT_EQ(Acquire("orders", "w2").token, 2);
  ExpectError(registry_->RenewLease(&lease, kTtlMs), StatusCode::kAborted, "is stale");
}

TEST_P(RegistryLeaseTest, ReleaseWithAStaleTokenLeavesTheCurrentHolderAlone) {
  Lease old_lease = Acquire("orders", "w1");
  now_ += kTtlMs;
  Lease current = Acquire("orders", "w2");
  ASSERT_TRUE(registry_->ReleaseLease(old_lease).ok());
  ExpectError(TryAcquire("w3").status(), StatusCode::kUnavailable, "held by w2");
  EXPECT_TRUE(registry_->RenewLease(&current, kTtlMs).ok());
}

TEST_P(RegistryLeaseTest, AcquireAndRenewRejectANonPositiveTtl) {
  ExpectError(registry_->AcquireLease("acme", "orders", "w1", 0).status(),
              StatusCode::kInvalidArgument, "ttl must be positive");
  Lease lease = Acquire("orders", "w1");
  ExpectError(registry_->RenewLease(&lease, -5), StatusCode::kInvalidArgument, "got -5 ms");
}

TEST_P(RegistryLeaseTest, CommitMarksTheImportCommittedAndPublishesTheTableState) {
  auto [id, lease] = StartImport("V1", "w1");
  now_ += 100;
  ASSERT_TRUE(
      registry_->CommitImport(lease, id, {5, 2, 1, 1}, "added email", StateFor("orders", "V1"))
          .ok());
  ImportRecord record = Find("orders", "V1");
  EXPECT_EQ(record.state, ImportState::kCommitted);
  EXPECT_EQ(record.counts.rows, 5u);
  EXPECT_EQ(record.counts.inserts, 2u);
  EXPECT_EQ(record.note, "added email");
  EXPECT_EQ(record.finished_at_ms, kStartMs + 100);

  StatusOr<std::optional<TableState>> state = registry_->GetTableState("acme", "orders");
  ASSERT_TRUE(state.ok() && state->has_value()) << state.status().ToString();
  EXPECT_EQ((*state)->version, "V1");
  EXPECT_EQ((*state)->import_id, id);
  EXPECT_EQ((*state)->state_file, "V1.state");
  EXPECT_FALSE(registry_->GetTableState("acme", "users")->has_value());
}

TEST_P(RegistryLeaseTest, CommitWithAStaleTokenIsAbortedAndChangesNothing) {
  auto [first_id, first] = StartImport("V1", "w1");
  ASSERT_TRUE(registry_->CommitImport(first, first_id, {}, "", StateFor("orders", "V1")).ok());
  auto [paused_id, paused] = StartImport("V2", "w1");
  now_ += kTtlMs;  // the paused worker's lease expires and w2 takes the table
  Acquire("orders", "w2");

  ExpectError(
      registry_->CommitImport(paused, paused_id, {9, 9, 0, 0}, "", StateFor("orders", "V2")),
      StatusCode::kAborted, "lease for acme/orders lost: token 2 is stale (current 3)");
  EXPECT_EQ(Find("orders", "V2").state, ImportState::kRunning);
  EXPECT_EQ(Find("orders", "V2").counts.rows, 0u);
  EXPECT_EQ((*registry_->GetTableState("acme", "orders"))->version, "V1");
}

TEST_P(RegistryLeaseTest, CommitWithAnExpiredLeaseIsAbortedAndChangesNothing) {
  auto [id, lease] = StartImport("V1", "w1");
  now_ += kTtlMs;
  ExpectError(registry_->CommitImport(lease, id, {}, "", StateFor("orders", "V1")),
              StatusCode::kAborted, "lease for acme/orders lost: token 1 expired");
  EXPECT_EQ(Find("orders", "V1").state, ImportState::kRunning);
  EXPECT_FALSE(registry_->GetTableState("acme", "orders")->has_value());
}

TEST_P(RegistryLeaseTest, CommitOfAnotherTablesImportIsAnInvalidArgument) {
  const int64_t users_id = Register(MakeImport("users", "V1"));
  Lease lease = Acquire("orders", "w1");
  ExpectError(registry_->CommitImport(lease, users_id, {}, "", StateFor("orders", "V1")),
              StatusCode::kInvalidArgument, "the import belongs to acme/users");
  ExpectError(registry_->CommitImport(lease, users_id, {}, "", StateFor("users", "V1")),
              StatusCode::kInvalidArgument, "the state is for acme/users");
}

TEST_P(RegistryLeaseTest, MarkRunningUnderALostLeaseIsAborted) {
  const int64_t id = Register(MakeImport("orders", "V1"));
  Lease lease = Acquire("orders", "w1");
  now_ += kTtlMs;
  ExpectError(registry_->MarkRunning(id, lease), StatusCode::kAborted, "expired");
  EXPECT_EQ(Find("orders", "V1").state, ImportState::kDiscovered);
}

TEST_P(RegistryLeaseTest, TwoRegistriesOnOneStoreContendForTheLeaseLikeTwoProcesses) {
  std::unique_ptr<Registry> other = Open();
  ASSERT_NE(other, nullptr);
  Lease lease = Acquire("orders", "process-a");
  ExpectError(other->AcquireLease("acme", "orders", "process-b", kTtlMs).status(),
              StatusCode::kUnavailable, "held by process-a");
  now_ += kTtlMs;
  Lease taken = Acquire("orders", "process-b", other.get());
  EXPECT_EQ(taken.token, lease.token + 1);
  ExpectError(registry_->RenewLease(&lease, kTtlMs), StatusCode::kAborted, "now held by process-b");
}

// A refused grant of acme/orders while one of the "worker-" owners holds or is being granted it.
// PostgreSQL cannot name the owner of a grant still in progress (its row is locked, its owner not
// yet written): it says another worker is claiming the lease.
void ExpectLeaseTaken(const Status& status) {
  EXPECT_EQ(StatusCodeName(status.code()), StatusCodeName(StatusCode::kUnavailable))
      << status.ToString();
  EXPECT_THAT(status.message(),
              ::testing::AnyOf(::testing::HasSubstr("is held by worker-"),
                               ::testing::HasSubstr("is being claimed by another worker")));
}

// Runs `acquire(i)` on `count` threads released together; returns how many were granted and
// expects every refusal to be kUnavailable.
int CountGrants(int count, const std::function<StatusOr<Lease>(int)>& acquire) {
  std::latch start(count);
  std::atomic<int> grants{0};
  std::vector<std::thread> threads;
  for (int thread_idx = 0; thread_idx < count; ++thread_idx) {
    threads.emplace_back([&, thread_idx] {
      start.arrive_and_wait();
      StatusOr<Lease> lease = acquire(thread_idx);
      if (lease.ok()) {
        ++grants;
      } else {
        ExpectLeaseTaken(lease.status());
      }
    });
  }
  for (std::thread& thread : threads) thread.join();
  return grants.load();
}

TEST_P(RegistryLeaseTest, ConcurrentAcquiresFromManyThreadsGrantExactlyOne) {
  EXPECT_EQ(CountGrants(8, [&](int idx) { return TryAcquire("worker-" + std::to_string(idx)); }),
            1);
}

TEST_P(RegistryLeaseTest, ConcurrentAcquiresOverSeparateConnectionsGrantExactlyOne) {
  constexpr int kThreads = 6;
  std::vector<std::unique_ptr<Registry>> registries;
  for (int idx = 0; idx < kThreads; ++idx) {
    registries.push_back(Open());
    ASSERT_NE(registries.back(), nullptr);
  }
  EXPECT_EQ(CountGrants(kThreads,
                        [&](int idx) {
                          return registries[idx]->AcquireLease(
                              "acme", "orders", "worker-" + std::to_string(idx), kTtlMs);
                        }),
            1);
}

TEST_P(RegistryLeaseTest, ConcurrentAcquiresFromSeveralProcessesGrantExactlyOne) {
  constexpr int kProcesses = 4;
  int start_pipe[2];
  ASSERT_EQ(pipe(start_pipe), 0);
  std::vector<pid_t> children;
  for (int idx = 0; idx < kProcesses; ++idx) {
    pid_t pid = fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {  // child: wait for the start signal (EOF), try once, report by exit code
      close(start_pipe[1]);
      char byte;
      while (read(start_pipe[0], &byte, 1) > 0) {
      }
      auto opened = postgres() ? OpenPostgresRegistry(url_, [] { return kStartMs; })
                               : OpenSqliteRegistry(path_, [] { return kStartMs; });
      if (!opened.ok()) _exit(3);
      auto lease =
          (*opened)->AcquireLease("acme", "orders", "worker-p" + std::to_string(idx), kTtlMs);
      _exit(lease.ok() ? 0 : lease.status().code() == StatusCode::kUnavailable ? 1 : 2);
    }
    children.push_back(pid);
  }
  close(start_pipe[0]);
  close(start_pipe[1]);  // starts every child at once
  int granted = 0;
  for (pid_t pid : children) {
    int wait_status = 0;
    ASSERT_EQ(waitpid(pid, &wait_status, 0), pid);
    ASSERT_TRUE(WIFEXITED(wait_status));
    const int code = WEXITSTATUS(wait_status);
    EXPECT_TRUE(code == 0 || code == 1) << "child exit code " << code;
    granted += code == 0 ? 1 : 0;
  }
  EXPECT_EQ(granted, 1);
  ExpectError(TryAcquire("parent").status(), StatusCode::kUnavailable, "is held by worker-p");
}

}  // namespace
}  // namespace snapdelta
