#include "edl/lexer.h"

#include <algorithm>
#include <cstdio>

namespace confide::edl::internal {

Status ErrorAt(const std::string& file, int line, int column, std::string_view message) {
  return InvalidArgument(file + ":" + std::to_string(line) + ":" + std::to_string(column) +
                         ": error: " + std::string(message));
}

std::string WarningAt(const std::string& file, int line, int column, std::string_view message) {
  return file + ":" + std::to_string(line) + ":" + std::to_string(column) +
         ": warning: " + std::string(message);
}

std::string Token::Describe() const {
  switch (kind) {
    case TokenKind::kEof: return "end of file";
    case TokenKind::kString: return "\"" + text + "\"";
    case TokenKind::kNumber: return text;
    default: return "`" + text + "`";
  }
}

namespace {

bool IsIdentStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool IsDigit(char c) { return c >= '0' && c <= '9'; }
bool IsIdentChar(char c) { return IsIdentStart(c) || IsDigit(c); }

std::string Printable(char c) {
  unsigned char u = static_cast<unsigned char>(c);
  if (u >= 0x21 && u < 0x7f) return std::string("'") + c + "'";
  char buf[8];
  std::snprintf(buf, sizeof buf, "0x%02x", u);
  return std::string("byte ") + buf;
}

class Lexer {
 public:
  Lexer(std::string_view text, const std::string& filename,
        const std::vector<std::string>& defines)
      : s_(text), file_(filename), defines_(defines) {}

  Result<std::vector<Token>> Run() {
    std::vector<Token> out;
    while (true) {
      CONFIDE_RETURN_IF_ERROR(SkipSpaceAndComments());
      if (pos_ >= s_.size()) break;
      char c = s_[pos_];
      if (c == '#') {
        CONFIDE_RETURN_IF_ERROR(Directive());
        continue;
      }
      if (!Active()) {
        // Inside an excluded #ifdef region: skip without judging the text, as a C
        // preprocessor would; only a string is skipped whole so a '#' inside it is no directive.
        if (c == '"') {
          Advance();
          while (pos_ < s_.size() && s_[pos_] != '"' && s_[pos_] != '\n') Advance();
          if (pos_ < s_.size() && s_[pos_] == '"') Advance();
        } else {
          Advance();
        }
        continue;
      }
      Token t;
      t.line = line_;
      t.column = col_;
      if (IsIdentStart(c)) {
        size_t start = pos_;
        while (pos_ < s_.size() && IsIdentChar(s_[pos_])) Advance();
        t.kind = TokenKind::kIdentifier;
        t.text = std::string(s_.substr(start, pos_ - start));
      } else if (IsDigit(c)) {
        CONFIDE_RETURN_IF_ERROR(Number(t));
      } else if (c == '"') {
        CONFIDE_RETURN_IF_ERROR(String(t));
      } else {
        static constexpr std::string_view kTwo[] = {"<<", ">>"};
        std::string_view rest = s_.substr(pos_);
        bool two = std::any_of(std::begin(kTwo), std::end(kTwo),
                               [&](std::string_view p) { return rest.substr(0, 2) == p; });
        static constexpr std::string_view kSingles = "{}()[]*,;=+-~|&^/%.";
        if (!two && kSingles.find(c) == std::string_view::npos) {
          return Err("unexpected character " + Printable(c));
        }
        t.kind = TokenKind::kPunct;
        t.text = std::string(rest.substr(0, two ? 2 : 1));
        Advance();
        if (two) Advance();
      }
      out.push_back(std::move(t));
    }
    if (!conds_.empty()) {
      const Cond& c = conds_.back();
      return ErrorAt(file_, c.line, c.column,
                     "#" + c.directive + " is not closed by #endif before the end of the file");
    }
    Token eof;
    eof.kind = TokenKind::kEof;
    eof.line = line_;
    eof.column = col_;
    out.push_back(std::move(eof));
    return out;
  }

 private:
  struct Cond {
    bool taking;     // this branch's condition holds
    bool in_else;
    std::string directive;
    int line, column;
  };

  bool Active() const {
    return std::all_of(conds_.begin(), conds_.end(), [](const Cond& c) { return c.taking; });
  }

  Status Err(std::string_view message) const { return ErrorAt(file_, line_, col_, message); }

  void Advance() {
    if (s_[pos_] == '\n') {
      ++line_;
      col_ = 1;
    } else {
      ++col_;
    }
    ++pos_;
  }

  Status SkipSpaceAndComments() {
    while (pos_ < s_.size()) {
      char c = s_[pos_];
      if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f' || c == '\v') {
        Advance();
      } else if (c == '/' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '/') {
        while (pos_ < s_.size() && s_[pos_] != '\n') Advance();
      } else if (c == '/' && pos_ + 1 < s_.size() && s_[pos_ + 1] == '*') {
        int line = line_, col = col_;
        Advance();
        Advance();
        while (pos_ + 1 < s_.size() && !(s_[pos_] == '*' && s_[pos_ + 1] == '/')) Advance();
        if (pos_ + 1 >= s_.size()) {
          return ErrorAt(file_, line, col, "unterminated comment: `/*` has no matching `*/`");
        }
        Advance();
        Advance();
      } else {
        break;
      }
    }
    return Status::Ok();
  }

