// File-system helpers every durable write goes through, and the seam crash tests use.
//
// AtomicFile writes a file that appears under its final name complete or not at all:
// temp file in the same folder -> write -> fsync -> rename -> fsync the folder (LevelDB's
// SetCurrentFile). A crash at any point leaves either no file or the old one, plus at most a
// stray temp file that the next writer of the same name overwrites.
//
// Thread safety: an AtomicFile is used by one thread. The free functions are thread-safe.
#ifndef SNAPDELTA_BASE_FS_H_
#define SNAPDELTA_BASE_FS_H_

#include <cstdint>
#include <string>
#include <string_view>

#include "snapdelta/status.h"

namespace snapdelta {

// Creates `path` and its missing parents (like mkdir -p).
Status MakeDirs(const std::string& path);

// Fsyncs a folder so a rename inside it is durable.
Status SyncDir(const std::string& path);

bool PathExists(const std::string& path);

// Removes a file; a missing file is not an error.
Status RemoveFile(const std::string& path);

// Reads a whole (small) file.
StatusOr<std::string> ReadSmallFile(const std::string& path);

// Where temporary files go: $TMPDIR when set and not empty, otherwise /tmp.
std::string TempRoot();

// The folder part of a path ("a/b/c" -> "a/b", "c" -> ".").
std::string DirName(const std::string& path);

class AtomicFile {
 public:
  AtomicFile() = default;
  ~AtomicFile();  // aborts when neither Commit nor Abort ran
  AtomicFile(const AtomicFile&) = delete;
  AtomicFile& operator=(const AtomicFile&) = delete;

  // Where the bytes go until Commit renames them into place.
  enum class Temp {
    kShared,   // "<final_path>.tmp": for files one writer at a time writes
    kOwn,      // "<final_path>.<pid>-<n>.tmp", this writer's own: another process writing the same
               // final path (a diff stopped while the next one starts) never touches it
    kFencing,  // kOwn, and Commit removes the other writers' temp files of the same final path:
               // for files two workers may write at once (one paused past its lease, one that
               // took its import over), which must never share an inode; a writer whose temp
               // file was removed fails at Commit
  };
  // Creates the parent folders and opens the temp file for writing, truncating it.
  Status Open(const std::string& final_path, Temp temp = Temp::kShared);
  // Buffered; errors may surface here or at Commit.
  Status Append(std::string_view data);
  // Flushes, fsyncs, closes, renames into place and fsyncs the folder.
  Status Commit();
  // Closes and removes the temp file. Safe to call twice.
  void Abort();

  uint64_t bytes_written() const { return bytes_written_; }
  const std::string& final_path() const { return final_path_; }

 private:
  Status Flush();

  int fd_ = -1;
  std::string final_path_;
  std::string temp_path_;
  std::string buffer_;
  uint64_t bytes_written_ = 0;
  uint64_t writeback_from_ = 0;  // bytes before it were handed to the disk (Flush)
  Temp temp_ = Temp::kShared;
};

// The longest suffix AtomicFile adds to a final name while the file is written (its own temp
// files): ".<pid>-<n>.tmp" with a 32-bit pid and counter in hex.
inline constexpr size_t kLongestTempSuffix = 1 + 8 + 1 + 8 + 4;

// Removes this process's own temp files of `final_path` (Temp::kOwn or kFencing), and nobody
// else's: what a process stopped by a signal leaves of the files it was writing.
void RemoveOwnTempFiles(const std::string& final_path);

// Test-only fault injection: when the environment variable SNAPDELTA_CRASH_AT is "<point>" or
// "<point>:<n>", the n-th (default first) time the process reaches CrashPoint(<point>) it kills
// itself with SIGKILL, as a power cut would; with "/stop" appended, it stops itself with SIGSTOP
// instead, as a long stall would, until SIGCONT. Does nothing otherwise. Points are listed in
// doc/crash-points.md.
void CrashPoint(std::string_view point);

}  // namespace snapdelta

#endif  // SNAPDELTA_BASE_FS_H_
