// Enclave-side key derivation, sealing and local attestation (confide::trusted). Every
// function here asks the platform that runs the enclave (trusted::PlatformCall), so it works
// only inside an enclave, on sim (debug keys, no protection) and soft.
// docs/sealing.md and docs/attestation.md describe the key hierarchy and the formats.
#pragma once

#include <cstdint>
#include <optional>
#include <span>

#include "confide/bytes.h"
#include "confide/platform_services.h"
#include "confide/status.h"

namespace confide::trusted {

using platform_services::Key;
using platform_services::KeyId;
using platform_services::KeyPolicy;
using platform_services::ReportData;

// ---------------------------------------------------------------- keys
// A sealing key for `policy`, diversified by `key_id`, at security version `svn` (nullopt:
// this enclave's own SecurityVersion). kPermissionDenied when `svn` is above the enclave's own.
Result<Key> GetSealKey(KeyPolicy policy, const KeyId& key_id, std::optional<uint16_t> svn = std::nullopt);

// This enclave's identity as its platform measured it.
Result<platform_services::ReportBody> SelfIdentity();

// ---------------------------------------------------------------- sealing
// Encrypts `plaintext` with AES-256-GCM under this enclave instance's cached sealing key for
// (policy, own svn) (a random key id, rotated after 2^30 seals) and a fresh random IV,
// authenticating `aad` and the blob header too (docs/sealing.md, "Key caches"). Default
// policy PRODUCT, as OE and the SGX SDK.
Result<Bytes> Seal(ByteSpan plaintext, ByteSpan aad = {}, KeyPolicy policy = KeyPolicy::kProduct);

struct Unsealed {
  SecureBytes plaintext;
  Bytes aad;
  KeyPolicy policy = KeyPolicy::kProduct;
  uint16_t svn = 0;  // the sealer's SecurityVersion
};
// Refuses, each with its own error: a truncated, oversized or malformed blob
// (kInvalidArgument), an unknown blob version (kUnsupported), a blob from a newer
// SecurityVersion (kPermissionDenied), and any blob whose key or contents do not check out
// (kVerificationFailed: other signer, other MRENCLAVE under UNIQUE, another platform, a flipped bit).
Result<Unsealed> Unseal(ByteSpan blob);

// The same, with the caller's memory (as SGX's sgx_seal_data / sgx_unseal_data): no
// allocation and no extra pass over large data. SealTo needs `out` of exactly
// SealedSize(plaintext.size(), aad.size()) bytes.
size_t SealedSize(size_t plaintext_size, size_t aad_size);
Status SealTo(ByteSpan plaintext, ByteSpan aad, KeyPolicy policy, std::span<uint8_t> out);
// The plaintext length a blob declares (its header checked as Unseal does, not its MAC).
Result<size_t> SealedPlaintextSize(ByteSpan blob);
struct UnsealedView {
  ByteSpan aad;  // points into the blob
  KeyPolicy policy = KeyPolicy::kProduct;
  uint16_t svn = 0;
};
// Refuses as Unseal does; `plaintext_out` must be exactly SealedPlaintextSize(blob) bytes and
// is zeroed when the blob does not verify.
Result<UnsealedView> UnsealTo(ByteSpan blob, std::span<uint8_t> plaintext_out);

// ---------------------------------------------------------------- local attestation
// The target info another enclave needs to make a report for this one.
Result<platform_services::TargetInfo> SelfTargetInfo();
// A report on this enclave carrying `report_data`, MAC'd for `target` (EREPORT).
Result<platform_services::Report> GetReport(const platform_services::TargetInfo& target,
                                            const ReportData& report_data);
// Checks that `report` was made on this platform for this enclave (its MAC verifies with this
// enclave's report key); returns the reporting enclave's body. kVerificationFailed otherwise.
Result<platform_services::ReportBody> VerifyReport(ByteSpan report);

}  // namespace confide::trusted
