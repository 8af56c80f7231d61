// Collateral JSON: the QuoteCollateralV3 envelope, TCB Info (v2/v3) and Enclave Identity (v2).
// nlohmann::json is used without exceptions: parse with allow_exceptions = false and check
// every value's type before reading it.
#include <cstdio>
#include <nlohmann/json.hpp>
#include <string>

#include "confide/attestation/dcap.h"

namespace confide::attestation::dcap {
namespace {

using Json = nlohmann::json;

std::string Where(std::string_view doc, std::string_view key) {
  return std::string(doc) + " field '" + std::string(key) + "'";
}

Result<const Json*> Field(const Json& obj, std::string_view doc, std::string_view key) {
  if (!obj.is_object()) return InvalidArgument(std::string(doc) + " is not a JSON object");
  auto it = obj.find(key);
  if (it == obj.end()) return InvalidArgument(Where(doc, key) + " is missing");
  return &*it;
}

Result<std::string> GetString(const Json& obj, std::string_view doc, std::string_view key) {
  CONFIDE_ASSIGN_OR_RETURN(const Json* v, Field(obj, doc, key));
  if (!v->is_string()) return InvalidArgument(Where(doc, key) + " must be a string");
  return v->get_ref<const std::string&>();
}

Result<uint64_t> GetUnsigned(const Json& obj, std::string_view doc, std::string_view key, uint64_t max) {
  CONFIDE_ASSIGN_OR_RETURN(const Json* v, Field(obj, doc, key));
  if (!v->is_number_unsigned()) return InvalidArgument(Where(doc, key) + " must be a non-negative integer");
  uint64_t value = v->get<uint64_t>();
  if (value > max) return OutOfRange(Where(doc, key) + " is " + std::to_string(value) + ", above " + std::to_string(max));
  return value;
}

Result<Bytes> GetHex(const Json& obj, std::string_view doc, std::string_view key, size_t size) {
  CONFIDE_ASSIGN_OR_RETURN(std::string text, GetString(obj, doc, key));
  auto bytes = HexDecode(text);
  if (!bytes.ok()) return InvalidArgument(Where(doc, key) + ": " + bytes.status().message());
  if (size != 0 && bytes->size() != size)
    return InvalidArgument(Where(doc, key) + " must be " + std::to_string(size) + " bytes, got " +
                           std::to_string(bytes->size()));
  return std::move(bytes).value();
}

Result<UnixTime> GetTime(const Json& obj, std::string_view doc, std::string_view key) {
  CONFIDE_ASSIGN_OR_RETURN(std::string text, GetString(obj, doc, key));
  auto t = ParseRfc3339(text);
  if (!t.ok()) return InvalidArgument(Where(doc, key) + ": " + t.status().message());
  return *t;
}

Result<std::vector<std::string>> GetAdvisories(const Json& level, std::string_view doc) {
  std::vector<std::string> out;
  auto it = level.find("advisoryIDs");
  if (it == level.end()) return out;
  if (!it->is_array()) return InvalidArgument(Where(doc, "advisoryIDs") + " must be an array");
  for (const auto& id : *it) {
    if (!id.is_string()) return InvalidArgument(Where(doc, "advisoryIDs") + " must hold strings");
    out.push_back(id.get<std::string>());
  }
  return out;
}

Result<TcbStatus> GetStatus(const Json& level, std::string_view doc) {
  CONFIDE_ASSIGN_OR_RETURN(std::string text, GetString(level, doc, "tcbStatus"));
  auto status = ParseTcbStatus(text);
  if (!status.ok()) return InvalidArgument(Where(doc, "tcbStatus") + ": " + status.status().message());
  return *status;
}

Result<std::array<uint32_t, 16>> GetComponents(const Json& tcb, std::string_view doc, std::string_view key) {
  CONFIDE_ASSIGN_OR_RETURN(const Json* v, Field(tcb, doc, key));
  if (!v->is_array() || v->size() != 16) return InvalidArgument(Where(doc, key) + " must be an array of 16 components");
  std::array<uint32_t, 16> out{};
  for (size_t i = 0; i < 16; ++i) {
    CONFIDE_ASSIGN_OR_RETURN(uint64_t svn, GetUnsigned((*v)[i], std::string(doc) + " " + std::string(key), "svn", 255));
    out[i] = static_cast<uint32_t>(svn);
  }
  return out;
}

Result<std::vector<IsvLevel>> GetIsvLevels(const Json& obj, std::string_view doc) {
  CONFIDE_ASSIGN_OR_RETURN(const Json* v, Field(obj, doc, "tcbLevels"));
  if (!v->is_array() || v->empty()) return InvalidArgument(Where(doc, "tcbLevels") + " must be a non-empty array");
  std::vector<IsvLevel> out;
  std::string level_doc = std::string(doc) + " tcbLevel";
  for (const auto& level : *v) {
    IsvLevel l;
    CONFIDE_ASSIGN_OR_RETURN(const Json* tcb, Field(level, level_doc, "tcb"));
    CONFIDE_ASSIGN_OR_RETURN(uint64_t isvsvn, GetUnsigned(*tcb, level_doc, "isvsvn", 0xffff));
    l.isv_svn = static_cast<uint32_t>(isvsvn);
    CONFIDE_ASSIGN_OR_RETURN(l.tcb_date, GetString(level, level_doc, "tcbDate"));
    CONFIDE_ASSIGN_OR_RETURN(l.status, GetStatus(level, level_doc));
    CONFIDE_ASSIGN_OR_RETURN(l.advisory_ids, GetAdvisories(level, level_doc));
    out.push_back(std::move(l));
  }
  return out;
}

Result<TdxModuleIdentity> GetTdxModule(const Json& obj, std::string_view doc, bool with_levels) {
  TdxModuleIdentity m;
  if (with_levels) {
    CONFIDE_ASSIGN_OR_RETURN(m.id, GetString(obj, doc, "id"));
  }
  CONFIDE_ASSIGN_OR_RETURN(m.mr_signer, GetHex(obj, doc, "mrsigner", 48));
  CONFIDE_ASSIGN_OR_RETURN(m.attributes, GetHex(obj, doc, "attributes", 8));
  CONFIDE_ASSIGN_OR_RETURN(m.attributes_mask, GetHex(obj, doc, "attributesMask", 8));
  if (with_levels) {
    CONFIDE_ASSIGN_OR_RETURN(m.levels, GetIsvLevels(obj, doc));
  }
  return m;
}

Result<Json> ParseObject(std::string_view text, std::string_view doc) {
  Json j = Json::parse(text.begin(), text.end(), nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return InvalidArgument(std::string(doc) + " is not valid JSON");
  if (!j.is_object()) return InvalidArgument(std::string(doc) + " is not a JSON object");
  return j;
}

}  // namespace

Result<Collateral> ParseCollateral(ByteSpan json) {
  constexpr std::string_view kDoc = "collateral";
  std::string_view text(reinterpret_cast<const char*>(json.data()), json.size());
  CONFIDE_ASSIGN_OR_RETURN(Json j, ParseObject(text, "collateral (QuoteCollateralV3 JSON)"));
  Collateral c;
  CONFIDE_ASSIGN_OR_RETURN(c.pck_crl_issuer_chain, GetString(j, kDoc, "pck_crl_issuer_chain"));
  CONFIDE_ASSIGN_OR_RETURN(c.root_ca_crl, GetHex(j, kDoc, "root_ca_crl", 0));
  CONFIDE_ASSIGN_OR_RETURN(c.pck_crl, GetHex(j, kDoc, "pck_crl", 0));
  CONFIDE_ASSIGN_OR_RETURN(c.tcb_info_issuer_chain, GetString(j, kDoc, "tcb_info_issuer_chain"));
  CONFIDE_ASSIGN_OR_RETURN(c.tcb_info, GetString(j, kDoc, "tcb_info"));
  CONFIDE_ASSIGN_OR_RETURN(c.tcb_info_signature, GetHex(j, kDoc, "tcb_info_signature", 64));
  CONFIDE_ASSIGN_OR_RETURN(c.qe_identity_issuer_chain, GetString(j, kDoc, "qe_identity_issuer_chain"));
  CONFIDE_ASSIGN_OR_RETURN(c.qe_identity, GetString(j, kDoc, "qe_identity"));
  CONFIDE_ASSIGN_OR_RETURN(c.qe_identity_signature, GetHex(j, kDoc, "qe_identity_signature", 64));
  return c;
}

Result<TcbInfo> ParseTcbInfo(std::string_view json) {
  constexpr std::string_view kDoc = "TCB info";
  CONFIDE_ASSIGN_OR_RETURN(Json j, ParseObject(json, kDoc));
  TcbInfo t;
  CONFIDE_ASSIGN_OR_RETURN(uint64_t version, GetUnsigned(j, kDoc, "version", 1000));
  t.version = static_cast<int>(version);
  if (t.version != 2 && t.version != 3)
    return Unsupported("TCB info version " + std::to_string(t.version) + " is not supported (2 or 3)");
  if (t.version == 3) {
    CONFIDE_ASSIGN_OR_RETURN(t.id, GetString(j, kDoc, "id"));
    if (t.id != "SGX" && t.id != "TDX") return Unsupported("TCB info id '" + t.id + "' is neither SGX nor TDX");
  } else {
    t.id = "SGX";
  }
  CONFIDE_ASSIGN_OR_RETURN(t.issue_date, GetTime(j, kDoc, "issueDate"));
  CONFIDE_ASSIGN_OR_RETURN(t.next_update, GetTime(j, kDoc, "nextUpdate"));
  CONFIDE_ASSIGN_OR_RETURN(t.fmspc, GetHex(j, kDoc, "fmspc", 6));
  CONFIDE_ASSIGN_OR_RETURN(t.pce_id, GetHex(j, kDoc, "pceId", 2));
  CONFIDE_ASSIGN_OR_RETURN(uint64_t tcb_type, GetUnsigned(j, kDoc, "tcbType", 1000));
  t.tcb_type = static_cast<int>(tcb_type);
  if (t.tcb_type != 0) return Unsupported("TCB info tcbType " + std::to_string(t.tcb_type) + " is not supported (0)");
  CONFIDE_ASSIGN_OR_RETURN(uint64_t eval, GetUnsigned(j, kDoc, "tcbEvaluationDataNumber", 0xffffffff));
  t.tcb_evaluation_data_number = static_cast<int>(eval);

  if (t.id == "TDX") {
    CONFIDE_ASSIGN_OR_RETURN(const Json* module, Field(j, kDoc, "tdxModule"));
    CONFIDE_ASSIGN_OR_RETURN(t.tdx_module, GetTdxModule(*module, "TCB info tdxModule", false));
    auto ids = j.find("tdxModuleIdentities");
    if (ids != j.end()) {
      if (!ids->is_array()) return InvalidArgument(Where(kDoc, "tdxModuleIdentities") + " must be an array");
      for (const auto& m : *ids) {
        CONFIDE_ASSIGN_OR_RETURN(TdxModuleIdentity identity, GetTdxModule(m, "TCB info tdxModuleIdentity", true));
        t.tdx_module_identities.push_back(std::move(identity));
      }
    }
  }

  CONFIDE_ASSIGN_OR_RETURN(const Json* levels, Field(j, kDoc, "tcbLevels"));
  if (!levels->is_array() || levels->empty())
    return InvalidArgument(Where(kDoc, "tcbLevels") + " must be a non-empty array");
  constexpr std::string_view kLevel = "TCB info tcbLevel";
  for (const auto& level : *levels) {
    TcbLevel l;
    CONFIDE_ASSIGN_OR_RETURN(const Json* tcb, Field(level, kLevel, "tcb"));
    if (t.version == 3) {
      CONFIDE_ASSIGN_OR_RETURN(l.sgx_components, GetComponents(*tcb, kLevel, "sgxtcbcomponents"));
      if (t.id == "TDX") {
        CONFIDE_ASSIGN_OR_RETURN(l.tdx_components, GetComponents(*tcb, kLevel, "tdxtcbcomponents"));
      }
    } else {
      for (size_t i = 0; i < 16; ++i) {
        char key[32];
        std::snprintf(key, sizeof key, "sgxtcbcomp%02zusvn", i + 1);
        CONFIDE_ASSIGN_OR_RETURN(uint64_t svn, GetUnsigned(*tcb, kLevel, key, 255));
        l.sgx_components[i] = static_cast<uint32_t>(svn);
      }
    }
    CONFIDE_ASSIGN_OR_RETURN(uint64_t pcesvn, GetUnsigned(*tcb, kLevel, "pcesvn", 0xffff));
    l.pce_svn = static_cast<uint32_t>(pcesvn);
    CONFIDE_ASSIGN_OR_RETURN(l.tcb_date, GetString(level, kLevel, "tcbDate"));
    CONFIDE_ASSIGN_OR_RETURN(l.status, GetStatus(level, kLevel));
    CONFIDE_ASSIGN_OR_RETURN(l.advisory_ids, GetAdvisories(level, kLevel));
    t.levels.push_back(std::move(l));
  }
  return t;
}

Result<EnclaveIdentity> ParseEnclaveIdentity(std::string_view json) {
  constexpr std::string_view kDoc = "QE identity";
  CONFIDE_ASSIGN_OR_RETURN(Json j, ParseObject(json, kDoc));
  EnclaveIdentity e;
  CONFIDE_ASSIGN_OR_RETURN(uint64_t version, GetUnsigned(j, kDoc, "version", 1000));
  e.version = static_cast<int>(version);
  if (e.version != 2) return Unsupported("QE identity version " + std::to_string(e.version) + " is not supported (2)");
  CONFIDE_ASSIGN_OR_RETURN(e.id, GetString(j, kDoc, "id"));
  CONFIDE_ASSIGN_OR_RETURN(e.issue_date, GetTime(j, kDoc, "issueDate"));
  CONFIDE_ASSIGN_OR_RETURN(e.next_update, GetTime(j, kDoc, "nextUpdate"));
  CONFIDE_ASSIGN_OR_RETURN(uint64_t eval, GetUnsigned(j, kDoc, "tcbEvaluationDataNumber", 0xffffffff));
  e.tcb_evaluation_data_number = static_cast<int>(eval);
  CONFIDE_ASSIGN_OR_RETURN(e.misc_select, GetHex(j, kDoc, "miscselect", 4));
  CONFIDE_ASSIGN_OR_RETURN(e.misc_select_mask, GetHex(j, kDoc, "miscselectMask", 4));
  CONFIDE_ASSIGN_OR_RETURN(e.attributes, GetHex(j, kDoc, "attributes", 16));
  CONFIDE_ASSIGN_OR_RETURN(e.attributes_mask, GetHex(j, kDoc, "attributesMask", 16));
  CONFIDE_ASSIGN_OR_RETURN(e.mr_signer, GetHex(j, kDoc, "mrsigner", 32));
  CONFIDE_ASSIGN_OR_RETURN(uint64_t prod, GetUnsigned(j, kDoc, "isvprodid", 0xffff));
  e.isv_prod_id = static_cast<uint32_t>(prod);
  CONFIDE_ASSIGN_OR_RETURN(e.levels, GetIsvLevels(j, kDoc));
  return e;
}

}  // namespace confide::attestation::dcap
