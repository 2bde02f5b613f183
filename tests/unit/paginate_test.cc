#include "service/paginate.h"

#include <gtest/gtest.h>

#include <boost/json/value.hpp>
#include <cstdint>
#include <string>
#include <vector>

#include "service/filter.h"

namespace drover::api {
namespace {

namespace json = boost::json;

struct Alloc {
  std::uint64_t create_index;
  std::string id;
  std::string status;
};

// A listing in the store's order, with the JSON the filter sees.
class Listing {
 public:
  explicit Listing(std::vector<Alloc> allocs) : allocs_(std::move(allocs)) {
    for (const Alloc& alloc : allocs_) {
      objects_.push_back(json::object{{"ID", alloc.id},
                                      {"CreateIndex", alloc.create_index},
                                      {"ClientStatus", alloc.status}});
    }
    for (std::size_t i = 0; i < allocs_.size(); ++i) {
      items_.push_back(
          {PageToken::CreateIndexAndId(allocs_[i].create_index, allocs_[i].id), &objects_[i]});
    }
  }

  // Items point into objects_, which a move keeps in place and a copy would not.
  Listing(const Listing&) = delete;
  Listing(Listing&&) = default;

  Listing Reversed() const { return Listing(std::vector<Alloc>(allocs_.rbegin(), allocs_.rend())); }

  // The IDs on one page.
  std::vector<std::string> Ids(const Page& page) const {
    std::vector<std::string> ids;
    for (std::size_t index : page.items) ids.push_back(allocs_[index].id);
    return ids;
  }

  Page MustPaginate(const PageOptions& options) const {
    Result<Page> page = Paginate(items_, options);
    EXPECT_TRUE(page.ok()) << page.status().ToString();
    return page.ok() ? std::move(page).value() : Page{};
  }

  // Follows next tokens from the first page to the last.
  std::vector<std::vector<std::string>> AllPages(PageOptions options) const {
    std::vector<std::vector<std::string>> pages;
    options.next_token.clear();
    do {
      const Page page = MustPaginate(options);
      pages.push_back(Ids(page));
      options.next_token = page.next_token;
    } while (!options.next_token.empty() && pages.size() < 100);
    return pages;
  }

  const std::vector<PageItem>& items() const { return items_; }

