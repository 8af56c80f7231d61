// Protected-file sequential throughput against sealing the same bytes in one piece with
// crypto::AesGcm (AesGcmSeal / AesGcmOpen), measured in the same run:
//   protected_file_bench --benchmark_counters_tabular=true
// Compare bytes_per_second of BM_ProtectedFile{Write,Read} with BM_Seal{Encrypt,Decrypt} at the
// same size. The file runs over an in-memory node store (the format's cost: per-node keys,
// Merkle tree, metadata) and over a real file with its fsynced journal (FileStore variants).
#include <benchmark/benchmark.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <string>

#include "confide/crypto.h"
#include "confide/protected_file.h"

namespace {

using namespace confide;
using trusted::FileMode;
using trusted::ProtectedFile;

constexpr size_t kChunk = 64 << 10;  // the application's write and read size

void Check(const Status& s, const char* what) {
  if (!s.ok()) {
    std::fprintf(stderr, "benchmark failed: %s: %s\n", what, s.ToString().c_str());
    std::abort();
  }
}

const Bytes& Key() {
  static const Bytes key(32, 0x42);
  return key;
}

std::string TempPath() {
  return "/tmp/confide-pf-bench-" + std::to_string(::getpid()) + ".pf";
}

std::unique_ptr<protected_file::NodeStore> Store(bool on_disk, std::shared_ptr<std::vector<Bytes>> nodes,
                                                 FileMode mode) {
  if (!on_disk) return std::make_unique<protected_file::MemoryNodeStore>(nodes);
  auto s = protected_file::OpenFileNodeStore(
      TempPath(), mode == FileMode::kCreate ? protected_file::StoreMode::kCreate : protected_file::StoreMode::kRead);
  Check(s.status(), "OpenFileNodeStore");
  return std::move(*s);
}

void WriteWhole(bool on_disk, std::shared_ptr<std::vector<Bytes>> nodes, const Bytes& data) {
  auto f = ProtectedFile::OpenStore(Store(on_disk, nodes, FileMode::kCreate), "bench", FileMode::kCreate, Key());
  Check(f.status(), "create");
  for (size_t off = 0; off < data.size(); off += kChunk)
    Check((*f)->Write(ByteSpan(data).subspan(off, std::min(kChunk, data.size() - off))), "write");
  Check((*f)->Close(), "close");
}

void Write(benchmark::State& state, bool on_disk) {
  Bytes data(size_t(state.range(0)), 0x5a);
  for (auto _ : state) WriteWhole(on_disk, std::make_shared<std::vector<Bytes>>(), data);
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
  if (on_disk) ::unlink(TempPath().c_str());
}

void Read(benchmark::State& state, bool on_disk) {
  Bytes data(size_t(state.range(0)), 0x5a), out(kChunk);
  auto nodes = std::make_shared<std::vector<Bytes>>();
  WriteWhole(on_disk, nodes, data);
  for (auto _ : state) {
    auto f = ProtectedFile::OpenStore(Store(on_disk, nodes, FileMode::kRead), "bench", FileMode::kRead, Key());
    Check(f.status(), "open");
    size_t total = 0;
    for (;;) {
      auto n = (*f)->Read(out);
      Check(n.status(), "read");
      if (*n == 0) break;
      total += *n;
    }
    if (total != data.size()) Check(Internal("short read"), "read");
    Check((*f)->Close(), "close");
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
  if (on_disk) ::unlink(TempPath().c_str());
}

void BM_ProtectedFileWrite(benchmark::State& state) { Write(state, false); }
void BM_ProtectedFileRead(benchmark::State& state) { Read(state, false); }
void BM_ProtectedFileWriteFileStore(benchmark::State& state) { Write(state, true); }
void BM_ProtectedFileReadFileStore(benchmark::State& state) { Read(state, true); }

// The baseline: the same bytes sealed as one AES-256-GCM message with the one-shot helpers.
void BM_SealEncrypt(benchmark::State& state) {
  Bytes data(size_t(state.range(0)), 0x5a), iv(12, 0x24);
  for (auto _ : state) {
    auto sealed = crypto::AesGcmSeal(Key(), iv, {}, data);
    Check(sealed.status(), "seal");
    benchmark::DoNotOptimize(sealed->data());
    ++iv[0];
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}

void BM_SealDecrypt(benchmark::State& state) {
  Bytes data(size_t(state.range(0)), 0x5a), iv(12, 0x24);
  auto sealed = crypto::AesGcmSeal(Key(), iv, {}, data);
  Check(sealed.status(), "seal");
  for (auto _ : state) {
    auto opened = crypto::AesGcmOpen(Key(), iv, {}, *sealed);
    Check(opened.status(), "open");
    benchmark::DoNotOptimize(opened->data());
  }
  state.SetBytesProcessed(int64_t(state.iterations()) * state.range(0));
}

BENCHMARK(BM_SealEncrypt)->Arg(1 << 20)->Arg(16 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProtectedFileWrite)->Arg(1 << 20)->Arg(16 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProtectedFileWriteFileStore)->Arg(1 << 20)->Arg(16 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_SealDecrypt)->Arg(1 << 20)->Arg(16 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProtectedFileRead)->Arg(1 << 20)->Arg(16 << 20)->Unit(benchmark::kMillisecond);
BENCHMARK(BM_ProtectedFileReadFileStore)->Arg(1 << 20)->Arg(16 << 20)->Unit(benchmark::kMillisecond);

}  // namespace

BENCHMARK_MAIN();
