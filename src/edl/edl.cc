// Public entry points and the JSON form of the AST.
#include <filesystem>

#include <nlohmann/json.hpp>

#include "confide/edl.h"
#include "edl/parser.h"

namespace confide::edl {

namespace fs = std::filesystem;
using internal::Loader;

namespace {

std::string CanonicalKey(const std::string& path) {
  std::error_code ec;
  std::string k = fs::weakly_canonical(path, ec).string();
  return ec ? path : k;
}

}  // namespace

Result<Edl> ParseEdlFile(const std::string& path, const ParseOptions& options) {
  std::string found;
  std::error_code ec;
  if (fs::exists(path, ec)) {
    found = path;
  } else if (!fs::path(path).is_absolute()) {
    for (const std::string& dir : options.search_paths) {
      std::string c = (fs::path(dir) / path).string();
      if (fs::exists(c, ec)) {
        found = c;
        break;
      }
    }
  }
  if (found.empty()) {
    std::string m = path + ": error: EDL file not found";
    if (!options.search_paths.empty()) {
      m += " (also searched";
      for (const std::string& d : options.search_paths) m += " " + d;
      m += ")";
    }
    return NotFound(m);
  }
  CONFIDE_ASSIGN_OR_RETURN(std::string text, internal::ReadEdlText(found));
  Loader loader(options);
  CONFIDE_ASSIGN_OR_RETURN(auto root, loader.Parse(text, found, CanonicalKey(found)));
  return internal::Finish(*root);
}

Result<Edl> ParseEdlString(std::string_view text, const std::string& filename,
                           const ParseOptions& options) {
  Loader loader(options);
  // An in-memory root gets a key no file can have, so importing its own name is not a cycle.
  CONFIDE_ASSIGN_OR_RETURN(auto root, loader.Parse(text, filename, "\x01memory:" + filename));
  return internal::Finish(*root);
}

namespace {

using nlohmann::ordered_json;

ordered_json LocationJson(const SourceLocation& l) {
  return ordered_json{{"file", l.file}, {"line", l.line}, {"column", l.column}};
}

ordered_json SizeJson(const SizeSpec& s) {
  if (s.kind == SizeSpec::Kind::kNumber) return s.number;
  if (s.kind == SizeSpec::Kind::kName) return s.name;
  return nullptr;
}

std::string_view BaseName(BaseType b) {
  switch (b) {
    case BaseType::kVoid: return "void";
    case BaseType::kBool: return "bool";
    case BaseType::kChar: return "char";
    case BaseType::kShort: return "short";
    case BaseType::kInt: return "int";
    case BaseType::kLong: return "long";
    case BaseType::kLongLong: return "long long";
    case BaseType::kFloat: return "float";
    case BaseType::kDouble: return "double";
    case BaseType::kLongDouble: return "long double";
    case BaseType::kInt8: return "int8_t";
    case BaseType::kInt16: return "int16_t";
    case BaseType::kInt32: return "int32_t";
    case BaseType::kInt64: return "int64_t";
    case BaseType::kUInt8: return "uint8_t";
    case BaseType::kUInt16: return "uint16_t";
    case BaseType::kUInt32: return "uint32_t";
    case BaseType::kUInt64: return "uint64_t";
    case BaseType::kSizeT: return "size_t";
    case BaseType::kWChar: return "wchar_t";
    case BaseType::kStruct: return "struct";
    case BaseType::kUnion: return "union";
    case BaseType::kEnum: return "enum";
    case BaseType::kForeign: return "foreign";
  }
  return "?";
}

ordered_json TypeJson(const Type& t) {
  ordered_json j{{"spelling", t.ToString()}, {"base", BaseName(t.base)}};
  if (!t.name.empty()) j["name"] = t.name;
  j["unsigned"] = t.is_unsigned;
  j["const"] = t.is_const;
  j["pointer_depth"] = t.pointer_depth;
  return j;
}

ordered_json DeclJson(const Declaration& d) {
  ordered_json j{{"name", d.name}, {"type", TypeJson(d.type)}};
  ordered_json dims = ordered_json::array();
  for (const ArrayDim& dim : d.dims) {
    if (dim.name.empty()) {
      dims.push_back(dim.value);
    } else {
      ordered_json n{{"name", dim.name}};
      n["value"] = dim.resolved ? ordered_json(dim.value) : ordered_json(nullptr);
      dims.push_back(n);
    }
  }
  j["dims"] = dims;
  const Attributes& a = d.attrs;
  j["attributes"] = ordered_json{
      {"direction", DirectionName(a.direction)},
      {"size", SizeJson(a.size)},
      {"count", SizeJson(a.count)},
      {"string", a.string},
      {"wstring", a.wstring},
      {"isptr", a.isptr},
      {"isary", a.isary},
      {"readonly", a.readonly},
      {"user_check", a.user_check},
  };
  j["location"] = LocationJson(d.location);
  return j;
}

std::string_view ConventionName(CallingConvention c) {
  switch (c) {
    case CallingConvention::kNone: return "none";
    case CallingConvention::kCdecl: return "cdecl";
    case CallingConvention::kStdcall: return "stdcall";
    case CallingConvention::kFastcall: return "fastcall";
  }
  return "none";
}

ordered_json FunctionJson(const Function& f) {
  ordered_json j{{"name", f.name}, {"return_type", TypeJson(f.return_type)}};
  ordered_json params = ordered_json::array();
  for (const Declaration& p : f.params) params.push_back(DeclJson(p));
  j["params"] = params;
  if (f.is_trusted) {
    j["public"] = f.is_public;
  } else {
    j["allow"] = f.allow;
    j["propagate_errno"] = f.propagate_errno;
    j["calling_convention"] = ConventionName(f.calling_convention);
    j["dllimport"] = f.dllimport;
  }
  j["transition_using_threads"] = f.transition_using_threads;
  j["location"] = LocationJson(f.location);
  return j;
}

ordered_json UserTypeJson(const UserType& t) {
  const char* kind = t.kind == UserType::Kind::kStruct ? "struct"
                     : t.kind == UserType::Kind::kUnion ? "union" : "enum";
  ordered_json j{{"kind", kind}, {"name", t.name}};
  if (t.kind == UserType::Kind::kEnum) {
    ordered_json items = ordered_json::array();
    for (const EnumItem& i : t.items) {
      ordered_json it{{"name", i.name}};
      if (!i.value_text.empty()) it["expression"] = i.value_text;
      it["value"] = i.value ? ordered_json(*i.value) : ordered_json(nullptr);
      items.push_back(it);
    }
    j["items"] = items;
  } else {
    ordered_json fields = ordered_json::array();
    for (const Declaration& d : t.fields) fields.push_back(DeclJson(d));
    j["fields"] = fields;
    if (t.kind == UserType::Kind::kStruct) j["deep_copy"] = t.IsDeepCopy();
  }
  j["location"] = LocationJson(t.location);
  return j;
}

}  // namespace

std::string EdlToJson(const Edl& edl) {
  ordered_json j{{"name", edl.name}, {"path", edl.path}, {"includes", edl.includes}};
  ordered_json types = ordered_json::array();
  for (const UserType& t : edl.types) types.push_back(UserTypeJson(t));
  j["types"] = types;
  ordered_json trusted = ordered_json::array();
  for (const Function& f : edl.trusted) trusted.push_back(FunctionJson(f));
  j["trusted"] = trusted;
  ordered_json untrusted = ordered_json::array();
  for (const Function& f : edl.untrusted) untrusted.push_back(FunctionJson(f));
  j["untrusted"] = untrusted;
  j["files"] = edl.files;
  j["warnings"] = edl.warnings;
  // Replace invalid UTF-8 (EDL names are ASCII, but paths and header names may not be).
  return j.dump(2, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace confide::edl
