// NewDiscardSink (snapdelta/sink.h): counts are the differ's; the events go nowhere.
#include "snapdelta/sink.h"

namespace snapdelta {
namespace {

class DiscardSink : public Sink {
 public:
  Status Begin(const ImportIdentity&) override { return Status::OK(); }
  Status Put(const ChangeEvent&) override { return Status::OK(); }
  Status PutEventLine(std::string_view) override { return Status::OK(); }
  Status Finish() override { return Status::OK(); }
  void Abort() override {}
};

}  // namespace

std::unique_ptr<Sink> NewDiscardSink() { return std::make_unique<DiscardSink>(); }

}  // namespace snapdelta
