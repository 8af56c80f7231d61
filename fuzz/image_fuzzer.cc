// Fuzzes everything that reads an enclave image or its configuration: the OE-style config
// parser, the ELF validator, the measurement, and the signed-image trailer parser/verifier.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "confide/image.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace confide;
  ByteSpan in(data, size);

  auto config = image::ParseConfig(std::string_view(reinterpret_cast<const char*>(data), size));
  if (config.ok() && !image::ValidateConfig(*config).ok()) __builtin_trap();  // parser accepted an invalid config

  auto elf = image::ParseElf(in);
  // Measurement hashes every page; keep each input fast so the fuzzer explores instead of hashing.
  if (elf.ok() && elf->image_pages <= 256) {
    image::EnclaveConfig c;
    c.num_heap_pages = 1;
    c.num_stack_pages = 1;
    c.num_tcs = 1;
    auto mr = image::ComputeMrEnclave(in, c);
    if (!mr.ok()) __builtin_trap();  // a parseable ELF must be measurable
  }

  (void)image::ElfPart(in);
  auto img = image::ParseSignedImage(in);
  if (img.ok()) {
    if (img->elf.size() + image::kTrailerSize != size) __builtin_trap();
    if (img->verification.ok() && !img->signature_valid) __builtin_trap();
  }
  return 0;
}
