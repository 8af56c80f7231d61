#include <algorithm>

#include "confide/edl.h"
#include "edl/parser.h"

namespace confide::edl {

std::string SourceLocation::ToString() const {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column);
}

std::string_view DirectionName(Direction d) {
  switch (d) {
    case Direction::kNone: return "none";
    case Direction::kIn: return "in";
    case Direction::kOut: return "out";
    case Direction::kInOut: return "in_out";
  }
  return "none";
}

bool Type::IsBuiltinInteger() const {
  if (pointer_depth > 0) return false;
  switch (base) {
    case BaseType::kBool:
    case BaseType::kChar:
    case BaseType::kShort:
    case BaseType::kInt:
    case BaseType::kLong:
    case BaseType::kLongLong:
    case BaseType::kInt8:
    case BaseType::kInt16:
    case BaseType::kInt32:
    case BaseType::kInt64:
    case BaseType::kUInt8:
    case BaseType::kUInt16:
    case BaseType::kUInt32:
    case BaseType::kUInt64:
    case BaseType::kSizeT:
    case BaseType::kWChar:
      return true;
    default:
      return false;
  }
}

std::string Type::ToString() const {
  std::string s = is_const ? "const " : "";
  if (is_unsigned) s += "unsigned ";
  switch (base) {
    case BaseType::kVoid: s += "void"; break;
    case BaseType::kBool: s += "bool"; break;
    case BaseType::kChar: s += "char"; break;
    case BaseType::kShort: s += "short"; break;
    case BaseType::kInt: s += "int"; break;
    case BaseType::kLong: s += "long"; break;
    case BaseType::kLongLong: s += "long long"; break;
    case BaseType::kFloat: s += "float"; break;
    case BaseType::kDouble: s += "double"; break;
    case BaseType::kLongDouble: s += "long double"; break;
    case BaseType::kInt8: s += "int8_t"; break;
    case BaseType::kInt16: s += "int16_t"; break;
    case BaseType::kInt32: s += "int32_t"; break;
    case BaseType::kInt64: s += "int64_t"; break;
    case BaseType::kUInt8: s += "uint8_t"; break;
    case BaseType::kUInt16: s += "uint16_t"; break;
    case BaseType::kUInt32: s += "uint32_t"; break;
    case BaseType::kUInt64: s += "uint64_t"; break;
    case BaseType::kSizeT: s += "size_t"; break;
    case BaseType::kWChar: s += "wchar_t"; break;
    case BaseType::kStruct: s += "struct " + name; break;
    case BaseType::kUnion: s += "union " + name; break;
    case BaseType::kEnum: s += "enum " + name; break;
    case BaseType::kForeign: s += name; break;
  }
  s.append(static_cast<size_t>(pointer_depth), '*');
  return s;
}

bool UserType::IsDeepCopy() const {
  if (kind != Kind::kStruct) return false;
  return std::any_of(fields.begin(), fields.end(), [](const Declaration& d) {
    return d.attrs.size.present() || d.attrs.count.present();
  });
}

const Declaration* Function::FindParam(std::string_view n) const {
  for (const Declaration& p : params) {
    if (p.name == n) return &p;
  }
  return nullptr;
}

const Function* Edl::FindFunction(std::string_view n) const {
  for (const auto* list : {&trusted, &untrusted}) {
    for (const Function& f : *list) {
      if (f.name == n) return &f;
    }
  }
  return nullptr;
}

const UserType* Edl::FindType(std::string_view n) const {
  for (const UserType& t : types) {
    if (!t.name.empty() && t.name == n) return &t;
  }
  return nullptr;
}

Result<Edl> ParseEdlFile(const std::string& path, const std::vector<std::string>& search_paths) {
  ParseOptions options;
  options.search_paths = search_paths;
  return ParseEdlFile(path, options);
}

}  // namespace confide::edl
