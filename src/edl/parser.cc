// Recursive-descent parser for one EDL file. Imports are parsed when they are met, so an
// enum constant or struct from an imported file is known to the declarations after it.
#include "edl/parser.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "edl/checks.h"

namespace confide::edl::internal {

namespace fs = std::filesystem;

namespace {

constexpr uintmax_t kMaxEdlFileSize = 16u << 20;
constexpr int kMaxExpressionDepth = 64;

bool IsOneOf(const std::string& s, std::initializer_list<std::string_view> words) {
  return std::any_of(words.begin(), words.end(), [&](std::string_view w) { return s == w; });
}

std::string Key(const std::string& name, const SourceLocation& loc) {
  return name + "@" + loc.ToString();
}

std::string BaseName(const std::string& path) {
  std::string n = fs::path(path).filename().string();
  if (n.size() > 4 && n.compare(n.size() - 4, 4, ".edl") == 0) n.resize(n.size() - 4);
  return n;
}

class Parser {
 public:
  Parser(std::vector<Token> tokens, const std::string& path, Loader& loader)
      : t_(std::move(tokens)), path_(path), loader_(loader) {
    out_ = std::make_shared<ResolvedFile>();
    out_->path = path;
    out_->name = BaseName(path);
    out_->files.push_back(path);
  }

  Result<std::shared_ptr<const ResolvedFile>> Run() {
    CONFIDE_RETURN_IF_ERROR(ExpectWord("enclave", "an EDL file starts with `enclave {`"));
    CONFIDE_RETURN_IF_ERROR(Expect("{"));
    while (!Peek().Is("}")) {
      if (Peek().kind == TokenKind::kEof) {
        return ErrorHere("expected `}` to close `enclave {`, got end of file");
      }
      CONFIDE_RETURN_IF_ERROR(BodyItem());
    }
    Next();
    if (Peek().Is(";")) Next();
    if (Peek().kind != TokenKind::kEof) {
      return ErrorHere("expected end of file after `enclave { ... };`, got " + Peek().Describe());
    }

    CONFIDE_RETURN_IF_ERROR(CheckOwnDeclarations());
    out_->trusted = own_trusted_;
    out_->trusted.insert(out_->trusted.end(), imported_trusted_.begin(), imported_trusted_.end());
    out_->untrusted = own_untrusted_;
    out_->untrusted.insert(out_->untrusted.end(), imported_untrusted_.begin(),
                           imported_untrusted_.end());
    for (const auto* list : {&own_trusted_, &own_untrusted_}) {
      for (const Function& f : *list) AddReachable(f);
    }
    return std::shared_ptr<const ResolvedFile>(out_);
  }

 private:
  // ---- token helpers ----
  const Token& Peek(size_t ahead = 0) const {
    size_t i = std::min(pos_ + ahead, t_.size() - 1);
    return t_[i];
  }
  const Token& Next() {
    const Token& t = t_[pos_];
    if (pos_ + 1 < t_.size()) ++pos_;
    return t;
  }
  SourceLocation Loc(const Token& t) const { return SourceLocation{path_, t.line, t.column}; }
  Status ErrorAt(const Token& t, std::string_view m) const {
    return internal::ErrorAt(path_, t.line, t.column, m);
  }
  Status ErrorAt(const SourceLocation& l, std::string_view m) const {
    return internal::ErrorAt(l.file, l.line, l.column, m);
  }
  Status ErrorHere(std::string_view m) const { return ErrorAt(Peek(), m); }

  Status Expect(std::string_view punct) {
    if (!Peek().Is(punct)) {
      return ErrorHere("expected `" + std::string(punct) + "`, got " + Peek().Describe());
    }
    Next();
    return Status::Ok();
  }
  Status ExpectWord(std::string_view word, std::string_view why) {
    if (!(Peek().kind == TokenKind::kIdentifier && Peek().text == word)) {
      return ErrorHere("expected `" + std::string(word) + "`, got " + Peek().Describe() + " (" +
                       std::string(why) + ")");
    }
    Next();
    return Status::Ok();
  }
  Result<Token> ExpectIdentifier(std::string_view what) {
    if (Peek().kind != TokenKind::kIdentifier) {
      return ErrorHere("expected " + std::string(what) + ", got " + Peek().Describe());
    }
    return Next();
  }

  // ---- enclave body ----
  Status BodyItem() {
    const Token& t = Peek();
    if (t.kind == TokenKind::kIdentifier) {
      if (t.text == "include") return Include();
      if (t.text == "from") return FromImport();
      if (t.text == "import") return BareImport();
      if (t.text == "enum") return EnumDef();
      if (t.text == "struct" || t.text == "union") return StructOrUnionDef();
      if (t.text == "trusted" || t.text == "untrusted") return Block();
    }
    return ErrorHere("expected `trusted`, `untrusted`, `include`, `from`, `import`, `struct`, "
                     "`union` or `enum` in the enclave body, got " + t.Describe());
  }

