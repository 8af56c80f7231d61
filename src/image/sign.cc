// Signature trailer: build, parse, verify. Layout in docs/enclave-image.md.
#include <algorithm>
#include <cstring>

#include "confide/image.h"

namespace confide::image {
namespace {

constexpr char kBodyMagic[8] = {'C', 'F', 'D', 'S', 'I', 'G', 'S', 'T'};
constexpr char kFooterMagic[8] = {'C', 'F', 'D', 'T', 'R', 'L', 'R', '1'};
constexpr uint32_t kVersion = 1;
constexpr size_t kModulusSize = 384;
constexpr uint32_t kExponent = 3;

// Offsets inside the signed body.
constexpr size_t kOffElfSize = 16;
constexpr size_t kOffElfHash = 24;

Bytes Reversed(ByteSpan b) { return Bytes(b.rbegin(), b.rend()); }

// Big-endian modulus from OpenSSL -> exactly 384 little-endian bytes.
Result<Bytes> ModulusLe(const crypto::PKey& key) {
  CONFIDE_ASSIGN_OR_RETURN(Bytes be, crypto::RsaModulus(key));
  while (!be.empty() && be.front() == 0) be.erase(be.begin());
  if (be.size() != kModulusSize)
    return InvalidArgument("RSA modulus is " + std::to_string(be.size() * 8) + " bits, expected 3072");
  return Reversed(be);
}

void AppendDerLength(Bytes& out, size_t n) {
  if (n < 0x80) {
    out.push_back(static_cast<uint8_t>(n));
  } else if (n < 0x100) {
    out.push_back(0x81);
    out.push_back(static_cast<uint8_t>(n));
  } else {
    out.push_back(0x82);
    out.push_back(static_cast<uint8_t>(n >> 8));
    out.push_back(static_cast<uint8_t>(n));
  }
}

void AppendDer(Bytes& out, uint8_t tag, ByteSpan content) {
  out.push_back(tag);
  AppendDerLength(out, content.size());
  Append(out, content);
}

// crypto.h has no "RSA public key from (n, e)", so the SubjectPublicKeyInfo is encoded here
// and handed to ParsePublicKey. Callers guarantee the top bit of `n_be` is set.
Result<crypto::PKey> RsaPublicKey(ByteSpan n_be, uint32_t e) {
  Bytes n_int{0x00};  // leading zero keeps the INTEGER positive
  Append(n_int, n_be);
  Bytes e_int;
  for (int shift = 24; shift >= 0; shift -= 8)
    if (!e_int.empty() || (e >> shift) & 0xff) e_int.push_back(static_cast<uint8_t>(e >> shift));
  if (e_int.empty() || e_int.front() & 0x80) e_int.insert(e_int.begin(), 0x00);
  Bytes ints;
  AppendDer(ints, 0x02, n_int);
  AppendDer(ints, 0x02, e_int);
  Bytes rsa_key;
  AppendDer(rsa_key, 0x30, ints);
  Bytes bitstring{0x00};  // no unused bits
  Append(bitstring, rsa_key);
  static constexpr uint8_t kAlgId[] = {0x30, 0x0d, 0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7,
                                       0x0d, 0x01, 0x01, 0x01, 0x05, 0x00};  // rsaEncryption, NULL
  Bytes spki_content(std::begin(kAlgId), std::end(kAlgId));
  AppendDer(spki_content, 0x03, bitstring);
  Bytes spki;
  AppendDer(spki, 0x30, spki_content);
  return crypto::ParsePublicKey(spki);
}

struct Trailer {
  ByteSpan body;
  ByteSpan signature_le;
  uint64_t elf_size = 0;
};

// Reads the footer and the body's framing; enough to find the ELF part. Field values are
// checked by ParseSignedImage.
Result<Trailer> ReadTrailer(ByteSpan file) {
  if (!HasSignature(file)) return InvalidArgument("no confide signature trailer");
  ByteReader f(file.subspan(file.size() - kFooterSize), "signature footer");
  CONFIDE_ASSIGN_OR_RETURN(uint64_t trailer_size, f.U64Le("trailer_size"));
  if (trailer_size != kTrailerSize)
    return Unsupported("signature trailer declares " + std::to_string(trailer_size) +
                       " bytes; this confide reads version-1 trailers of " + std::to_string(kTrailerSize) +
                       " bytes (was the image signed by a newer confide?)");
  if (file.size() < kTrailerSize)
    return InvalidArgument("truncated signed image: " + std::to_string(file.size()) +
                           " bytes, the signature trailer alone is " + std::to_string(kTrailerSize));
  Trailer t;
  size_t body_at = file.size() - kTrailerSize;
  t.body = file.subspan(body_at, kSignedBodySize);
  t.signature_le = file.subspan(body_at + kSignedBodySize, kSignatureSize);
  ByteReader r(t.body, "signed structure");
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan magic, r.Take(8, "magic"));
  if (!std::equal(magic.begin(), magic.end(), kBodyMagic))
    return InvalidArgument("damaged signature trailer: the signed structure does not start with 'CFDSIGST'");
  CONFIDE_ASSIGN_OR_RETURN(uint32_t version, r.U32Le("version"));
  if (version != kVersion)
    return Unsupported("signed structure version " + std::to_string(version) + " is not supported (expected 1)");
  CONFIDE_ASSIGN_OR_RETURN(uint32_t body_size, r.U32Le("body_size"));
  if (body_size != kSignedBodySize)
    return InvalidArgument("damaged signature trailer: body_size is " + std::to_string(body_size) +
                           ", expected " + std::to_string(kSignedBodySize));
  CONFIDE_ASSIGN_OR_RETURN(t.elf_size, r.U64Le("elf_size"));
  return t;
}

Status CheckAttributes(uint64_t attributes) {
  if ((attributes & kAttrMode64Bit) == 0)
    return InvalidArgument("signed attributes lack MODE64BIT (0x4)");
  if (attributes & ~(kAttrMode64Bit | kAttrDebug))
    return InvalidArgument("signed attributes " + std::to_string(attributes) +
                           " have bits other than DEBUG (0x2) and MODE64BIT (0x4)");
  return Status::Ok();
}

std::string DigestHex(ByteSpan d) { return HexEncode(d); }

}  // namespace

