// Tokenizer for EDL, including OE's conditional directives (#ifdef/#ifndef/#else/#endif).
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "confide/edl.h"
#include "confide/status.h"

namespace confide::edl::internal {

enum class TokenKind { kIdentifier, kNumber, kString, kPunct, kEof };

struct Token {
  TokenKind kind = TokenKind::kEof;
  std::string text;     // identifier, punctuation, or string contents without quotes
  uint64_t number = 0;  // kNumber
  int line = 0;
  int column = 0;

  bool Is(std::string_view s) const {
    return (kind == TokenKind::kIdentifier || kind == TokenKind::kPunct) && text == s;
  }
  // How the token reads in an error message: `foo`, `;`, "x.h", end of file.
  std::string Describe() const;
};

// Splits `text` into tokens; the last token is kEof. Comments are dropped and regions
// excluded by #ifdef/#ifndef/#else are skipped according to `defines`.
Result<std::vector<Token>> Tokenize(std::string_view text, const std::string& filename,
                                    const std::vector<std::string>& defines);

// "file:line:col: error: message"
Status ErrorAt(const std::string& file, int line, int column, std::string_view message);
std::string WarningAt(const std::string& file, int line, int column, std::string_view message);

}  // namespace confide::edl::internal