  Status Include() {
    Next();
    if (Peek().kind != TokenKind::kString) {
      return ErrorHere("expected a header name in quotes after `include`, got " + Peek().Describe());
    }
    AddInclude(Next().text);
    return Status::Ok();
  }

  void AddInclude(const std::string& h) {
    if (std::find(out_->includes.begin(), out_->includes.end(), h) == out_->includes.end()) {
      out_->includes.push_back(h);
    }
  }

  Result<std::shared_ptr<const ResolvedFile>> ImportFile() {
    if (Peek().kind != TokenKind::kString) {
      return ErrorHere("expected an EDL file name in quotes, got " + Peek().Describe());
    }
    const Token& name = Next();
    if (name.text.empty()) return ErrorAt(name, "empty EDL file name");
    CONFIDE_ASSIGN_OR_RETURN(auto file, loader_.Import(name.text, Loc(name)));
    SourceLocation at = Loc(name);
    for (const std::string& h : file->includes) AddInclude(h);
    for (const UserType& ty : file->types) CONFIDE_RETURN_IF_ERROR(AddType(ty, &at));
    for (const auto& [k, v] : file->enum_constants) out_->enum_constants.emplace(k, v);
    for (const Function& f : file->reachable) AddReachable(f);
    for (const std::string& f : file->files) {
      if (std::find(out_->files.begin(), out_->files.end(), f) == out_->files.end()) {
        out_->files.push_back(f);
      }
    }
    for (const std::string& w : file->warnings) {
      if (std::find(out_->warnings.begin(), out_->warnings.end(), w) == out_->warnings.end()) {
        out_->warnings.push_back(w);
      }
    }
    return file;
  }

  Status ImportAll(const ResolvedFile& file, const SourceLocation& at) {
    for (const Function& f : file.trusted) CONFIDE_RETURN_IF_ERROR(AddFunction(f, true, &at));
    for (const Function& f : file.untrusted) CONFIDE_RETURN_IF_ERROR(AddFunction(f, true, &at));
    return Status::Ok();
  }

  Status BareImport() {  // OE: import "x.edl"  (everything, like from "x.edl" import *)
    Next();
    SourceLocation at = Loc(Peek());
    CONFIDE_ASSIGN_OR_RETURN(auto file, ImportFile());
    if (Peek().Is(";")) Next();
    return ImportAll(*file, at);
  }

  Status FromImport() {
    Next();
    SourceLocation at = Loc(Peek());
    CONFIDE_ASSIGN_OR_RETURN(auto file, ImportFile());
    CONFIDE_RETURN_IF_ERROR(ExpectWord("import", "`from \"file.edl\" import a, b;` or `import *;`"));
    if (Peek().Is("*")) {
      Next();
      CONFIDE_RETURN_IF_ERROR(ImportAll(*file, at));
    } else {
      while (true) {
        CONFIDE_ASSIGN_OR_RETURN(Token name, ExpectIdentifier("a function name to import or `*`"));
        const Function* f = FindIn(file->trusted, name.text);
        if (!f) f = FindIn(file->untrusted, name.text);
        if (!f) f = FindIn(file->reachable, name.text);
        if (!f) {
          return Status(Code::kNotFound,
                        internal::ErrorAt(path_, name.line, name.column,
                                          "function `" + name.text + "` is not declared in \"" +
                                              file->path + "\" or in the files it imports")
                            .message());
        }
        SourceLocation nat = Loc(name);
        CONFIDE_RETURN_IF_ERROR(AddFunction(*f, true, &nat));
        if (!Peek().Is(",")) break;
        Next();
      }
    }
    return Expect(";");
  }

  static const Function* FindIn(const std::vector<Function>& v, const std::string& name) {
    for (const Function& f : v) {
      if (f.name == name) return &f;
    }
    return nullptr;
  }

  void AddReachable(const Function& f) {
    for (const Function& g : out_->reachable) {
      if (Key(g.name, g.location) == Key(f.name, f.location)) return;
    }
    out_->reachable.push_back(f);
  }

  // Adds a function unless the very same declaration is already present (diamond import).
  Status AddFunction(const Function& f, bool imported, const SourceLocation* at) {
    std::string key = Key(f.name, f.location);
    for (const auto* list : {&own_trusted_, &own_untrusted_, &imported_trusted_, &imported_untrusted_}) {
      for (const Function& g : *list) {
        if (g.name != f.name) continue;
        if (Key(g.name, g.location) == key) return Status::Ok();
        std::string m = "function `" + f.name + "` is declared twice: ";
        if (imported) {
          m += "the import brings the one at " + f.location.ToString() + ", but one is already at " +
               g.location.ToString();
          return ErrorAt(*at, m);
        }
        m += "first at " + g.location.ToString() + "; function names must be unique across "
             "trusted and untrusted blocks";
        return ErrorAt(f.location, m);
      }
    }
    auto& list = f.is_trusted ? (imported ? imported_trusted_ : own_trusted_)
                              : (imported ? imported_untrusted_ : own_untrusted_);
    list.push_back(f);
    return Status::Ok();
  }

