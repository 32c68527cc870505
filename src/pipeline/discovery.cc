#include "pipeline/discovery.h"

#include <fmt/format.h>

#include <algorithm>
#include <functional>
#include <tuple>

#include "base/fs.h"
#include "csv/csv_scan.h"
#include "pipeline/import_log.h"
#include "pipeline/multipart.h"

namespace snapdelta {
namespace {

// The longest suffix snapdelta puts after a version in a file name: the change file while it is
// written (AtomicFile's private temp file, "<final>.<pid>-<n>.tmp"); ".state" is shorter.
constexpr std::string_view kChangeSuffix = ".jsonl";
constexpr size_t kLongestVersionSuffix = kChangeSuffix.size() + kLongestTempSuffix;

// `name` with bytes that are not valid UTF-8 (and control characters) shown as \xNN, so a
// message about it is readable and itself valid UTF-8.
std::string Printable(std::string_view name) {
  std::string out;
  while (!name.empty()) {
    size_t valid = csv_scan::FindInvalidUtf8(name.data(), name.size());
    for (char c : name.substr(0, valid)) {
      if (static_cast<unsigned char>(c) < 0x20) {
        out += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
      } else {
        out.push_back(c);
      }
    }
    if (valid == name.size()) break;
    out += fmt::format("\\x{:02x}", static_cast<unsigned char>(name[valid]));
    name.remove_prefix(valid + 1);
  }
  return out;
}

ImportRecord NewRecord(const LandingFile& file) {
  ImportRecord record;
  record.tenant = file.tenant;
  record.table = file.table;
  record.version = file.version;
  record.file = file.file;
  record.size = file.size;
  record.mtime_ms = file.mtime_ms;
  record.discovered_at_ms = SystemClockMs();
  return record;
}

// What to record for one file; nullopt: nothing.
using Verdict = std::optional<DiscoveredExport>;

Verdict Finished(ImportRecord record, ImportState state, std::string reason) {
  record.state = state;
  record.reason = std::move(reason);
  if (state != ImportState::kDiscovered) record.finished_at_ms = record.discovered_at_ms;
  return DiscoveredExport{std::move(record), ""};
}

// The newest committed import of the file at `record`'s path, if any.
StatusOr<std::optional<ImportRecord>> CommittedImportOf(Registry* registry,
                                                        const ImportRecord& record) {
  ASSIGN_OR_RETURN(std::vector<ImportRecord> imports,
                   registry->ListImports(record.tenant, record.table));
  std::optional<ImportRecord> committed;
  for (const ImportRecord& import : imports) {
    if (import.version == record.version && import.file == record.file &&
        import.state == ImportState::kCommitted) {
      committed = import;
    }
  }
  return committed;
}

// Decides what a readable file with new content (record.checksum set) is: a re-upload, stale,
// or an import to run. `existing` is the file's newest record.
StatusOr<Verdict> ClassifyContent(Registry* registry, const std::optional<ImportRecord>& existing,
                                  ImportRecord record) {
  if (existing && existing->checksum == record.checksum) {
    if (existing->state == ImportState::kDiscovered || existing->state == ImportState::kRunning ||
        existing->failure == FailureKind::kEnvironment ||
        existing->failure == FailureKind::kCrash) {
      return Verdict();  // touched while pending or awaiting a retry: it will be imported once
    }
    return Finished(std::move(record), ImportState::kSkipped,
                    fmt::format("re-upload of identical content (import #{}, {})", existing->id,
                                ImportStateName(existing->state)));
  }
  if (registry == nullptr) return Finished(std::move(record), ImportState::kDiscovered, "");
  ASSIGN_OR_RETURN(std::optional<ImportRecord> committed, CommittedImportOf(registry, record));
  if (committed && committed->checksum == record.checksum) {  // the original content is back
    return Finished(
        std::move(record), ImportState::kSkipped,
        fmt::format("re-upload of identical content (import #{}, committed)", committed->id));
  }
  ASSIGN_OR_RETURN(std::optional<TableState> table,
                   registry->GetTableState(record.tenant, record.table));
  std::string stale = table ? StaleReason(record.version, table->version) : "";
  if (stale.empty()) return Finished(std::move(record), ImportState::kDiscovered, "");
  std::string name =
      Printable(record.tenant + "/" + record.table + "/" + record.version + "/" + record.file);
  int64_t committed_id = committed ? committed->id : 0;
  Verdict item = Finished(std::move(record), ImportState::kSkipped, stale);
  if (committed) {
    item->warning = fmt::format(
        "{}: the file changed after it was committed (import #{}); its published events came "
        "from the earlier content and the new content is not imported; deliver a changed export "
        "as a new version",
        name, committed_id);
  }
  return item;
}

using ContentIdFn = std::function<StatusOr<std::string>()>;

// What to record for `file`, or nullopt when nothing (already known, or not settled yet: then
// it is added to `pass->unsettled`).
StatusOr<Verdict> ClassifyFile(const LandingFile& file, const ContentIdFn& content_id,
                               Registry* registry, SettleTracker* settle, int64_t retry_backoff_ms,
                               DiscoveryPass* pass) {
  std::optional<ImportRecord> existing;
  if (registry != nullptr) {
    ASSIGN_OR_RETURN(existing,
                     registry->FindImport(file.tenant, file.table, file.version, file.file));
  }
  std::string refused = ExportNameProblem(file.tenant, file.table, file.version, file.file);
  // A failure to read it, recorded by an earlier discovery: reading is tried again.
  bool unread = existing && existing->state == ImportState::kFailed && existing->checksum.empty() &&
                refused.empty() && file.unusable.empty();
  // A waiting version reaches here only once its marker is listed, and an empty marker changes
  // neither the summed size nor, at S3's one-second resolution, the newest mtime: it is never
  // "already known".
  bool waiting = existing && existing->state == ImportState::kWaiting;
  if (existing && existing->size == file.size && existing->mtime_ms == file.mtime_ms && !unread &&
      !waiting) {
    return Verdict();
  }
  ImportRecord record = NewRecord(file);
  if (!refused.empty()) {
    record.failure = FailureKind::kContent;
    return Finished(std::move(record), ImportState::kFailed, std::move(refused));
  }
  if (!file.unusable.empty()) {
    return Finished(std::move(record), ImportState::kSkipped, file.unusable);
  }
  if (settle != nullptr && !settle->Settled(file)) {
    pass->unsettled.push_back(file);
    return Verdict();
  }
  StatusOr<std::string> checksum = content_id();
  if (!checksum.ok()) {
    if (unread) return Verdict();  // still unreadable: recorded already
    record.failure = ClassifyFailure(checksum.status());
    if (record.failure == FailureKind::kEnvironment) {
      record.retry_at_ms = record.discovered_at_ms + retry_backoff_ms;
    }
    return Finished(std::move(record), ImportState::kFailed, checksum.status().message());
  }
  record.checksum = std::move(*checksum);
  ASSIGN_OR_RETURN(Verdict verdict, ClassifyContent(registry, existing, std::move(record)));
  if (verdict && existing && existing->state == ImportState::kWaiting) {
    verdict->completes = existing->id;
  }
  return verdict;
}

// A version waiting for its marker: recorded waiting once, noted every pass, and holding the
// table's later versions back.
StatusOr<Verdict> Incomplete(const VersionFiles& version, const std::string& marker,
                             Registry* registry, DiscoveryPass* pass) {
  LandingFile entry = MultiPartEntry(version, marker.empty() ? kSuccessMarker : marker);
  std::string why = marker.empty()
                        ? fmt::format(
                              "{} files and no marker: add an empty {} (or a {} listing the files) "
                              "once all are uploaded, and it is imported as one export",
                              version.data_files, kSuccessMarker, kManifestMarker)
                        : fmt::format(
                              "waits for its {} marker (the table's `marker`): add it once all "
                              "files are uploaded",
                              marker);
  const LandingFile& first = version.files.front();
  pass->notes.push_back(Printable(first.tenant + "/" + first.table + "/" + first.version) + ": " +
                        why);
  pass->incomplete.push_back(entry);
  if (registry != nullptr) {
    ASSIGN_OR_RETURN(std::optional<ImportRecord> existing,
                     registry->FindImport(entry.tenant, entry.table, entry.version, entry.file));
    if (existing && existing->state == ImportState::kWaiting) return Verdict();
  }
  ImportRecord record = NewRecord(entry);
  record.state = ImportState::kWaiting;
  record.reason = std::move(why);
  return Verdict(DiscoveredExport{std::move(record), "", 0});
}

}  // namespace

std::string ExportNameProblem(const std::string& tenant, const std::string& table,
                              const std::string& version, const std::string& file) {
  const std::pair<const char*, const std::string*> names[] = {{"tenant folder", &tenant},
                                                              {"table folder", &table},
                                                              {"version folder", &version},
                                                              {"file", &file}};
  for (const auto& [what, name] : names) {
    size_t bad = csv_scan::FindInvalidUtf8(name->data(), name->size());
    if (bad == name->size()) continue;
    return fmt::format(
        "refused: the {} name \"{}\" is not valid UTF-8 (byte 0x{:02x} at offset {}); change "
        "files, event ids and JSON output need UTF-8 names: rename it",
        what, Printable(*name), static_cast<unsigned char>((*name)[bad]), bad);
  }
  if (version.size() + kLongestVersionSuffix > kMaxFileNameBytes) {
    return fmt::format(
        "refused: the version folder name is {} bytes, so its change file \"<version>.jsonl\" "
        "(written under a temporary name up to {} bytes longer) would pass the file system's "
        "{}-byte limit on a name: rename it to at most {} bytes",
        version.size(), kLongestVersionSuffix, kMaxFileNameBytes,
        kMaxFileNameBytes - kLongestVersionSuffix);
  }
  return "";
}

StatusOr<bool> ExportRegistered(Registry* registry, const LandingFile& file) {
  for (const std::string& name :
       {file.file, std::string(kSuccessMarker), std::string(kManifestMarker)}) {
    ASSIGN_OR_RETURN(std::optional<ImportRecord> record,
                     registry->FindImport(file.tenant, file.table, file.version, name));
    if (record) return true;
  }
  return false;
}

std::string StaleReason(const std::string& version, const std::string& committed) {
  if (version > committed) return "";
  if (version == committed) {
    return "version " + version +
           " is already committed with other content; a changed export "
           "needs a new version";
  }
  return "stale: version " + version + " is older than the committed version " + committed;
}

StatusOr<DiscoveryPass> ClassifyExports(LandingZone* landing, Registry* registry,
                                        SettleTracker* settle, int64_t retry_backoff_ms,
                                        const std::set<std::string>* only_paths,
                                        const Config* config) {
  ASSIGN_OR_RETURN(LandingListing listing, landing->List());
  DiscoveryPass pass;
  pass.notes = std::move(listing.notes);
  auto add = [&](const LandingFile& file, const ContentIdFn& content_id) -> Status {
    if (only_paths != nullptr && !only_paths->contains(file.path)) return Status::OK();
    ASSIGN_OR_RETURN(Verdict item,
                     ClassifyFile(file, content_id, registry, settle, retry_backoff_ms, &pass));
    if (item) pass.exports.push_back(std::move(*item));
    return Status::OK();
  };
  for (const VersionFiles& version : GroupByVersion(std::move(listing.files))) {
    const LandingFile& first = version.files.front();
    const std::string required =
        config != nullptr ? config->ForTable(first.table).marker : std::string();
    const std::string marker = version.Marker(required);
    const bool multi_part = !marker.empty();
    for (const LandingFile& file : version.files) {  // each unusable entry, and single files
      if (!file.unusable.empty() || (!multi_part && version.data_files == 1)) {
        RETURN_IF_ERROR(add(file, [&] { return landing->Checksum(file); }));
      }
    }
    if (version.data_files <= 1 && !multi_part) continue;
    if (!version.Holds(marker)) {
      if (only_paths == nullptr) {
        ASSIGN_OR_RETURN(Verdict item, Incomplete(version, marker, registry, &pass));
        if (item) pass.exports.push_back(std::move(*item));
      }
      continue;
    }
    RETURN_IF_ERROR(add(MultiPartEntry(version, marker), [&]() -> StatusOr<std::string> {
      ASSIGN_OR_RETURN(std::unique_ptr<StoredFile> parts,
                       OpenParts(landing, version.files, marker));
      return parts->ContentId();
    }));
  }
  return pass;
}

Status DiscoverExports(LandingZone* landing, Registry* registry, SettleTracker* settle,
                       int64_t retry_backoff_ms, DiscoveryReport* report, const Config* config) {
  ASSIGN_OR_RETURN(DiscoveryPass pass,
                   ClassifyExports(landing, registry, settle, retry_backoff_ms, nullptr, config));
  for (DiscoveredExport& item : pass.exports) {
    ASSIGN_OR_RETURN(item.record.id, registry->RegisterImport(item.record));
    if (item.record.state == ImportState::kDiscovered ||
        item.record.state == ImportState::kWaiting) {
      ImportLog(LogLevel::kInfo,
                item.record.state == ImportState::kWaiting ? "waiting" : "discovered", item.record)
          .Add("import", item.record.id)
          .Add("file", item.record.file)
          .Add("bytes", item.record.size);
    }
    if (item.completes != 0) {
      RETURN_IF_ERROR(registry->MarkSkipped(
          item.completes,
          fmt::format("complete once its marker arrived: import #{}", item.record.id)));
    }
    if (!item.warning.empty()) report->warnings.push_back(std::move(item.warning));
    if (item.record.state != ImportState::kDiscovered &&
        item.record.state != ImportState::kWaiting) {
      report->finished.push_back(std::move(item.record));
    }
  }
  report->notes = std::move(pass.notes);
  const int64_t settle_ms = settle != nullptr ? settle->settle_ms() : 0;
  for (const LandingFile& file : pass.unsettled) {
    report->notes.push_back(UnsettledNote(file, settle_ms));
  }
  report->unsettled = std::move(pass.unsettled);
  report->unsettled.insert(report->unsettled.end(), pass.incomplete.begin(), pass.incomplete.end());
  return Status::OK();
}

TablePlan PlanPending(const std::vector<ImportRecord>& pending,
                      std::vector<ImportRecord>* superseded) {
  std::map<std::tuple<std::string, std::string, std::string, std::string>, ImportRecord> newest;
  for (const ImportRecord& record : pending) {
    auto [it, inserted] = newest.emplace(
        std::make_tuple(record.tenant, record.table, record.version, record.file), record);
    if (inserted) continue;
    superseded->push_back(it->second);
    it->second = record;
  }
  TablePlan plan;
  for (auto& [key, record] : newest) plan[{record.tenant, record.table}].push_back(record);
  return plan;
}

std::vector<ImportRecord> HoldBackUnsettled(std::vector<ImportRecord> pending,
                                            const std::vector<LandingFile>& unsettled,
                                            std::vector<ImportRecord>* held_back) {
  std::map<std::pair<std::string, std::string>, std::string> earliest;  // table -> version
  for (const LandingFile& file : unsettled) {
    auto [it, inserted] = earliest.try_emplace({file.tenant, file.table}, file.version);
    if (!inserted) it->second = std::min(it->second, file.version);
  }
  std::vector<ImportRecord> kept;
  for (ImportRecord& record : pending) {
    auto it = earliest.find({record.tenant, record.table});
    if (it == earliest.end() || record.version < it->second) {
      kept.push_back(std::move(record));
    } else if (held_back != nullptr) {
      held_back->push_back(std::move(record));
    }
  }
  return kept;
}

}  // namespace snapdelta