  Status Number(Token& t) {
    size_t start = pos_;
    uint64_t v = 0;
    bool hex = s_[pos_] == '0' && pos_ + 1 < s_.size() && (s_[pos_ + 1] == 'x' || s_[pos_ + 1] == 'X');
    bool overflow = false;
    if (hex) {
      Advance();
      Advance();
      size_t digits = 0;
      while (pos_ < s_.size()) {
        char c = s_[pos_];
        int d = IsDigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10
                                       : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
        if (d < 0) break;
        if (v > (UINT64_MAX >> 4)) overflow = true;
        v = (v << 4) | static_cast<uint64_t>(d);
        ++digits;
        Advance();
      }
      if (digits == 0) return ErrorAt(file_, t.line, t.column, "hexadecimal number without digits");
    } else {
      while (pos_ < s_.size() && IsDigit(s_[pos_])) {
        uint64_t d = static_cast<uint64_t>(s_[pos_] - '0');
        if (v > (UINT64_MAX - d) / 10) overflow = true;
        v = v * 10 + d;
        Advance();
      }
    }
    // Accept C integer suffixes (u, l, ul, ull) so values copied from headers still lex.
    while (pos_ < s_.size() && (s_[pos_] == 'u' || s_[pos_] == 'U' || s_[pos_] == 'l' || s_[pos_] == 'L')) {
      Advance();
    }
    if (pos_ < s_.size() && IsIdentChar(s_[pos_])) {
      return ErrorAt(file_, t.line, t.column,
                     "malformed number `" + std::string(s_.substr(start, pos_ - start + 1)) + "`");
    }
    t.text = std::string(s_.substr(start, pos_ - start));
    if (overflow) {
      return ErrorAt(file_, t.line, t.column, "number " + t.text + " does not fit in 64 bits");
    }
    t.kind = TokenKind::kNumber;
    t.number = v;
    return Status::Ok();
  }

  Status String(Token& t) {
    Advance();  // opening quote
    size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != '"' && s_[pos_] != '\n') Advance();
    if (pos_ >= s_.size() || s_[pos_] != '"') {
      return ErrorAt(file_, t.line, t.column, "unterminated string: missing closing `\"` on this line");
    }
    t.kind = TokenKind::kString;
    t.text = std::string(s_.substr(start, pos_ - start));
    Advance();
    return Status::Ok();
  }

  // OE's preprocessor works on tokens, not lines: "trusted # ifdef X {" is valid, so a
  // directive may sit anywhere and its words may be separated by blanks or comments.
  Status Directive() {
    int line = line_, col = col_;
    Advance();  // '#'
    CONFIDE_RETURN_IF_ERROR(SkipSpaceAndComments());
    std::string name = Word();
    std::string arg;
    if (name == "ifdef" || name == "ifndef") {
      CONFIDE_RETURN_IF_ERROR(SkipSpaceAndComments());
      arg = Word();
      if (arg.empty()) return ErrorAt(file_, line, col, "#" + name + " needs a macro name");
    } else if (name != "else" && name != "endif") {
      return ErrorAt(file_, line, col,
                     "unsupported preprocessor directive `#" + name +
                         "`: EDL accepts only #ifdef, #ifndef, #else and #endif");
    }
    if (name == "ifdef" || name == "ifndef") {
      bool defined = std::find(defines_.begin(), defines_.end(), arg) != defines_.end();
      conds_.push_back(Cond{name == "ifdef" ? defined : !defined, false, name, line, col});
    } else if (name == "else") {
      if (conds_.empty() || conds_.back().in_else) {
        return ErrorAt(file_, line, col, "#else without a matching #ifdef or #ifndef");
      }
      conds_.back().taking = !conds_.back().taking;
      conds_.back().in_else = true;
    } else {
      if (conds_.empty()) return ErrorAt(file_, line, col, "#endif without a matching #ifdef or #ifndef");
      conds_.pop_back();
    }
    return Status::Ok();
  }

  std::string Word() {
    size_t start = pos_;
    if (pos_ < s_.size() && IsIdentStart(s_[pos_])) {
      while (pos_ < s_.size() && IsIdentChar(s_[pos_])) Advance();
    }
    return std::string(s_.substr(start, pos_ - start));
  }

  std::string_view s_;
  const std::string& file_;
  const std::vector<std::string>& defines_;
  size_t pos_ = 0;
  int line_ = 1;
  int col_ = 1;
  std::vector<Cond> conds_;
};

}  // namespace

Result<std::vector<Token>> Tokenize(std::string_view text, const std::string& filename,
                                    const std::vector<std::string>& defines) {
  Lexer lexer(text, filename, defines);
  return lexer.Run();
}

}  // namespace confide::edl::internal