  Status AddType(const UserType& ty, const SourceLocation* import_at) {
    std::string key = Key(ty.name, ty.location);
    for (const UserType& u : out_->types) {
      if (Key(u.name, u.location) == key) return Status::Ok();  // same declaration again
    }
    auto clash = [&](const std::string& what, const SourceLocation& first,
                     const SourceLocation& second) {
      std::string m = what + " is defined twice: at " + first.ToString() + " and at " + second.ToString();
      return ErrorAt(import_at ? *import_at : second, m);
    };
    if (!ty.name.empty()) {
      for (const UserType& u : out_->types) {
        if (u.name == ty.name) return clash("type `" + ty.name + "`", u.location, ty.location);
      }
    }
    for (const EnumItem& item : ty.items) {
      for (const UserType& u : out_->types) {
        for (const EnumItem& other : u.items) {
          if (other.name == item.name) {
            return clash("enum constant `" + item.name + "`", other.location, item.location);
          }
        }
      }
    }
    out_->types.push_back(ty);
    return Status::Ok();
  }

  // ---- types and declarations ----
  Result<Type> ParseType() {
    Type t;
    if (Peek().kind == TokenKind::kIdentifier && Peek().text == "const") {
      t.is_const = true;
      Next();
    }
    if (Peek().kind != TokenKind::kIdentifier) {
      return ErrorHere("expected a type, got " + Peek().Describe());
    }
    Token w = Next();
    bool is_unsigned = false;
    if (w.text == "unsigned") {
      is_unsigned = true;
      const Token& p = Peek();
      if (p.kind == TokenKind::kIdentifier && IsOneOf(p.text, {"char", "short", "int", "long"})) {
        w = Next();
      } else if (p.kind == TokenKind::kIdentifier &&
                 IsOneOf(p.text, {"float", "double", "void", "bool", "wchar_t", "size_t", "int8_t",
                                  "int16_t", "int32_t", "int64_t", "uint8_t", "uint16_t", "uint32_t",
                                  "uint64_t", "struct", "union", "enum", "const", "unsigned"})) {
        return ErrorAt(p, "`unsigned` must be followed by char, short, int or long, not `" + p.text + "`");
      } else {
        t.is_unsigned = true;
        t.base = BaseType::kInt;
        w.text.clear();
      }
    }
    auto opt_int = [&] {
      if (Peek().kind == TokenKind::kIdentifier && Peek().text == "int") Next();
    };
    if (w.text.empty()) {
      // bare "unsigned"
    } else if (w.text == "char") {
      t.base = BaseType::kChar;
    } else if (w.text == "short") {
      t.base = BaseType::kShort;
      opt_int();
    } else if (w.text == "int") {
      t.base = BaseType::kInt;
    } else if (w.text == "long") {
      if (Peek().kind == TokenKind::kIdentifier && Peek().text == "long") {
        Next();
        t.base = BaseType::kLongLong;
        opt_int();
      } else if (Peek().kind == TokenKind::kIdentifier && Peek().text == "double") {
        if (is_unsigned) return ErrorHere("`unsigned long double` is not a type");
        Next();
        t.base = BaseType::kLongDouble;
      } else {
        t.base = BaseType::kLong;
        opt_int();
      }
    } else if (is_unsigned) {
      return ErrorAt(w, "`unsigned` must be followed by char, short, int or long");
    } else if (w.text == "struct" || w.text == "union" || w.text == "enum") {
      CONFIDE_ASSIGN_OR_RETURN(Token n, ExpectIdentifier("a " + w.text + " name after `" + w.text + "`"));
      t.base = w.text == "struct" ? BaseType::kStruct
               : w.text == "union" ? BaseType::kUnion : BaseType::kEnum;
      t.name = n.text;
    } else {
      static const std::pair<std::string_view, BaseType> kSimple[] = {
          {"void", BaseType::kVoid},       {"bool", BaseType::kBool},
          {"float", BaseType::kFloat},     {"double", BaseType::kDouble},
          {"wchar_t", BaseType::kWChar},   {"size_t", BaseType::kSizeT},
          {"int8_t", BaseType::kInt8},     {"int16_t", BaseType::kInt16},
          {"int32_t", BaseType::kInt32},   {"int64_t", BaseType::kInt64},
          {"uint8_t", BaseType::kUInt8},   {"uint16_t", BaseType::kUInt16},
          {"uint32_t", BaseType::kUInt32}, {"uint64_t", BaseType::kUInt64},
      };
      auto it = std::find_if(std::begin(kSimple), std::end(kSimple),
                             [&](const auto& p) { return p.first == w.text; });
      if (it != std::end(kSimple)) {
        t.base = it->second;
      } else if (IsOneOf(w.text, {"const", "enclave", "trusted", "untrusted", "public", "include",
                                  "from", "import", "allow"})) {
        return ErrorAt(w, "expected a type, got `" + w.text + "`");
      } else {
        t.base = BaseType::kForeign;
        t.name = w.text;
      }
    }
    if (is_unsigned) t.is_unsigned = true;
    while (Peek().Is("*")) {
      Next();
      ++t.pointer_depth;
    }
    return t;
  }

