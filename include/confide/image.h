// Enclave images: configuration, measurement (MRENCLAVE / MRSIGNER) and signing.
//
// A signed enclave image is one file: an x86-64 ELF shared object, unchanged, followed by a
// fixed-size signature trailer (signed structure + RSA-3072 signature + footer). glibc ignores
// the trailer, so the file stays loadable with dlopen. docs/enclave-image.md gives the format
// byte by byte and the exact measurement, so anyone can recompute both.
//
// Typical use by a loader, before any enclave code runs:
//
//   CONFIDE_ASSIGN_OR_RETURN(image::SignedImage img, image::LoadAndVerify(file_bytes));
//   // img.elf: the ELF bytes to load; img.config: heap/stack/TCS; img.mrenclave, img.mrsigner.
#pragma once

#include <array>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "confide/bytes.h"
#include "confide/crypto.h"
#include "confide/status.h"

namespace confide::image {

inline constexpr size_t kPageSize = 4096;
using Digest = std::array<uint8_t, 32>;

// ---------------------------------------------------------------- configuration
// The OE SDK configuration keys, with the same names and meaning (oesign's .conf file).
// Ranges (inclusive):
inline constexpr uint64_t kMaxHeapPages = 4u << 20;   // 16 GiB of heap
inline constexpr uint64_t kMaxStackPages = 1u << 16;  // 256 MiB per thread
inline constexpr uint64_t kMaxTcs = 1024;             // OE_SGX_MAX_TCS
inline constexpr uint16_t kMaxProductId = 0xfffe;     // OE: < UINT16_MAX
inline constexpr uint16_t kMaxSecurityVersion = 0xfffe;

struct EnclaveConfig {
  bool debug = false;              // Debug=0|1: the enclave may be debugged; never for production
  uint16_t product_id = 0;         // ProductID (ISVPRODID)
  uint16_t security_version = 0;   // SecurityVersion (ISVSVN)
  uint64_t num_heap_pages = 0;     // NumHeapPages, 4 KiB pages, 1..kMaxHeapPages
  uint64_t num_stack_pages = 0;    // NumStackPages per thread, 1..kMaxStackPages
  uint64_t num_tcs = 0;            // NumTCS: thread slots, 1..kMaxTcs

