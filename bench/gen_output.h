// Output files of snapdelta-gen: plain or gzip, written by a background thread so that
// formatting rows and compressing them use both cores. Header-only; used by bench/gen_exports.cc.
//
// ExportWriter owns the file and one writer thread. The producer hands it chunks of text with
// Write(), which returns an empty buffer (with capacity) to fill next; at most kQueuedChunks
// chunks wait at a time, so memory stays at a few chunks. Close() drains the queue, finishes the
// gzip stream and closes the file. Errors are printed on stderr once and reported by Write (from
// then on) and Close. An ExportWriter is used by one producer thread.
#ifndef SNAPDELTA_BENCH_GEN_OUTPUT_H_
#define SNAPDELTA_BENCH_GEN_OUTPUT_H_

#include <zlib.h>
#ifdef SNAPDELTA_HAVE_ISAL
#include <isa-l/igzip_lib.h>
#endif

#include <cerrno>
#include <condition_variable>
#include <cstdio>
#include <cstring>
#include <deque>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace snapdelta::gen {

// Chunks waiting for the writer thread; two keep both threads busy.
constexpr size_t kQueuedChunks = 2;
// Size of the compressed-output buffer and of the stdio buffer.
constexpr size_t kOutputBufferBytes = 1 << 20;

enum class Codec {
  kPlain,
  kZlib,  // gzip, zlib deflate level 6 (as gen_exports.py)
  kIsal,  // gzip, ISA-L level 1: several times faster, larger files (zlib level 1 without ISA-L)
};

// A gzip stream compressed with zlib or ISA-L into a FILE*.
class Compressor {
 public:
  Compressor(Codec codec, std::FILE* file) : codec_(codec), file_(file), out_(kOutputBufferBytes) {
#ifndef SNAPDELTA_HAVE_ISAL
    const int level = codec_ == Codec::kIsal ? 1 : 6;
    codec_ = Codec::kZlib;
#else
    const int level = 6;
#endif
    if (codec_ == Codec::kZlib) {
      ok_ = deflateInit2(&zs_, level, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY) == Z_OK;
    }
#ifdef SNAPDELTA_HAVE_ISAL
    if (codec_ == Codec::kIsal) {
      isal_deflate_init(&is_);
      level_buf_.resize(ISAL_DEF_LVL1_DEFAULT);
      is_.level = 1, is_.level_buf = level_buf_.data(), is_.level_buf_size = level_buf_.size();
      is_.gzip_flag = IGZIP_GZIP;
    }
#endif
  }
  ~Compressor() {
    if (codec_ == Codec::kZlib) deflateEnd(&zs_);
  }
  Compressor(const Compressor&) = delete;
  Compressor& operator=(const Compressor&) = delete;

  // Compresses `data`; with `finish`, also ends the gzip stream. False on any error.
  bool Compress(std::string_view data, bool finish) {
    if (!ok_) return false;
#ifdef SNAPDELTA_HAVE_ISAL
    if (codec_ == Codec::kIsal) return ok_ = CompressIsal(data, finish);
#endif
    return ok_ = CompressZlib(data, finish);
  }

 private:
  bool Put(size_t bytes) { return std::fwrite(out_.data(), 1, bytes, file_) == bytes; }

  bool CompressZlib(std::string_view data, bool finish) {
    zs_.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
    zs_.avail_in = static_cast<uInt>(data.size());
    int rc;
    do {
      zs_.next_out = out_.data(), zs_.avail_out = static_cast<uInt>(out_.size());
      rc = deflate(&zs_, finish ? Z_FINISH : Z_NO_FLUSH);
      if (rc == Z_STREAM_ERROR || !Put(out_.size() - zs_.avail_out)) return false;
    } while (zs_.avail_out == 0 || (finish && rc != Z_STREAM_END));
    return true;
  }

#ifdef SNAPDELTA_HAVE_ISAL
  bool CompressIsal(std::string_view data, bool finish) {
    is_.next_in = reinterpret_cast<uint8_t*>(const_cast<char*>(data.data()));
    is_.avail_in = static_cast<uint32_t>(data.size());
    is_.end_of_stream = finish;
    do {
      is_.next_out = out_.data(), is_.avail_out = static_cast<uint32_t>(out_.size());
      if (isal_deflate(&is_) != COMP_OK || !Put(out_.size() - is_.avail_out)) return false;
    } while (is_.avail_in > 0 || is_.avail_out == 0 ||
             (finish && is_.internal_state.state != ZSTATE_END));
    return true;
  }