  enum class DeclContext { kParam, kStructMember, kUnionMember };

  Result<SizeSpec> SizeValue(const Token& attr) {
    SizeSpec s;
    if (!Peek().Is("=")) {
      return ErrorHere("expected `=` after `" + attr.text + "` (write " + attr.text + "=N or " +
                       attr.text + "=name), got " + Peek().Describe());
    }
    Next();
    const Token& v = Peek();
    s.location = Loc(v);
    if (v.kind == TokenKind::kNumber) {
      s.kind = SizeSpec::Kind::kNumber;
      s.number = v.number;
    } else if (v.kind == TokenKind::kIdentifier) {
      s.kind = SizeSpec::Kind::kName;
      s.name = v.text;
    } else {
      return ErrorHere("expected a number or a name after `" + attr.text + "=`, got " + v.Describe());
    }
    Next();
    return s;
  }

  Result<Attributes> ParseAttributes(DeclContext ctx) {
    Attributes a;
    a.present = true;
    const Token& open = Next();  // '['
    if (Peek().Is("]")) return ErrorAt(open, "empty attribute list `[]`");
    std::set<std::string> seen;
    bool seen_in = false, seen_out = false;
    while (true) {
      CONFIDE_ASSIGN_OR_RETURN(Token name, ExpectIdentifier("an attribute name"));
      const std::string& n = name.text;
      if (n == "sizefunc") {
        return ErrorAt(name, "attribute `sizefunc` is obsolete (Intel's edger8r removed it); use "
                             "size= with the byte count instead");
      }
      static const std::initializer_list<std::string_view> kKnown = {
          "in", "out", "size", "count", "string", "wstring", "isptr", "isary", "readonly", "user_check"};
      if (!IsOneOf(n, kKnown)) {
        return ErrorAt(name, "unknown attribute `" + n + "`; expected one of in, out, size, count, "
                             "string, wstring, isptr, isary, readonly, user_check");
      }
      if (!seen.insert(n).second) return ErrorAt(name, "duplicated attribute `" + n + "`");
      if (ctx == DeclContext::kUnionMember) {
        return ErrorAt(name, "attributes are not allowed on union members (`" + n + "`)");
      }
      if (ctx == DeclContext::kStructMember && n != "size" && n != "count") {
        return ErrorAt(name, "only size= and count= are allowed on struct members, not `" + n + "`");
      }
      if (n == "size" || n == "count") {
        CONFIDE_ASSIGN_OR_RETURN(SizeSpec s, SizeValue(name));
        (n == "size" ? a.size : a.count) = s;
      } else {
        if (Peek().Is("=")) return ErrorHere("attribute `" + n + "` takes no value");
        if (n == "in") seen_in = true;
        if (n == "out") seen_out = true;
        if (n == "string") a.string = true;
        if (n == "wstring") a.wstring = true;
        if (n == "isptr") a.isptr = true;
        if (n == "isary") a.isary = true;
        if (n == "readonly") a.readonly = true;
        if (n == "user_check") a.user_check = true;
      }
      if (Peek().Is("]")) break;
      if (!Peek().Is(",")) {
        return ErrorHere("expected `,` or `]` in the attribute list, got " + Peek().Describe());
      }
      Next();
    }
    Next();  // ']'
    a.direction = seen_in && seen_out ? Direction::kInOut
                  : seen_in          ? Direction::kIn
                  : seen_out         ? Direction::kOut
                                     : Direction::kNone;
    return a;
  }

  Result<ArrayDim> ParseDim() {
    const Token& open = Next();  // '['
    ArrayDim d;
    const Token& v = Peek();
    if (v.Is("]")) {
      return ErrorAt(open, "flexible array `[]` is not supported: give the number of elements");
    }
    if (v.kind == TokenKind::kNumber) {
      if (v.number == 0) return ErrorAt(v, "zero-length array `[0]` is not supported");
      d.value = v.number;
    } else if (v.kind == TokenKind::kIdentifier) {
      d.name = v.text;
      auto it = out_->enum_constants.find(v.text);
      if (it != out_->enum_constants.end() && it->second.has_value()) {
        if (*it->second <= 0) {
          return ErrorAt(v, "array dimension `" + v.text + "` is " + std::to_string(*it->second) +
                                "; it must be positive");
        }
        d.value = static_cast<uint64_t>(*it->second);
      } else {
        d.resolved = false;  // a macro from a C header: the C compiler will see it
      }
    } else {
      return ErrorAt(v, "expected an array size (a number or a constant name), got " + v.Describe());
    }
    Next();
    CONFIDE_RETURN_IF_ERROR(Expect("]"));
    return d;
  }

