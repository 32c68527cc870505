// ChangeReader: the events of one committed change file (<changes>/<tenant>/<table>/<version>
// .jsonl, README "Event format"), read in order a line at a time, for the publisher. Memory is
// one read buffer and the longest line, whatever the file's size.
//
// Each line is checked as it is read: a JSON object whose "seq" is the previous line's plus one
// (from 1), with an "id" string and a "key" object. Anything else is kCorruption naming the file
// and line: a change file is snapdelta's own output, so a bad one was damaged after the commit.
//
// Thread safety: none; one reader per thread.
#ifndef SNAPDELTA_PUBLISH_CHANGE_READER_H_
#define SNAPDELTA_PUBLISH_CHANGE_READER_H_

#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <string_view>

#include "snapdelta/status.h"

namespace snapdelta {

// One event as it stands in the change file. The views are valid until the next Next().
struct ChangeLine {
  uint64_t seq = 0;
  std::string_view id;    // "<tenant>/<table>/<version>/<seq>", unescaped
  std::string_view op;    // "INSERT", "UPDATE", "DELETE"
  std::string_view key;   // the "key" object's JSON text, as written
  std::string_view text;  // the whole line, without its newline
};

class ChangeReader {
 public:
  // kNotFound naming the path when the file does not exist.
  static StatusOr<std::unique_ptr<ChangeReader>> Open(const std::string& path);
  ~ChangeReader();
  ChangeReader(const ChangeReader&) = delete;
  ChangeReader& operator=(const ChangeReader&) = delete;

  // The next event; false at the end of the file.
  StatusOr<bool> Next(ChangeLine* line);
  // Events read so far (the last seq).
  uint64_t events() const { return line_number_; }
  const std::string& path() const { return path_; }

 private:
  struct Parser;
  ChangeReader(std::string path, std::FILE* file);
  // Reads the next line into line_; false at the end of the file.
  StatusOr<bool> ReadLine();
  Status LineError(const std::string& what) const;

  std::string path_;
  std::FILE* file_;
  std::string buffer_;  // bytes read and not yet consumed: buffer_[begin_, end_)
  size_t begin_ = 0;
  size_t end_ = 0;
  bool eof_ = false;
  std::string line_;  // the current line, padded for the JSON parser
  std::string id_;    // the current line's id, unescaped
  uint64_t line_number_ = 0;
  std::unique_ptr<Parser> parser_;
};

}  // namespace snapdelta

#endif  // SNAPDELTA_PUBLISH_CHANGE_READER_H_