  isal_zstream is_{};
  std::vector<uint8_t> level_buf_;
#endif

  Codec codec_;
  std::FILE* file_;
  std::vector<uint8_t> out_;
  z_stream zs_{};
  bool ok_ = true;
};

class ExportWriter {
 public:
  ExportWriter(const std::string& path, Codec codec)
      : path_(path), file_(std::fopen(path.c_str(), "wb")) {
    if (file_ == nullptr) {
      Fail(std::strerror(errno));
      return;
    }
    std::setvbuf(file_, nullptr, _IOFBF, kOutputBufferBytes);
    if (codec != Codec::kPlain) compressor_ = std::make_unique<Compressor>(codec, file_);
    thread_ = std::thread([this] { Drain(); });
  }
  ~ExportWriter() { Close(); }
  ExportWriter(const ExportWriter&) = delete;
  ExportWriter& operator=(const ExportWriter&) = delete;

  // Queues `chunk` for writing and returns a cleared buffer to fill next. Blocks while
  // kQueuedChunks chunks wait. `*ok` turns false once any write failed.
  std::string Write(std::string&& chunk, bool* ok) {
    if (!thread_.joinable()) {  // the file could not be opened
      *ok = false;
      chunk.clear();
      return std::move(chunk);
    }
    std::unique_lock lock(mu_);
    space_.wait(lock, [this] { return queue_.size() < kQueuedChunks; });
    *ok = *ok && !failed_;
    queue_.push_back(std::move(chunk));
    work_.notify_one();
    std::string spare;
    if (!spares_.empty()) spare = std::move(spares_.back()), spares_.pop_back();
    spare.clear();
    return spare;
  }

  // Writes what is queued, ends the stream and closes the file; true when every write succeeded.
  bool Close() {
    if (thread_.joinable()) {
      {
        std::lock_guard lock(mu_);
        closing_ = true;
      }
      work_.notify_one();
      thread_.join();
      const bool finished = !compressor_ || compressor_->Compress({}, /*finish=*/true);
      if (!finished || std::fflush(file_) != 0) Fail("write failed");
    }
    if (file_ != nullptr && std::fclose(std::exchange(file_, nullptr)) != 0) Fail("close failed");
    return !failed_;
  }

 private:
  void Fail(const char* why) {
    if (!failed_) std::cerr << "snapdelta-gen: cannot write " << path_ << ": " << why << "\n";
    failed_ = true;
  }

  // The writer thread: writes queued chunks in order until Close() asks it to stop.
  void Drain() {
    std::unique_lock lock(mu_);
    for (;;) {
      work_.wait(lock, [this] { return !queue_.empty() || closing_; });
      if (queue_.empty()) return;
      std::string chunk = std::move(queue_.front());
      lock.unlock();
      const bool written = compressor_
                               ? compressor_->Compress(chunk, false)
                               : std::fwrite(chunk.data(), 1, chunk.size(), file_) == chunk.size();
      lock.lock();
      if (!written) Fail("write failed");
      queue_.pop_front();
      spares_.push_back(std::move(chunk));
      space_.notify_one();
    }
  }

  const std::string path_;
  std::FILE* file_;
  std::unique_ptr<Compressor> compressor_;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable work_, space_;
  std::deque<std::string> queue_;    // GUARDED_BY(mu_)
  std::vector<std::string> spares_;  // GUARDED_BY(mu_)
  bool closing_ = false;             // GUARDED_BY(mu_)
  bool failed_ = false;              // GUARDED_BY(mu_) while the thread runs
};

}  // namespace snapdelta::gen

#endif  // SNAPDELTA_BENCH_GEN_OUTPUT_H_