  Result<Declaration> ParseDecl(DeclContext ctx) {
    Declaration d;
    d.location = Loc(Peek());
    if (Peek().Is("[")) {
      CONFIDE_ASSIGN_OR_RETURN(d.attrs, ParseAttributes(ctx));
    }
    CONFIDE_ASSIGN_OR_RETURN(d.type, ParseType());
    CONFIDE_ASSIGN_OR_RETURN(Token name, ExpectIdentifier(ctx == DeclContext::kParam
                                                              ? "a parameter name"
                                                              : "a member name"));
    d.name = name.text;
    d.location = Loc(name);
    while (Peek().Is("[")) {
      CONFIDE_ASSIGN_OR_RETURN(ArrayDim dim, ParseDim());
      d.dims.push_back(std::move(dim));
    }
    return d;
  }

  // ---- enum / struct / union ----
  Status EnumDef() {
    const Token& kw = Next();
    UserType ty;
    ty.kind = UserType::Kind::kEnum;
    ty.location = Loc(kw);
    if (Peek().kind == TokenKind::kIdentifier) {
      ty.name = Next().text;
    }
    CONFIDE_RETURN_IF_ERROR(Expect("{"));
    std::optional<int64_t> next_value = 0;
    std::map<std::string, std::optional<int64_t>> local;
    while (!Peek().Is("}")) {
      CONFIDE_ASSIGN_OR_RETURN(Token name, ExpectIdentifier("an enum constant name"));
      EnumItem item;
      item.name = name.text;
      item.location = Loc(name);
      if (Peek().Is("=")) {
        Next();
        size_t start = pos_;
        int depth = 0;
        while (!(depth == 0 && (Peek().Is(",") || Peek().Is("}"))) &&
               Peek().kind != TokenKind::kEof && !Peek().Is(";")) {
          if (Peek().Is("(")) ++depth;
          if (Peek().Is(")")) --depth;
          Next();
        }
        if (start == pos_) {
          return ErrorHere("expected a value after `" + item.name + " =`, got " + Peek().Describe());
        }
        for (size_t i = start; i < pos_; ++i) {
          if (i > start) item.value_text += ' ';
          item.value_text += t_[i].kind == TokenKind::kString ? t_[i].Describe() : t_[i].text;
        }
        CONFIDE_ASSIGN_OR_RETURN(item.value, Evaluate(start, pos_, local));
      } else {
        item.value = next_value;
      }
      if (item.value.has_value()) {
        int64_t nv;
        next_value = __builtin_add_overflow(*item.value, 1, &nv) ? std::nullopt
                                                                  : std::optional<int64_t>(nv);
      } else {
        next_value = std::nullopt;
      }
      for (const EnumItem& prev : ty.items) {
        if (prev.name == item.name) {
          return ErrorAt(name, "enum constant `" + item.name + "` is defined twice in this enum (first at " +
                                   prev.location.ToString() + ")");
        }
      }
      local[item.name] = item.value;
      ty.items.push_back(std::move(item));
      if (Peek().Is(",")) {
        Next();
        continue;
      }
      if (!Peek().Is("}")) {
        return ErrorHere("expected `,` or `}` after an enum constant, got " + Peek().Describe());
      }
    }
    Next();
    CONFIDE_RETURN_IF_ERROR(Expect(";"));
    CONFIDE_RETURN_IF_ERROR(AddType(ty, nullptr));
    for (const EnumItem& item : ty.items) out_->enum_constants[item.name] = item.value;
    own_types_.push_back(out_->types.size() - 1);
    return Status::Ok();
  }

  // Constant expression over tokens [begin, end): integers, enum constants, unary - ~ +,
  // binary * / % + - << >> & ^ |, parentheses. nullopt when it names something unknown
  // (a macro from a C header); an error when it is malformed.
  Result<std::optional<int64_t>> Evaluate(size_t begin, size_t end,
                                          const std::map<std::string, std::optional<int64_t>>& local) {
    ExprEval ev{this, begin, end, &local};
    CONFIDE_ASSIGN_OR_RETURN(auto v, ev.Binary(0, 0));
    if (ev.p != end) return ErrorAt(t_[ev.p], "unexpected " + t_[ev.p].Describe() + " in a constant expression");
    return v;
  }

  struct ExprEval {
    Parser* self;
    size_t p;
    size_t end;
    const std::map<std::string, std::optional<int64_t>>* local;

    const Token& Cur() const { return self->t_[std::min(p, end)]; }
    bool At(std::string_view s) const { return p < end && self->t_[p].Is(s); }

    static int Prec(const std::string& op) {
      if (op == "|") return 1;
      if (op == "^") return 2;
      if (op == "&") return 3;
      if (op == "<<" || op == ">>") return 4;
      if (op == "+" || op == "-") return 5;
      if (op == "*" || op == "/" || op == "%") return 6;
      return 0;
    }