 private:
  std::vector<Alloc> allocs_;
  std::vector<json::value> objects_;
  std::vector<PageItem> items_;
};

// CreateIndex 9 < 12 < 102 numerically, though not as text; 12 has three
// allocations, ordered by ID.
Listing Allocs() {
  return Listing({{5, "e1", "running"},
                  {9, "d1", "pending"},
                  {12, "a1", "running"},
                  {12, "b1", "failed"},
                  {12, "c1", "running"},
                  {102, "a2", "running"},
                  {110, "f1", "complete"}});
}

using Pages = std::vector<std::vector<std::string>>;

TEST(PageTokenTest, JoinsFieldsWithDots) {
  EXPECT_EQ(PageToken::Id("a1").text(), "a1");
  EXPECT_EQ(PageToken::CreateIndexAndId(12, "a1").text(), "12.a1");
  EXPECT_EQ(PageToken::NamespaceAndId("default", "web.v2").text(), "default.web.v2");
}

TEST(PageTokenTest, ComparesFieldByFieldAndNumbersAsNumbers) {
  const PageToken token = PageToken::CreateIndexAndId(12, "b1");
  EXPECT_EQ(token.Compare("12.b1"), 0);
  EXPECT_GT(token.Compare("9.z"), 0);     // 12 > 9, though "12" < "9"
  EXPECT_LT(token.Compare("102.a"), 0);   // 12 < 102, though "12" > "102"
  EXPECT_GT(token.Compare("12.a1"), 0);
  EXPECT_LT(token.Compare("12.c1"), 0);
  EXPECT_EQ(token.Compare("12"), 0);      // a legacy token compares its fields only
  EXPECT_LT(token.Compare("x.b1"), 0);    // not a number: "12.b1" < "x.b1" as text
  EXPECT_GT(token.Compare("-1.b1"), 0);   // ParseUint rejects signs: "12.b1" > "-1.b1"
}

TEST(PageTokenTest, OnlyTheLastFieldMayContainDots) {
  const PageToken job = PageToken::NamespaceAndId("team", "web.v2");
  EXPECT_EQ(job.Compare("team.web.v2"), 0);
  EXPECT_LT(job.Compare("team.web.v3"), 0);
  // Field by field: namespace "team" sorts before "team-a" whatever the ID.
  EXPECT_LT(job.Compare("team-a.a"), 0);
  EXPECT_EQ(PageToken::Id("a.b.c").Compare("a.b.c"), 0);
}

TEST(PaginateTest, PerPageZeroReturnsEverything) {
  const Listing listing = Allocs();
  const Page page = listing.MustPaginate({});
  EXPECT_EQ(listing.Ids(page),
            (std::vector<std::string>{"e1", "d1", "a1", "b1", "c1", "a2", "f1"}));
  EXPECT_EQ(page.next_token, "");
}

TEST(PaginateTest, NextTokenIsTheFirstItemOfTheNextPage) {
  const Listing listing = Allocs();
  const Page first = listing.MustPaginate({.per_page = 3, .next_token = ""});
  EXPECT_EQ(listing.Ids(first), (std::vector<std::string>{"e1", "d1", "a1"}));
  EXPECT_EQ(first.next_token, "12.b1");

  const Page second = listing.MustPaginate({.per_page = 3, .next_token = first.next_token});
  EXPECT_EQ(listing.Ids(second), (std::vector<std::string>{"b1", "c1", "a2"}));
  EXPECT_EQ(second.next_token, "110.f1");

  const Page last = listing.MustPaginate({.per_page = 3, .next_token = second.next_token});
  EXPECT_EQ(listing.Ids(last), (std::vector<std::string>{"f1"}));
  EXPECT_EQ(last.next_token, "");
}

TEST(PaginateTest, AFullLastPageHasNoNextToken) {
  const Listing listing({{1, "a", "running"}, {2, "b", "running"}});
  const Page page = listing.MustPaginate({.per_page = 2, .next_token = ""});
  EXPECT_EQ(listing.Ids(page), (std::vector<std::string>{"a", "b"}));
  EXPECT_EQ(page.next_token, "");
}

TEST(PaginateTest, WalksEveryPage) {
  EXPECT_EQ(Allocs().AllPages({.per_page = 2, .next_token = ""}),
            (Pages{{"e1", "d1"}, {"a1", "b1"}, {"c1", "a2"}, {"f1"}}));
}

TEST(PaginateTest, NextTokenOfAVanishedItemResumesAtTheNextOne) {
  const Listing listing = Allocs();
  // "12.bb" was deleted between two requests: resume at the next token up.
  EXPECT_EQ(listing.Ids(listing.MustPaginate({.per_page = 2, .next_token = "12.bb"})),
            (std::vector<std::string>{"c1", "a2"}));
  // Numeric order: 10 sorts after 9, so resume at 12.
  EXPECT_EQ(listing.Ids(listing.MustPaginate({.per_page = 1, .next_token = "10.a"})),
            (std::vector<std::string>{"a1"}));
  // Past the end: an empty page.
  const Page past = listing.MustPaginate({.per_page = 2, .next_token = "999.a"});
  EXPECT_TRUE(past.items.empty());
  EXPECT_EQ(past.next_token, "");
}

TEST(PaginateTest, LegacyTokenWithoutIdStartsAtThatIndex) {
  const Listing listing = Allocs();
  EXPECT_EQ(listing.Ids(listing.MustPaginate({.per_page = 2, .next_token = "12"})),
            (std::vector<std::string>{"a1", "b1"}));
}

TEST(PaginateTest, ReverseSkipsTokensAfterNextToken) {
  const Listing reversed = Allocs().Reversed();
  const Page first = reversed.MustPaginate({.per_page = 3, .next_token = "", .reverse = true});
  EXPECT_EQ(reversed.Ids(first), (std::vector<std::string>{"f1", "a2", "c1"}));
  EXPECT_EQ(first.next_token, "12.b1");
  const Page second =
      reversed.MustPaginate({.per_page = 3, .next_token = first.next_token, .reverse = true});
  EXPECT_EQ(reversed.Ids(second), (std::vector<std::string>{"b1", "a1", "d1"}));
  EXPECT_EQ(second.next_token, "5.e1");
  // Resuming from a vanished token goes down, not up.
  EXPECT_EQ(reversed.Ids(reversed.MustPaginate(
                {.per_page = 1, .next_token = "12.bb", .reverse = true})),
            (std::vector<std::string>{"b1"}));
}

TEST(PaginateTest, FilteredOutItemsDoNotCountTowardsPerPage) {
  const Result<Filter> running = Filter::Parse(R"(ClientStatus == "running")");
  ASSERT_TRUE(running.ok());
  const Listing listing = Allocs();
  const PageOptions options = {
      .per_page = 2, .next_token = "", .reverse = false, .filter = &*running};
  const Page first = listing.MustPaginate(options);
  EXPECT_EQ(listing.Ids(first), (std::vector<std::string>{"e1", "a1"}));
  // The next token names the next item that passes, not b1 which follows a1.
  EXPECT_EQ(first.next_token, "12.c1");
  EXPECT_EQ(listing.AllPages(options), (Pages{{"e1", "a1"}, {"c1", "a2"}}));
}

TEST(PaginateTest, FilterAndReverseTogether) {
  const Result<Filter> filter = Filter::Parse(R"(ClientStatus != "pending")");
  ASSERT_TRUE(filter.ok());
  const Listing reversed = Allocs().Reversed();
  EXPECT_EQ(reversed.AllPages(
                {.per_page = 2, .next_token = "", .reverse = true, .filter = &*filter}),
            (Pages{{"f1", "a2"}, {"c1", "b1"}, {"a1", "e1"}}));
  const Page page = reversed.MustPaginate(
      {.per_page = 2, .next_token = "12.c1", .reverse = true, .filter = &*filter});
  EXPECT_EQ(reversed.Ids(page), (std::vector<std::string>{"c1", "b1"}));
  EXPECT_EQ(page.next_token, "12.a1");
}

TEST(PaginateTest, FilterErrorFailsThePage) {
  const Result<Filter> filter = Filter::Parse("Missing == 1");
  ASSERT_TRUE(filter.ok());
  const Result<Page> page = Paginate(
      Allocs().items(), {.per_page = 2, .next_token = "", .reverse = false, .filter = &*filter});
  ASSERT_FALSE(page.ok());
  EXPECT_EQ(page.status().code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(page.status().message().rfind("failed to read result page: error finding value", 0),
            0u)
      << page.status().message();
}

TEST(PaginateTest, ItemsBeforeTheNextTokenAreNotFiltered) {
  // The filter would fail on every item; none is reached.
  const Result<Filter> filter = Filter::Parse("Missing == 1");
  ASSERT_TRUE(filter.ok());
  const Result<Page> page =
      Paginate(Allocs().items(),
               {.per_page = 2, .next_token = "999.a", .reverse = false, .filter = &*filter});
  ASSERT_TRUE(page.ok()) << page.status().ToString();
  EXPECT_TRUE(page->items.empty());
}

TEST(PaginateTest, NegativePerPageGivesAnEmptyPageAsInNomad) {
  const Listing listing = Allocs();
  const Page page = listing.MustPaginate({.per_page = -1, .next_token = "12.b1"});
  EXPECT_TRUE(page.items.empty());
  EXPECT_EQ(page.next_token, "12.b1");
}

TEST(PaginateTest, PrefixListingsUseIdTokens) {
  const json::value object = json::object{{"ClientStatus", "running"}};
  const std::vector<PageItem> items = {{PageToken::Id("a1"), &object},
                                       {PageToken::Id("a2"), &object},
                                       {PageToken::Id("a3"), &object}};
  const Result<Page> page = Paginate(items, {.per_page = 1, .next_token = "a2"});
  ASSERT_TRUE(page.ok());
  EXPECT_EQ(page->items, (std::vector<std::size_t>{1}));
  EXPECT_EQ(page->next_token, "a3");
}

TEST(PaginateTest, EmptyListing) {
  const Result<Page> page = Paginate({}, {.per_page = 5, .next_token = "1.a"});
  ASSERT_TRUE(page.ok());
  EXPECT_TRUE(page->items.empty());
  EXPECT_EQ(page->next_token, "");
}

TEST(ParsePerPageTest, AcceptsWhatStrconvParseIntAccepts) {
  const std::pair<const char*, std::int32_t> cases[] = {
      {"0", 0},   {"10", 10}, {"+5", 5}, {"-1", -1}, {"007", 7},
      {"2147483647", 2147483647}, {"-2147483648", -2147483647 - 1}};
  for (const auto& [text, expected] : cases) {
    const Result<std::int32_t> per_page = ParsePerPage(text);
    ASSERT_TRUE(per_page.ok()) << text;
    EXPECT_EQ(*per_page, expected) << text;
  }
}

TEST(ParsePerPageTest, RejectsTheRestWithNomadsMessage) {
  for (const char* text :
       {"", "abc", "1.5", " 1", "1 ", "1_000", "0x10", "+", "-", "2147483648", "-2147483649",
        "99999999999999999999"}) {
    const Result<std::int32_t> per_page = ParsePerPage(text);
    ASSERT_FALSE(per_page.ok()) << text;
    EXPECT_EQ(per_page.status(),
              InvalidArgument("Expect a number for `per_page` query string parameter"));
  }
}

TEST(ValidateIDPrefixTest, AcceptsEvenHexWithUpToFourHyphens) {
  for (const char* prefix : {"", "ab", "e3671fa4", "e3671fa4-21", "E3671FA4-21B2",
                             "8f2e6c1a-4b5d-4e7f-9a0b-1c2d3e4f5a6b", "-ab-"}) {
    EXPECT_TRUE(ValidateIDPrefix(prefix).ok()) << prefix;
  }
}

TEST(ValidateIDPrefixTest, ReportsMemdbsErrors) {
  const std::pair<const char*, const char*> cases[] = {
      {"abc", "index error: Input (without hyphens) must be even length"},
      {"e3671fa4-2", "index error: Input (without hyphens) must be even length"},
      {"zz", "index error: Invalid UUID: encoding/hex: invalid byte: U+007A 'z'"},
      {"a-b-c-d-e-f", "index error: UUID should have maximum of 4 \"-\"; got 5"},
      {"8f2e6c1a-4b5d-4e7f-9a0b-1c2d3e4f5a6b0",
       "index error: Invalid UUID length. UUID have 36 characters; got 37"},
      {"ab\x01" "c", "index error: Invalid UUID: encoding/hex: invalid byte: U+0001"},
      {"\xc3\xa9", "index error: Invalid UUID: encoding/hex: invalid byte: U+00C3 '\xc3\x83'"},
  };
  for (const auto& [prefix, message] : cases) {
    EXPECT_EQ(ValidateIDPrefix(prefix), Internal(message)) << prefix;
  }
}

}  // namespace
}  // namespace drover::api
