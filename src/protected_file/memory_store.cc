// MemoryNodeStore: nodes in a vector, for tests that tamper with them as a host would.
#include <cstring>

#include "confide/protected_file.h"

namespace confide::protected_file {

MemoryNodeStore::MemoryNodeStore(std::shared_ptr<std::vector<Bytes>> nodes)
    : nodes_(nodes ? std::move(nodes) : std::make_shared<std::vector<Bytes>>()) {}

Result<uint64_t> MemoryNodeStore::NodeCount() { return uint64_t(nodes_->size()); }

Status MemoryNodeStore::ReadNode(uint64_t index, std::span<uint8_t> out) {
  if (index >= nodes_->size())
    return OutOfRange("node " + std::to_string(index) + " is past the store's " +
                      std::to_string(nodes_->size()) + " nodes");
  const Bytes& n = (*nodes_)[index];
  if (out.size() != kNodeSize || n.size() != kNodeSize)
    return InvalidArgument("node " + std::to_string(index) + " is not " + std::to_string(kNodeSize) + " bytes");
  std::memcpy(out.data(), n.data(), kNodeSize);
  return Status::Ok();
}

Status MemoryNodeStore::WriteNode(uint64_t index, ByteSpan node) {
  if (node.size() != kNodeSize) return InvalidArgument("a node must be " + std::to_string(kNodeSize) + " bytes");
  if (index >= nodes_->size()) nodes_->resize(index + 1, Bytes(kNodeSize, 0));
  (*nodes_)[index].assign(node.begin(), node.end());
  return Status::Ok();
}

Status MemoryNodeStore::Truncate(uint64_t count) {
  if (count < nodes_->size()) nodes_->resize(count);
  return Status::Ok();
}

Status MemoryNodeStore::Commit() {
  ++commits_;
  return Status::Ok();
}

}  // namespace confide::protected_file