    Result<std::optional<int64_t>> Unary(int depth) {
      if (depth > kMaxExpressionDepth) return self->ErrorAt(Cur(), "constant expression nested too deeply");
      if (p >= end) return self->ErrorAt(Cur(), "constant expression ends too early");
      const Token& t = self->t_[p];
      if (t.Is("-") || t.Is("~") || t.Is("+")) {
        ++p;
        CONFIDE_ASSIGN_OR_RETURN(auto v, Unary(depth + 1));
        if (!v) return v;
        uint64_t u = static_cast<uint64_t>(*v);
        if (t.Is("-")) u = 0 - u;
        if (t.Is("~")) u = ~u;
        return std::optional<int64_t>(static_cast<int64_t>(u));
      }
      if (t.Is("(")) {
        ++p;
        CONFIDE_ASSIGN_OR_RETURN(auto v, Binary(0, depth + 1));
        if (!At(")")) return self->ErrorAt(Cur(), "expected `)` in a constant expression, got " + Cur().Describe());
        ++p;
        return v;
      }
      if (t.kind == TokenKind::kNumber) {
        ++p;
        return std::optional<int64_t>(static_cast<int64_t>(t.number));
      }
      if (t.kind == TokenKind::kIdentifier) {
        ++p;
        auto it = local->find(t.text);
        if (it != local->end()) return it->second;
        auto g = self->out_->enum_constants.find(t.text);
        if (g != self->out_->enum_constants.end()) return g->second;
        return std::optional<int64_t>();
      }
      return self->ErrorAt(t, "unexpected " + t.Describe() + " in a constant expression");
    }

    Result<std::optional<int64_t>> Binary(int min_prec, int depth) {
      if (depth > kMaxExpressionDepth) return self->ErrorAt(Cur(), "constant expression nested too deeply");
      CONFIDE_ASSIGN_OR_RETURN(auto lhs, Unary(depth + 1));
      while (p < end && self->t_[p].kind == TokenKind::kPunct && Prec(self->t_[p].text) > min_prec) {
        const Token& op = self->t_[p];
        int prec = Prec(op.text);
        ++p;
        CONFIDE_ASSIGN_OR_RETURN(auto rhs, Binary(prec, depth + 1));
        if (!lhs || !rhs) {
          lhs = std::nullopt;
          continue;
        }
        int64_t a = *lhs, b = *rhs, r = 0;
        bool bad = false;
        const std::string& o = op.text;
        if (o == "+") bad = __builtin_add_overflow(a, b, &r);
        else if (o == "-") bad = __builtin_sub_overflow(a, b, &r);
        else if (o == "*") bad = __builtin_mul_overflow(a, b, &r);
        else if (o == "/" || o == "%") {
          if (b == 0) return self->ErrorAt(op, "division by zero in a constant expression");
          if (a == INT64_MIN && b == -1) bad = true;
          else r = o == "/" ? a / b : a % b;
        } else if (o == "<<" || o == ">>") {
          if (b < 0 || b > 63) return self->ErrorAt(op, "shift by " + std::to_string(b) + " is out of range 0..63");
          r = o == "<<" ? static_cast<int64_t>(static_cast<uint64_t>(a) << b) : (a >> b);
        } else if (o == "&") r = a & b;
        else if (o == "^") r = a ^ b;
        else if (o == "|") r = a | b;
        if (bad) return self->ErrorAt(op, "overflow in a constant expression");
        lhs = r;
      }
      return lhs;
    }
  };

  Status StructOrUnionDef() {
    const Token& kw = Next();
    bool is_struct = kw.text == "struct";
    UserType ty;
    ty.kind = is_struct ? UserType::Kind::kStruct : UserType::Kind::kUnion;
    ty.location = Loc(kw);
    CONFIDE_ASSIGN_OR_RETURN(Token name, ExpectIdentifier("a " + kw.text + " name"));
    ty.name = name.text;
    ty.location = Loc(name);
    CONFIDE_RETURN_IF_ERROR(Expect("{"));
    while (!Peek().Is("}")) {
      if (Peek().kind == TokenKind::kEof) return ErrorHere("expected `}` to close " + kw.text + " `" + ty.name + "`, got end of file");
      CONFIDE_ASSIGN_OR_RETURN(
          Declaration d, ParseDecl(is_struct ? DeclContext::kStructMember : DeclContext::kUnionMember));
      ty.fields.push_back(std::move(d));
      if (Peek().Is("}")) break;  // OE accepts a last member without ';'
      CONFIDE_RETURN_IF_ERROR(Expect(";"));
    }
    Next();
    CONFIDE_RETURN_IF_ERROR(Expect(";"));
    if (ty.fields.empty()) {
      return ErrorAt(name, kw.text + " `" + ty.name + "` has no members; C does not allow an empty " + kw.text);
    }
    CONFIDE_RETURN_IF_ERROR(AddType(ty, nullptr));
    own_types_.push_back(out_->types.size() - 1);
    return Status::Ok();
  }

