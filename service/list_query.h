// What a list query asks, below HTTP: Nomad's `filter`, `per_page`,
// `next_token` and `reverse` (ListOptions), and which namespaces the asker
// may see (NamespaceView). The API parses them from a request
// (api/list_query.h); the service queries (service/queries.h) apply them
// with PageObjects (service/page_objects.h).
#pragma once

#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "service/acl_policy.h"
#include "service/filter.h"

namespace drover {

struct ListOptions {
  std::optional<Filter> filter;
  std::int32_t per_page = 0;
  std::string next_token;
  bool reverse = false;
};

// The namespaces a list shows: the requested one ("*" for every one),
// narrowed to those where `acl` holds `capability`.
class NamespaceView {
 public:
  NamespaceView(std::string ns, std::shared_ptr<const Acl> acl, std::string capability)
      : ns_(std::move(ns)), acl_(std::move(acl)), capability_(std::move(capability)) {}
  bool Shows(std::string_view item_ns) const {
    return (ns_ == "*" || item_ns == ns_) && acl_->AllowNamespaceOp(item_ns, capability_);
  }

 private:
  std::string ns_;
  std::shared_ptr<const Acl> acl_;
  std::string capability_;
};

}  // namespace drover
