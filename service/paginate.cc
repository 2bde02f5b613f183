#include "service/paginate.h"

#include <algorithm>
#include <cassert>
#include <charconv>
#include <cstdio>
#include <limits>
#include <utility>

#include "service/filter.h"

namespace drover {
namespace {

template <typename T>
bool ParseWhole(std::string_view text, T& out) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), out);
  return error == std::errc() && end == text.data() + text.size();
}

// Go's strconv.ParseUint(text, 10, 64): digits only.
std::optional<std::uint64_t> ParseGoUint(std::string_view text) {
  std::uint64_t value = 0;
  if (text.empty() || !std::all_of(text.begin(), text.end(), [](char c) {
        return c >= '0' && c <= '9';
      })) {
    return std::nullopt;
  }
  if (!ParseWhole(text, value)) return std::nullopt;
  return value;
}

template <typename T>
int Sign(const T& a, const T& b) {
  return a < b ? -1 : (b < a ? 1 : 0);
}

// Go's strings.SplitN(text, ".", limit) for limit > 0.
std::vector<std::string_view> SplitN(std::string_view text, std::size_t limit) {
  std::vector<std::string_view> parts;
  while (parts.size() + 1 < limit) {
    const std::size_t dot = text.find('.');
    if (dot == std::string_view::npos) break;
    parts.push_back(text.substr(0, dot));
    text.remove_prefix(dot + 1);
  }
  parts.push_back(text);
  return parts;
}

bool IsHexDigit(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f') || (c >= 'A' && c <= 'F');
}

// Go's fmt "%#U" of rune(byte), as encoding/hex's InvalidByteError prints
// it: "U+0067 'g'", the quoted character only when strconv.IsPrint.
std::string GoRuneText(unsigned char byte) {
  char code[8];
  std::snprintf(code, sizeof code, "U+%04X", byte);
  const bool printable = (byte >= 0x20 && byte <= 0x7E) || (byte >= 0xA1 && byte != 0xAD);
  if (!printable) return code;
  std::string character;
  if (byte < 0x80) {
    character += static_cast<char>(byte);
  } else {
    character += static_cast<char>(0xC0 | (byte >> 6));
    character += static_cast<char>(0x80 | (byte & 0x3F));
  }
  return std::string(code) + " '" + character + "'";
}

Status PrefixError(const std::string& message) {
  return Internal("index error: " + message);
}

}  // namespace

// ---- PageToken -------------------------------------------------------------------

PageToken::PageToken(std::vector<Field> fields) : fields_(std::move(fields)) {
  for (std::size_t i = 0; i < fields_.size(); ++i) {
    if (i > 0) text_ += '.';
    text_ += fields_[i].text;
  }
}

PageToken PageToken::Id(std::string id) { return PageToken({{std::move(id), std::nullopt}}); }

PageToken PageToken::CreateIndexAndId(std::uint64_t create_index, std::string id) {
  return PageToken({{std::to_string(create_index), create_index}, {std::move(id), std::nullopt}});
}

PageToken PageToken::NamespaceAndId(std::string ns, std::string id) {
  return PageToken({{std::move(ns), std::nullopt}, {std::move(id), std::nullopt}});
}

int PageToken::Compare(std::string_view target) const {
  // Only the last field may contain "." (IDs can); it takes the remainder.
  const std::vector<std::string_view> segments = SplitN(target, fields_.size());
  for (std::size_t i = 0; i < fields_.size() && i < segments.size(); ++i) {
    const Field& field = fields_[i];
    int order = 0;
    if (field.number) {
      const std::optional<std::uint64_t> wanted = ParseGoUint(segments[i]);
      if (!wanted) return Sign(std::string_view(text_), target);
      order = Sign(*field.number, *wanted);
    } else {
      order = Sign(std::string_view(field.text), segments[i]);
    }
    if (order != 0) return order;
  }
  return 0;
}

// ---- Paginate ----------------------------------------------------------------------

Result<Page> Paginate(std::span<const PageItem> items, const PageOptions& options) {
  Page page;
  bool found_start = options.next_token.empty();
  std::int64_t passed = 0;
  for (std::size_t i = 0; i < items.size(); ++i) {
    const PageItem& item = items[i];
    if (!found_start) {
      const int order = item.token.Compare(options.next_token);
      if (options.reverse ? order > 0 : order < 0) continue;
    }
    if (options.filter != nullptr) {
      assert(item.object != nullptr && "a filtered page needs each item's JSON");
      const Result<bool> keep = options.filter->Evaluate(*item.object);
      if (!keep.ok()) return keep.status().Annotate("failed to read result page");
      if (!*keep) continue;
    }
    // Once the start is found, later items are not compared again: the
    // input is trusted to be in order.
    found_start = true;
    if (options.per_page != 0 && ++passed > options.per_page) {
      page.next_token = item.token.text();
      return page;
    }
    page.items.push_back(i);
  }
  return page;
}

Result<std::int32_t> ParsePerPage(std::string_view text) {
  std::string_view digits = text;
  if (!digits.empty() && (digits.front() == '+' || digits.front() == '-')) {
    digits.remove_prefix(1);
  }
  const std::optional<std::uint64_t> magnitude = ParseGoUint(digits);
  const bool negative = !text.empty() && text.front() == '-';
  const std::uint64_t limit = negative
      ? static_cast<std::uint64_t>(std::numeric_limits<std::int32_t>::max()) + 1
      : std::numeric_limits<std::int32_t>::max();
  if (!magnitude || *magnitude > limit) {
    return InvalidArgument("Expect a number for `per_page` query string parameter");
  }
  const auto value = static_cast<std::int64_t>(*magnitude);
  return static_cast<std::int32_t>(negative ? -value : value);
}

Status ValidateIDPrefix(std::string_view prefix) {
  if (prefix.size() > 36) {
    return PrefixError("Invalid UUID length. UUID have 36 characters; got " +
                       std::to_string(prefix.size()));
  }
  const auto hyphens = std::count(prefix.begin(), prefix.end(), '-');
  if (hyphens > 4) {
    return PrefixError("UUID should have maximum of 4 \"-\"; got " + std::to_string(hyphens));
  }
  if ((prefix.size() - static_cast<std::size_t>(hyphens)) % 2 != 0) {
    return PrefixError("Input (without hyphens) must be even length");
  }
  for (char c : prefix) {
    if (c != '-' && !IsHexDigit(c)) {
      return PrefixError("Invalid UUID: encoding/hex: invalid byte: " +
                         GoRuneText(static_cast<unsigned char>(c)));
    }
  }
  return Status::Ok();
}

}  // namespace drover