  // ---- trusted / untrusted ----
  Status Block() {
    const Token& kw = Next();
    bool trusted = kw.text == "trusted";
    CONFIDE_RETURN_IF_ERROR(Expect("{"));
    while (!Peek().Is("}")) {
      if (Peek().kind == TokenKind::kEof) {
        return ErrorHere("expected `}` to close `" + kw.text + " {`, got end of file");
      }
      if (Peek().kind == TokenKind::kIdentifier && Peek().text == "include") {
        CONFIDE_RETURN_IF_ERROR(Include());
        continue;
      }
      CONFIDE_RETURN_IF_ERROR(FunctionDecl(trusted));
    }
    Next();
    return Expect(";");
  }

  Status FunctionDecl(bool trusted) {
    Function f;
    f.is_trusted = trusted;
    if (Peek().kind == TokenKind::kIdentifier && Peek().text == "public") {
      if (!trusted) return ErrorHere("`public` is only valid on trusted functions (ecalls)");
      Next();
      f.is_public = true;
    }
    if (Peek().Is("[")) {
      if (trusted) {
        return ErrorHere("function attributes such as [cdecl] are only valid on untrusted functions");
      }
      CONFIDE_RETURN_IF_ERROR(FunctionAttributes(f));
    }
    CONFIDE_ASSIGN_OR_RETURN(f.return_type, ParseType());
    if (Peek().Is("[")) return ErrorHere("a function cannot return an array; return a pointer or use an [out] parameter");
    CONFIDE_ASSIGN_OR_RETURN(Token name, ExpectIdentifier("a function name"));
    f.name = name.text;
    f.location = Loc(name);
    CONFIDE_RETURN_IF_ERROR(Expect("("));
    if (Peek().kind == TokenKind::kIdentifier && Peek().text == "void" && Peek(1).Is(")")) Next();
    while (!Peek().Is(")")) {
      CONFIDE_ASSIGN_OR_RETURN(Declaration d, ParseDecl(DeclContext::kParam));
      f.params.push_back(std::move(d));
      if (Peek().Is(")")) break;
      if (!Peek().Is(",")) {
        return ErrorHere("expected `,` or `)` in the parameter list of `" + f.name + "`, got " +
                         Peek().Describe());
      }
      Next();
    }
    Next();  // ')'
    if (Peek().kind == TokenKind::kIdentifier && Peek().text == "allow") {
      if (trusted) {
        return ErrorHere("allow(...) is only valid on untrusted functions (ocalls); it names the "
                         "ecalls the host may make while that ocall runs");
      }
      Next();
      CONFIDE_RETURN_IF_ERROR(Expect("("));
      while (!Peek().Is(")")) {
        CONFIDE_ASSIGN_OR_RETURN(Token n, ExpectIdentifier("an ecall name in allow(...)"));
        f.allow.push_back(n.text);
        f.allow_locations.push_back(Loc(n));
        if (Peek().Is(")")) break;
        CONFIDE_RETURN_IF_ERROR(Expect(","));
      }
      Next();
    }
    while (Peek().kind == TokenKind::kIdentifier) {
      const Token& s = Peek();
      if (s.text == "transition_using_threads") {
        if (f.transition_using_threads) return ErrorHere("duplicated `transition_using_threads`");
        f.transition_using_threads = true;
      } else if (s.text == "propagate_errno") {
        if (trusted) return ErrorHere("`propagate_errno` is only valid on untrusted functions (ocalls)");
        if (f.propagate_errno) return ErrorHere("duplicated `propagate_errno`");
        f.propagate_errno = true;
      } else if (s.text == "switchless") {
        return ErrorHere("`switchless` is not an EDL keyword; Intel's and OE's edger8r both spell it "
                         "`transition_using_threads`");
      } else if (s.text == "allow") {
        return ErrorHere("allow(...) must come before `transition_using_threads` / `propagate_errno`");
      } else {
        break;
      }
      Next();
    }
    if (!Peek().Is(";")) {
      return ErrorHere("expected `;` after the declaration of `" + f.name + "`, got " + Peek().Describe());
    }
    Next();
    CONFIDE_RETURN_IF_ERROR(AddFunction(f, false, nullptr));
    return Status::Ok();
  }