bool HasSignature(ByteSpan file) {
  return file.size() >= kFooterSize &&
         std::equal(file.end() - 8, file.end(), reinterpret_cast<const uint8_t*>(kFooterMagic));
}

Result<ByteSpan> ElfPart(ByteSpan file) {
  if (!HasSignature(file)) return file;
  auto t = ReadTrailer(file);
  if (!t.ok()) return t.status().WithContext("input ends with a confide signature footer, but");
  if (t->elf_size != file.size() - kTrailerSize)
    return InvalidArgument("damaged signed image: the trailer says the ELF part is " +
                           std::to_string(t->elf_size) + " bytes, the file holds " +
                           std::to_string(file.size() - kTrailerSize));
  return file.first(file.size() - kTrailerSize);
}

Status CheckSigningKey(const crypto::PKey& key) {
  static const std::string kWant =
      "the signing key must be RSA-3072 with public exponent 3 (as SGX); create one with `confide keygen`";
  if (!key) return InvalidArgument("no signing key given; " + kWant);
  if (!key.IsRsa()) {
    std::string got = "a non-RSA key";
    if (key.IsEc()) {
      auto curve = key.EcCurve();
      got = !curve ? "an EC key" : *curve == crypto::Curve::kP256 ? "an EC P-256 key" : "an EC P-384 key";
    }
    return InvalidArgument("got " + got + "; " + kWant);
  }
  if (key.Bits() != 3072) return InvalidArgument("got an RSA-" + std::to_string(key.Bits()) + " key; " + kWant);
  CONFIDE_ASSIGN_OR_RETURN(Bytes e, crypto::RsaPublicExponent(key));
  while (!e.empty() && e.front() == 0) e.erase(e.begin());
  if (e != Bytes{3}) {
    std::string ev;
    if (e.size() <= 8) {
      uint64_t v = 0;
      for (uint8_t b : e) v = v << 8 | b;
      ev = std::to_string(v);
    } else {
      ev = "0x" + HexEncode(e);
    }
    return InvalidArgument("got an RSA-3072 key with public exponent " + ev + "; " + kWant);
  }
  return Status::Ok();
}

Result<Digest> MrSignerOf(const crypto::PKey& key) {
  if (!key || !key.IsRsa()) return InvalidArgument("MRSIGNER needs an RSA-3072 key");
  CONFIDE_ASSIGN_OR_RETURN(Bytes mod_le, ModulusLe(key));
  return ComputeMrSigner(mod_le);
}

