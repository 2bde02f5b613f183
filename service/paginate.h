// Nomad's list pagination (nomad/state/paginator): `per_page`,
// `next_token`, `reverse` and `filter` over a listing in the store's order.
//
// A page holds up to per_page items that pass the filter, starting at the
// first item whose token is not before next_token (not after it when
// reverse). The next token is the token of the first passing item after
// the page, "" on the last page. Errors map to Nomad's replies:
//   - Filter::Parse fails: 400 "failed to create result paginator: failed
//     to read filter expression: <error>" (the caller annotates);
//   - the filter fails on an item: Paginate returns InvalidArgument
//     "failed to read result page: <error>".
#pragma once

#include <boost/json/fwd.hpp>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"

namespace drover {

class Filter;

// An item's place in a listing, shown to clients as X-Nomad-NextToken.
// Fields are joined with "." and compared one by one, numbers as numbers,
// so the order matches the store's iteration order.
class PageToken {
 public:
  // Listings by ID prefix: "<ID>".
  static PageToken Id(std::string id);
  // Chronological listings (allocations, evaluations): "<CreateIndex>.<ID>".
  static PageToken CreateIndexAndId(std::uint64_t create_index, std::string id);
  // Listings by namespace (jobs): "<Namespace>.<ID>".
  static PageToken NamespaceAndId(std::string ns, std::string id);

  const std::string& text() const { return text_; }

  // Negative, zero or positive as this token sorts before, with or after
  // `target`, a token from a client. A target with fewer fields compares
  // only those; a malformed number falls back to comparing the texts.
  int Compare(std::string_view target) const;

 private:
  struct Field {
    std::string text;
    std::optional<std::uint64_t> number;  // set for numeric fields
  };

  explicit PageToken(std::vector<Field> fields);

  std::vector<Field> fields_;
  std::string text_;
};

struct PageOptions {
  // 0 means no limit. Negative values are accepted, as Nomad does, and give
  // an empty page whose next token is the first passing item's.
  std::int32_t per_page = 0;
  std::string next_token;
  bool reverse = false;  // the items come in descending order
  const Filter* filter = nullptr;
};

struct PageItem {
  PageToken token;
  const boost::json::value* object = nullptr;  // what the filter sees; required with one
};

struct Page {
  std::vector<std::size_t> items;  // indices into the input, in input order
  std::string next_token;          // "" on the last page
};

// Cuts one page out of `items`, which are in the listing's order (already
// reversed when options.reverse).
Result<Page> Paginate(std::span<const PageItem> items, const PageOptions& options);

// Parses `per_page` as Nomad does (a base-10 int32, sign allowed). Error:
// InvalidArgument "Expect a number for `per_page` query string parameter".
Result<std::int32_t> ParsePerPage(std::string_view text);

// Checks an ID `prefix` the way Nomad's state store (go-memdb's
// UUIDFieldIndex) does before a prefix scan: at most 36 characters, at most
// 4 hyphens, an even number of hex digits once hyphens are removed. The
// message is memdb's ("index error: Input (without hyphens) must be even
// length"); the caller adds the table's context, as Nomad does with "alloc
// lookup failed". Nomad answers these with 500, so the code is kInternal.
Status ValidateIDPrefix(std::string_view prefix);

}  // namespace drover