  Status FunctionAttributes(Function& f) {
    const Token& open = Next();
    if (Peek().Is("]")) return ErrorAt(open, "empty attribute list `[]`");
    while (true) {
      CONFIDE_ASSIGN_OR_RETURN(Token a, ExpectIdentifier("a function attribute"));
      CallingConvention cc = CallingConvention::kNone;
      if (a.text == "cdecl") cc = CallingConvention::kCdecl;
      else if (a.text == "stdcall") cc = CallingConvention::kStdcall;
      else if (a.text == "fastcall") cc = CallingConvention::kFastcall;
      else if (a.text == "dllimport") {
        if (f.dllimport) return ErrorAt(a, "duplicated function attribute `dllimport`");
        f.dllimport = true;
      } else {
        return ErrorAt(a, "unknown function attribute `" + a.text +
                              "`; expected cdecl, stdcall, fastcall or dllimport");
      }
      if (cc != CallingConvention::kNone) {
        if (f.calling_convention != CallingConvention::kNone) {
          return ErrorAt(a, "more than one calling convention on one function");
        }
        f.calling_convention = cc;
      }
      if (Peek().Is("]")) break;
      CONFIDE_RETURN_IF_ERROR(Expect(","));
    }
    Next();
    return Status::Ok();
  }

  Status CheckOwnDeclarations() {
    Checker checker(out_->types, out_->warnings);
    for (size_t i : own_types_) CONFIDE_RETURN_IF_ERROR(checker.CheckType(out_->types[i]));
    for (const auto* list : {&own_trusted_, &own_untrusted_}) {
      for (const Function& f : *list) CONFIDE_RETURN_IF_ERROR(checker.CheckFunction(f));
    }
    return Status::Ok();
  }

  std::vector<Token> t_;
  size_t pos_ = 0;
  std::string path_;
  Loader& loader_;
  std::shared_ptr<ResolvedFile> out_;
  std::vector<size_t> own_types_;
  std::vector<Function> own_trusted_, own_untrusted_, imported_trusted_, imported_untrusted_;
};

}  // namespace

Result<std::string> ReadEdlText(const std::string& path) {
  std::error_code ec;
  fs::file_status st = fs::status(path, ec);
  if (ec || !fs::exists(st)) return NotFound(path + ": error: EDL file not found");
  if (!fs::is_regular_file(st)) return InvalidArgument(path + ": error: not a regular file");
  uintmax_t size = fs::file_size(path, ec);
  if (ec) return IoError(path + ": error: cannot read the size of the file: " + ec.message());
  if (size > kMaxEdlFileSize) {
    return InvalidArgument(path + ": error: file is " + std::to_string(size) +
                           " bytes; an EDL file may be at most 16 MiB");
  }
  std::ifstream in(path, std::ios::binary);
  if (!in) return IoError(path + ": error: cannot open the file for reading");
  std::ostringstream ss;
  ss << in.rdbuf();
  if (in.bad()) return IoError(path + ": error: reading the file failed");
  return ss.str();
}

Result<std::shared_ptr<const ResolvedFile>> Loader::Parse(std::string_view text, const std::string& path,
                                                          const std::string& key) {
  auto cached = cache_.find(key);
  if (cached != cache_.end()) return cached->second;
  CONFIDE_ASSIGN_OR_RETURN(std::vector<Token> tokens, Tokenize(text, path, options_.defines));
  stack_.emplace_back(key, path);
  Parser parser(std::move(tokens), path, *this);
  auto result = parser.Run();
  stack_.pop_back();
  if (!result.ok()) return result.status();
  cache_[key] = result.value();
  return result;
}

Result<std::shared_ptr<const ResolvedFile>> Loader::Import(const std::string& name,
                                                           const SourceLocation& from) {
  std::vector<std::string> candidates;
  fs::path p(name);
  if (p.is_absolute()) {
    candidates.push_back(name);
  } else {
    for (const std::string& dir : options_.search_paths) candidates.push_back((fs::path(dir) / p).string());
    fs::path importer_dir = fs::path(from.file).parent_path();
    candidates.push_back((importer_dir / p).string());
    candidates.push_back(name);
  }
  std::vector<std::string> unique;
  for (const std::string& c : candidates) {
    if (std::find(unique.begin(), unique.end(), c) == unique.end()) unique.push_back(c);
  }
  candidates = std::move(unique);
  for (const std::string& c : candidates) {
    std::error_code ec;
    if (!fs::is_regular_file(c, ec)) continue;
    std::string key = fs::weakly_canonical(c, ec).string();
    if (ec) key = c;
    for (size_t i = 0; i < stack_.size(); ++i) {
      if (stack_[i].first == key) {
        std::string chain;
        for (size_t j = i; j < stack_.size(); ++j) chain += stack_[j].second + " -> ";
        chain += c;
        return ErrorAt(from.file, from.line, from.column,
                       "import cycle: " + chain + "; EDL imports must not form a cycle");
      }
    }
    CONFIDE_ASSIGN_OR_RETURN(std::string text, ReadEdlText(c));
    return Parse(text, c, key);
  }
  std::string searched;
  for (size_t i = 0; i < candidates.size(); ++i) {
    if (i) searched += ", ";
    searched += candidates[i];
  }
  return Status(Code::kNotFound,
                ErrorAt(from.file, from.line, from.column,
                        "cannot find imported file \"" + name + "\" (tried " + searched +
                            "); add its directory with --search-path")
                    .message());
}

}  // namespace confide::edl::internal