Result<Bytes> Sign(ByteSpan input, const EnclaveConfig& config, const crypto::PKey& private_key) {
  CONFIDE_RETURN_IF_ERROR(CheckSigningKey(private_key));
  CONFIDE_RETURN_IF_ERROR(ValidateConfig(config));
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan elf, ElfPart(input));
  CONFIDE_ASSIGN_OR_RETURN(Digest mrenclave, ComputeMrEnclave(elf, config));
  CONFIDE_ASSIGN_OR_RETURN(Bytes modulus_le, ModulusLe(private_key));

  Bytes body;
  body.reserve(kSignedBodySize);
  Append(body, AsBytes(std::string_view(kBodyMagic, 8)));
  AppendU32Le(body, kVersion);
  AppendU32Le(body, kSignedBodySize);
  AppendU64Le(body, elf.size());
  Append(body, crypto::Sha256(elf));
  Append(body, mrenclave);
  AppendU64Le(body, kAttrMode64Bit | (config.debug ? kAttrDebug : 0));
  AppendU16Le(body, config.product_id);
  AppendU16Le(body, config.security_version);
  AppendU32Le(body, 0);
  AppendU64Le(body, config.num_heap_pages);
  AppendU64Le(body, config.num_stack_pages);
  AppendU64Le(body, config.num_tcs);
  AppendU32Le(body, kExponent);
  AppendU32Le(body, 0);
  Append(body, modulus_le);
  if (body.size() != kSignedBodySize) return Internal("signed structure has " + std::to_string(body.size()) + " bytes");

  auto sig = crypto::RsaSignPkcs1(private_key, crypto::HashAlg::kSha256, body);
  if (!sig.ok()) return sig.status().WithContext("signing the enclave image (is the key a private key?)");
  if (sig->size() != kSignatureSize)
    return Internal("RSA-3072 signature has " + std::to_string(sig->size()) + " bytes");

  Bytes out;
  out.reserve(elf.size() + kTrailerSize);
  Append(out, elf);
  Append(out, body);
  Append(out, Reversed(*sig));
  AppendU64Le(out, kTrailerSize);
  Append(out, AsBytes(std::string_view(kFooterMagic, 8)));
  return out;
}

namespace {

// `check_measurement`: also recompute MRENCLAVE (step 4).
Result<SignedImage> Parse(ByteSpan file, bool check_measurement) {
  if (!HasSignature(file)) {
    // Say what the file is rather than only what it lacks.
    auto elf = ParseElf(file);
    if (!elf.ok()) return elf.status();
    return InvalidArgument("the image is not signed: it is an ELF shared object without a confide signature "
                           "trailer (sign it with `confide sign`)");
  }
  CONFIDE_ASSIGN_OR_RETURN(Trailer t, ReadTrailer(file));

  SignedImage img;
  ByteReader r(t.body.subspan(kOffElfSize), "signed structure");
  CONFIDE_RETURN_IF_ERROR(r.Skip(8 + 32, "elf_size, elf_sha256"));
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan mre, r.Take(32, "mrenclave"));
  std::copy(mre.begin(), mre.end(), img.mrenclave.begin());
  CONFIDE_ASSIGN_OR_RETURN(img.attributes, r.U64Le("attributes"));
  CONFIDE_ASSIGN_OR_RETURN(img.config.product_id, r.U16Le("product_id"));
  CONFIDE_ASSIGN_OR_RETURN(img.config.security_version, r.U16Le("security_version"));
  CONFIDE_ASSIGN_OR_RETURN(uint32_t reserved1, r.U32Le("reserved1"));
  CONFIDE_ASSIGN_OR_RETURN(img.config.num_heap_pages, r.U64Le("num_heap_pages"));
  CONFIDE_ASSIGN_OR_RETURN(img.config.num_stack_pages, r.U64Le("num_stack_pages"));
  CONFIDE_ASSIGN_OR_RETURN(img.config.num_tcs, r.U64Le("num_tcs"));
  CONFIDE_ASSIGN_OR_RETURN(uint32_t exponent, r.U32Le("exponent"));
  CONFIDE_ASSIGN_OR_RETURN(uint32_t reserved2, r.U32Le("reserved2"));
  CONFIDE_ASSIGN_OR_RETURN(ByteSpan mod, r.Take(kModulusSize, "modulus"));
  img.config.debug = (img.attributes & kAttrDebug) != 0;
  img.modulus_le.assign(mod.begin(), mod.end());
  img.signature_le.assign(t.signature_le.begin(), t.signature_le.end());
  img.mrsigner = ComputeMrSigner(img.modulus_le);
  uint64_t elf_len = file.size() - kTrailerSize;
  img.elf = file.first(elf_len);

