// Console: the process's standard error shared by log lines and a live block of progress lines
// kept under them on a terminal. Each log line first clears the block, is written whole, and the
// block is drawn again below it, so lines from several threads never interleave with the
// progress. When stderr is not a terminal the block is never drawn.
//
// Thread safety: every function may be called from any thread.
#ifndef SNAPDELTA_BASE_CONSOLE_H_
#define SNAPDELTA_BASE_CONSOLE_H_

#include <cstdio>
#include <string>
#include <string_view>
#include <vector>

namespace snapdelta::console {

// Whether stderr is a terminal (read once).
bool StderrIsTerminal();

// Writes `line` and a newline to `stream` (stdout or stderr) with the progress block cleared
// around it, and flushes.
void WriteLine(std::FILE* stream, std::string_view line);

// Replaces the progress block with `lines` (none: no block) and draws it, on a terminal only.
void SetProgress(const std::vector<std::string>& lines);

}  // namespace snapdelta::console

#endif  // SNAPDELTA_BASE_CONSOLE_H_
