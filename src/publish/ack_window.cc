#include "publish/ack_window.h"

#include <algorithm>

namespace snapdelta {

void AckWindow::Reset(uint64_t position) {
  std::lock_guard<std::mutex> lock(mu_);
  position_ = position;
  in_flight_ = 0;
  failed_ = false;
  slots_.clear();
  head_ = 0;
  if (slots_.capacity() > (size_t{1} << 20)) slots_.shrink_to_fit();  // after a huge window
  changed_.notify_all();
}

void AckWindow::Sent(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  ++in_flight_;
  if (slots_.size() > head_ && slots_.back().seq == seq) {
    ++slots_.back().pending;
  } else {
    slots_.push_back(Slot{seq, 1, false});
  }
}

void AckWindow::Acked(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = Find(seq);
  if (it == slots_.end() || it->seq != seq || it->pending == 0) return;
  --it->pending;
  --in_flight_;
  Advance();
  changed_.notify_all();
}

void AckWindow::Failed(uint64_t seq) {
  std::lock_guard<std::mutex> lock(mu_);
  auto it = Find(seq);
  // The failed message is no longer in flight (a second outcome for it is ignored, where it used
  // to be counted again and could take in_flight_ below zero), and its slot stays for good.
  if (it != slots_.end() && it->seq == seq && it->pending > 0) {
    --it->pending;
    --in_flight_;
    it->failed = true;
  }
  failed_ = true;
  changed_.notify_all();
}

// A failed slot is never popped, so the position never passes it.
void AckWindow::Advance() {
  while (head_ < slots_.size() && slots_[head_].pending == 0 && !slots_[head_].failed) {
    position_ = std::max(position_, slots_[head_].seq);
    ++head_;
  }
  if (head_ == slots_.size()) {
    slots_.clear();
    head_ = 0;
  } else if (head_ >= 4096 && head_ >= slots_.size() / 2) {
    slots_.erase(slots_.begin(), slots_.begin() + static_cast<ptrdiff_t>(head_));  // amortized
    head_ = 0;
  }
}

// Slots are sorted by seq, and mostly one per seq with none missing: the slot at seq's distance
// from the first is tried before a binary search.
std::vector<AckWindow::Slot>::iterator AckWindow::Find(uint64_t seq) {
  if (head_ < slots_.size() && seq >= slots_[head_].seq) {
    const uint64_t guess = head_ + (seq - slots_[head_].seq);
    if (guess < slots_.size() && slots_[guess].seq == seq) {
      return slots_.begin() + static_cast<ptrdiff_t>(guess);
    }
  }
  return std::lower_bound(slots_.begin() + static_cast<ptrdiff_t>(head_), slots_.end(), seq,
                          [](const Slot& slot, uint64_t s) { return slot.seq < s; });
}

uint64_t AckWindow::position() const {
  std::lock_guard<std::mutex> lock(mu_);
  return position_;
}

uint64_t AckWindow::in_flight() const { return in_flight_.load(std::memory_order_acquire); }

bool AckWindow::failed() const {
  std::lock_guard<std::mutex> lock(mu_);
  return failed_;
}

void AckWindow::WaitInFlightAtMost(uint64_t max_in_flight) {
  std::unique_lock<std::mutex> lock(mu_);
  changed_.wait(lock, [&] { return in_flight_ <= max_in_flight; });
}

}  // namespace snapdelta