  // 1. The signature, over the 520-byte structure, with the key the structure carries.
  Bytes mod_be = Reversed(img.modulus_le);
  if (exponent != kExponent) {
    img.verification = VerificationFailed("the signed structure's exponent is " + std::to_string(exponent) +
                                          ", not 3; the signature was not made by an SGX-style key");
  } else if ((mod_be.front() & 0x80) == 0) {
    img.verification = VerificationFailed("the signer modulus in the trailer is not a 3072-bit number "
                                          "(damaged or altered signature trailer)");
  } else {
    auto pub = RsaPublicKey(mod_be, exponent);
    if (!pub.ok()) {
      img.verification = VerificationFailed("the signer modulus in the trailer is not a usable RSA key: " +
                                            pub.status().message());
    } else {
      Status s = crypto::RsaVerifyPkcs1(*pub, crypto::HashAlg::kSha256, t.body, Reversed(img.signature_le));
      img.signature_valid = s.ok();
      if (!s.ok())
        img.verification = VerificationFailed(
            "the signature does not verify over the signed structure: the signature, the signed configuration "
            "or identity, or the signer key in the trailer was altered after signing");
    }
  }
  if (!img.verification.ok()) return img;

  // 2. The file around it: same length, same bytes as when signed.
  if (t.elf_size != elf_len) {
    img.verification = VerificationFailed("the ELF part is " + std::to_string(elf_len) +
                                          " bytes but was " + std::to_string(t.elf_size) +
                                          " bytes when signed: the image was altered after signing");
    return img;
  }
  Bytes elf_hash = crypto::Sha256(img.elf);
  if (!ConstantTimeEqual(elf_hash, t.body.subspan(kOffElfHash, 32))) {
    img.verification = VerificationFailed(
        "the ELF content was altered after signing (its SHA-256 is " + DigestHex(elf_hash) +
        ", the signature covers " + DigestHex(t.body.subspan(kOffElfHash, 32)) + ")");
    return img;
  }

  // 3. What was signed must be well-formed; a correct signer never produces anything else.
  Status fields = CheckAttributes(img.attributes);
  if (fields.ok() && (reserved1 != 0 || reserved2 != 0))
    fields = InvalidArgument("reserved fields of the signed structure are not zero");
  if (fields.ok()) fields = ValidateConfig(img.config);
  if (!fields.ok()) {
    img.verification = VerificationFailed("the signed structure is invalid: " + fields.message());
    return img;
  }

  // 4. The measurement the signer claimed must be the one of this ELF and layout.
  if (!check_measurement) return img;
  auto mr = ComputeMrEnclave(img.elf, img.config);
  if (!mr.ok()) {
    img.verification = VerificationFailed("the signed ELF is not a valid enclave image: " + mr.status().message());
    return img;
  }
  if (*mr != img.mrenclave) {
    img.verification = VerificationFailed("MRENCLAVE mismatch: the image measures " + DigestHex(*mr) +
                                          " but the signature claims " + DigestHex(img.mrenclave));
    return img;
  }
  return img;
}

}  // namespace

Result<SignedImage> ParseSignedImage(ByteSpan file) { return Parse(file, true); }

Result<SignedImage> LoadAndVerifyExceptMeasurement(ByteSpan file) {
  CONFIDE_ASSIGN_OR_RETURN(SignedImage img, Parse(file, false));
  if (!img.verification.ok()) return img.verification;
  return img;
}

Status VerifySignedImage(ByteSpan file) {
  CONFIDE_ASSIGN_OR_RETURN(SignedImage img, ParseSignedImage(file));
  return img.verification;
}

Result<SignedImage> LoadAndVerify(ByteSpan file) {
  CONFIDE_ASSIGN_OR_RETURN(SignedImage img, ParseSignedImage(file));
  if (!img.verification.ok()) return img.verification;
  return img;
}

}  // namespace confide::image
