#include "base/console.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <mutex>

namespace snapdelta::console {
namespace {

std::mutex g_mutex;
std::vector<std::string> g_block;  // guarded by g_mutex: the lines on screen

// Moves the cursor to the start of the block and erases it. REQUIRES: g_mutex held.
void ClearLocked() {
  if (g_block.empty()) return;
  // The cursor rests at the end of the block's last line.
  std::string erase = "\r\033[K";
  for (size_t i = 1; i < g_block.size(); ++i) erase += "\033[A\033[K";
  std::fputs(erase.c_str(), stderr);
}

// REQUIRES: g_mutex held.
void DrawLocked() {
  for (size_t i = 0; i < g_block.size(); ++i) {
    if (i > 0) std::fputc('\n', stderr);
    std::fputs(g_block[i].c_str(), stderr);
  }
  std::fflush(stderr);
}

// The terminal's width in columns (80 when it cannot tell): a block line longer than that would
// wrap and leave a stray line behind at the next redraw.
size_t TerminalColumns() {
  struct winsize size {};
  if (::ioctl(STDERR_FILENO, TIOCGWINSZ, &size) == 0 && size.ws_col > 0) return size.ws_col;
  return 80;
}

}  // namespace

bool StderrIsTerminal() {
  static const bool is_terminal = ::isatty(STDERR_FILENO) != 0;
  return is_terminal;
}

void WriteLine(std::FILE* stream, std::string_view line) {
  std::lock_guard<std::mutex> lock(g_mutex);
  ClearLocked();
  if (!g_block.empty()) std::fflush(stderr);
  std::fwrite(line.data(), 1, line.size(), stream);
  std::fputc('\n', stream);
  std::fflush(stream);
  DrawLocked();
}

void SetProgress(const std::vector<std::string>& lines) {
  if (!StderrIsTerminal()) return;
  std::lock_guard<std::mutex> lock(g_mutex);
  const size_t columns = TerminalColumns();
  ClearLocked();
  g_block = lines;
  for (std::string& line : g_block) {
    if (line.size() >= columns) line.resize(columns - 1);
  }
  DrawLocked();
}

}  // namespace snapdelta::console
