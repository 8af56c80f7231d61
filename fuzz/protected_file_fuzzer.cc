// Fuzzes ProtectedFile against a hostile store. A valid 100-block file (two MHT nodes) is made
// once; each input edits its nodes as a host could (XOR bytes, drop or add trailing nodes,
// swap or duplicate nodes), then the file is opened and read whole. The oracle: whatever the
// edits, the file either refuses (any error) or returns exactly the original bytes.
#include <cstddef>
#include <cstdint>
#include <random>

#include "confide/protected_file.h"

namespace {

using confide::Bytes;
using confide::protected_file::kNodeSize;
using confide::trusted::FileMode;
using confide::trusted::ProtectedFile;

const Bytes kKey(32, 0x42);

struct Original {
  Bytes content;
  std::vector<Bytes> nodes;
};

const Original& Make() {
  static const Original o = [] {
    Original r;
    r.content.resize(100 * kNodeSize + 123);
    std::mt19937 rng(1);
    for (auto& b : r.content) b = uint8_t(rng());
    auto nodes = std::make_shared<std::vector<Bytes>>();
    auto f = ProtectedFile::OpenStore(std::make_unique<confide::protected_file::MemoryNodeStore>(nodes), "fuzz",
                                      FileMode::kCreate, kKey);
    if (!f.ok() || !(*f)->Write(r.content).ok() || !(*f)->Close().ok()) __builtin_trap();
    r.nodes = *nodes;
    return r;
  }();
  return o;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const Original& orig = Make();
  auto nodes = std::make_shared<std::vector<Bytes>>(orig.nodes);
  // Edits of 4 bytes each: op, node, and two bytes of offset / argument.
  for (size_t i = 0; i + 4 <= size; i += 4) {
    uint8_t op = data[i] % 4;
    size_t n = nodes->empty() ? 0 : data[i + 1] % nodes->size();
    size_t arg = size_t(data[i + 2]) << 8 | data[i + 3];
    if (op == 0 && !nodes->empty()) {
      (*nodes)[n][arg % kNodeSize] ^= uint8_t(arg >> 8 | 1);
    } else if (op == 1 && !nodes->empty()) {
      nodes->resize(nodes->size() - 1 - arg % std::min<size_t>(nodes->size(), 3));
    } else if (op == 2) {
      nodes->push_back(Bytes(kNodeSize, uint8_t(arg)));
    } else if (op == 3 && !nodes->empty()) {
      (*nodes)[n] = (*nodes)[arg % nodes->size()];  // a copy of another (or the same) node
    }
  }
  auto f = ProtectedFile::OpenStore(std::make_unique<confide::protected_file::MemoryNodeStore>(nodes), "fuzz",
                                    FileMode::kRead, kKey);
  if (!f.ok()) return 0;
  Bytes out(orig.content.size() + 10);
  auto r = (*f)->Read(out);
  if (!r.ok()) return 0;
  // Accepted: must be the original, byte for byte (added trailing nodes are ignored).
  if (*r != orig.content.size() || !std::equal(orig.content.begin(), orig.content.end(), out.begin()))
    __builtin_trap();
  return 0;
}