  friend bool operator==(const EnclaveConfig&, const EnclaveConfig&) = default;
};

// Parses `Key=Value` lines (`#` comments, blank lines and spaces around `=` allowed). Every one
// of the six keys must appear exactly once. Errors name the key and the line: kInvalidArgument
// for syntax, missing, duplicate, unknown or non-numeric keys, kOutOfRange for values outside
// the ranges above, kUnsupported for OE keys confide does not implement (FamilyID, ...).
// `source` names the text in messages (a path, or "config").
Result<EnclaveConfig> ParseConfig(std::string_view text, std::string_view source = "config");
Result<EnclaveConfig> LoadConfigFile(const std::string& path);
// Checks the ranges; errors name the key.
Status ValidateConfig(const EnclaveConfig& config);
// The config as parseable `Key=Value` text.
std::string FormatConfig(const EnclaveConfig& config);

// ---------------------------------------------------------------- ELF
struct LoadSegment {
  uint64_t offset = 0;  // p_offset
  uint64_t vaddr = 0;   // p_vaddr
  uint64_t filesz = 0;  // p_filesz
  uint64_t memsz = 0;   // p_memsz
  uint32_t flags = 0;   // p_flags: PF_X=1, PF_W=2, PF_R=4
};

struct ElfInfo {
  std::vector<LoadSegment> segments;  // PT_LOAD entries, in program-header order
  std::vector<ByteSpan> phdrs;        // every program header, 56 raw bytes each, in table order
  uint64_t image_pages = 0;           // pages spanned from the first to the last PT_LOAD
};

// Largest virtual span of the PT_LOAD segments accepted (bounds measurement time).
inline constexpr uint64_t kMaxImageBytes = 1ull << 30;

// Validates an x86-64 ELF64 little-endian ET_DYN object and returns its load layout.
// Refuses (kInvalidArgument, naming the problem) truncated or non-ELF data, other classes,
// byte orders, machines or types, and malformed or overlapping PT_LOAD segments.
Result<ElfInfo> ParseElf(ByteSpan elf);

// ---------------------------------------------------------------- identity
// MRENCLAVE of an (unsigned) ELF with the given layout; see docs/enclave-image.md. Depends on
// the code/data and on NumHeapPages/NumStackPages/NumTCS, not on ProductID/SecurityVersion/Debug.
Result<Digest> ComputeMrEnclave(ByteSpan elf, const EnclaveConfig& config);
// MRSIGNER = SHA-256 of the 384-byte little-endian RSA-3072 modulus (as SGX).
Digest ComputeMrSigner(ByteSpan modulus_le);
// MRSIGNER of a signing key (public or private).
Result<Digest> MrSignerOf(const crypto::PKey& key);

// ---------------------------------------------------------------- signing
// Refuses anything but RSA-3072 with public exponent 3 (kInvalidArgument, naming what it got).
Status CheckSigningKey(const crypto::PKey& key);

// Signs `input` (an ELF shared object, or an already signed image whose old signature is
// dropped first) with `config` and an RSA-3072/e=3 private key; returns the signed image.
Result<Bytes> Sign(ByteSpan input, const EnclaveConfig& config, const crypto::PKey& private_key);

// True when `file` ends with a confide signature trailer footer (it may still be damaged).
bool HasSignature(ByteSpan file);
// The ELF part of a signed image (or `file` itself when it carries no trailer).
Result<ByteSpan> ElfPart(ByteSpan file);

// ---------------------------------------------------------------- verification
inline constexpr uint64_t kAttrDebug = 0x2;      // SGX ATTRIBUTES.DEBUG
inline constexpr uint64_t kAttrMode64Bit = 0x4;  // SGX ATTRIBUTES.MODE64BIT

struct SignedImage {
  ByteSpan elf;             // the ELF shared object: a view into the caller's buffer
  EnclaveConfig config;     // as signed
  Digest mrenclave{};       // as signed (equal to the recomputed one when verified)
  Digest mrsigner{};        // SHA-256 of the signer's little-endian modulus
  uint64_t attributes = 0;  // kAttrMode64Bit | (debug ? kAttrDebug : 0)
  Bytes modulus_le;         // 384 bytes
  Bytes signature_le;       // 384 bytes, little-endian as SGX stores it
  bool signature_valid = false;  // the RSA signature verifies over the signed structure
  Status verification;           // OK only when every check passed (see VerifySignedImage)
};

// Parses the trailer and runs every check, reporting the outcome in `verification` and
// `signature_valid` rather than failing, so a tool can show what an invalid image claims.
// Fails only when there is nothing to show: no trailer (an unsigned image), or a trailer whose
// fields cannot be read.
Result<SignedImage> ParseSignedImage(ByteSpan file);

// OK when the image was signed by the key it carries and nothing changed since: fails with
// kVerificationFailed naming the problem (signature, ELF content, length, MRENCLAVE), or with
// kInvalidArgument / kUnsupported for unsigned, damaged or unknown-version images.
Status VerifySignedImage(ByteSpan file);

// ParseSignedImage + VerifySignedImage in one: the image only when it verifies.
Result<SignedImage> LoadAndVerify(ByteSpan file);

// LoadAndVerify without recomputing MRENCLAVE: the signature, the signed fields and the
// ELF's length and SHA-256 are checked (any changed byte is refused), but not that the
// signer's MRENCLAVE is the measurement of that ELF. For a loader whose image a trusted party
// verified in full and that cannot have changed since (the soft runtime, given the sealed
// memfd the platform daemon verified), or will verify in full before it runs (the soft host,
// which hands the image to that daemon).
Result<SignedImage> LoadAndVerifyExceptMeasurement(ByteSpan file);

// Sizes of the trailer (docs/enclave-image.md).
inline constexpr size_t kSignedBodySize = 520;
inline constexpr size_t kSignatureSize = 384;
inline constexpr size_t kFooterSize = 16;
inline constexpr size_t kTrailerSize = kSignedBodySize + kSignatureSize + kFooterSize;

}  // namespace confide::image
