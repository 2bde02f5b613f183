// Queries: the watches, and the allocation reads.
#include "service/queries.h"

#include <algorithm>
#include <boost/json.hpp>
#include <cstdlib>

#include "service/alloc_stats.h"
#include "service/page_objects.h"
#include "storage/alloc_record.h"
#include "storage/codec.h"
#include "storage/state_store.h"

namespace drover {
namespace {

namespace json = boost::json;

// The chronological listing without a filter: one pass over the stored
// stubs, copying their bytes; nothing is decoded.
Result<QueryReply> StubPage(const StateStore& store, const AllocListRequest& req) {
  const ListOptions& list = req.list;
  QueryReply reply;
  reply.index = store.TableIndex(Table::kAllocs);
  std::string out = "[";
  std::size_t n = 0;
  bool started = list.next_token.empty();
  RETURN_IF_ERROR(store.ScanAllocStubs(
      list.reverse, nullptr, [&](const StateStore::StubEntry& e) {
        if (!started) {
          PageToken token = PageToken::CreateIndexAndId(e.create_index, std::string(e.id));
          int cmp = token.Compare(list.next_token);
          if (list.reverse ? cmp > 0 : cmp < 0) return true;  // before the token
        }
        if (!req.view.Shows(e.stub.ns)) return true;
        started = true;
        if (list.per_page > 0 && n == static_cast<std::size_t>(list.per_page)) {
          reply.next_token =
              PageToken::CreateIndexAndId(e.create_index, std::string(e.id)).text();
          return false;
        }
        if (n++ > 0) out.push_back(',');
        AppendStubJson(e.stub, req.task_states, req.resources, out);
        return true;
      }));
  out.push_back(']');
  reply.text = std::move(out);
  return reply;
}

}  // namespace

Queries::Queries(StateStore& store, const Node& node)
    : store_(store),
      node_(node),
      trees_(std::make_unique<ProcessTreeStats>(MhzPerCore(node))) {}

Queries::~Queries() = default;

std::uint64_t Queries::Floor(const WatchSpec& spec) const {
  std::uint64_t floor = 0;
  for (Table t : spec.tables) floor = std::max(floor, store_.TableIndex(t));
  return floor;
}

WatchId Queries::Watch(const WatchSpec& spec, std::uint64_t floor, std::function<void()> fired) {
  return store_.Watch(spec, floor, std::move(fired));
}

void Queries::CancelWatch(WatchId id) { store_.CancelWatch(id); }

std::uint64_t Queries::LatestIndex() const { return store_.LatestIndex(); }

Result<QueryReply> Queries::ListAllocs(const AllocListRequest& req) const {
  // Chronological with <CreateIndex>.<ID> tokens, or by ID with plain ID
  // tokens when a prefix is given: Nomad's two orders.
  const bool by_id = !req.prefix.empty();
  if (!by_id && !req.list.filter) return StubPage(store_, req);
  QueryReply reply;
  reply.index = store_.TableIndex(Table::kAllocs);
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs,
                   by_id ? store_.ListAllocsByIDPrefix(req.prefix) : store_.ListAllocs());
  std::erase_if(allocs, [&](const Allocation& a) { return !req.view.Shows(a.Namespace); });
  if (req.list.reverse) std::reverse(allocs.begin(), allocs.end());
  auto token = [by_id](const Allocation& a) {
    return by_id ? PageToken::Id(a.ID) : PageToken::CreateIndexAndId(a.CreateIndex, a.ID);
  };
  auto render = [&](const Allocation& a) { return AllocStub(a, req.task_states, req.resources); };
  ASSIGN_OR_RETURN(ListPage page, PageObjects(allocs, req.list, token, render));
  reply.body = std::move(page.items);
  reply.next_token = std::move(page.next_token);
  return reply;
}

Result<QueryReply> Queries::AllocJson(const std::string& id) const {
  ASSIGN_OR_RETURN(std::optional<StateStore::AllocJson> alloc, store_.GetAllocJson(id));
  if (!alloc) return NotFound("alloc not found");
  QueryReply reply;
  reply.index = alloc->modify_index;
  reply.text = std::move(alloc->json);
  return reply;
}

Result<std::optional<Allocation>> Queries::GetAlloc(const std::string& id) const {
  return store_.GetAlloc(id);
}

Result<QueryReply> Queries::JobAllocs(const std::string& ns, const std::string& job_id,
                                      const ListOptions& list) const {
  QueryReply reply;
  reply.index = store_.TableIndex(Table::kAllocs);
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store_.ListAllocsByJob(ns, job_id));
  auto token = [](const Allocation& a) { return PageToken::Id(a.ID); };
  auto render = [](const Allocation& a) { return AllocStub(a, true, false); };
  ASSIGN_OR_RETURN(ListPage page, PageObjects(allocs, list, token, render));
  reply.body = std::move(page.items);
  return reply;
}

Result<QueryReply> Queries::NodeAllocs(const std::string& node_id,
                                       const NamespaceView& view) const {
  ASSIGN_OR_RETURN(std::optional<Node> node, store_.GetNode(node_id));
  if (!node) return NotFound("node not found");
  ASSIGN_OR_RETURN(std::vector<Allocation> allocs, store_.ListAllocs());
  json::array out;
  for (const Allocation& a : allocs) {
    if (a.NodeID == node_id && view.Shows(a.Namespace)) out.push_back(ToJson(a));
  }
  return QueryReply{store_.TableIndex(Table::kAllocs), std::move(out)};
}

json::value AllocStub(const Allocation& alloc, bool task_states, bool resources) {
  AllocListStub stub = MakeAllocListStub(alloc);
  if (!task_states) stub.TaskStates.reset();
  json::value v = ToJson(stub);
  if (resources) return v;
  // Nomad leaves AllocatedResources out unless asked for. (object::erase
  // would move the last field into its place.)
  json::object out;
  for (auto& kv : v.get_object()) {
    if (kv.key() != "AllocatedResources") out.emplace(kv.key(), std::move(kv.value()));
  }
  return out;
}

std::pair<std::string, std::int64_t> SplitHttpAddr(const std::string& addr) {
  auto colon = addr.rfind(':');
  if (colon == std::string::npos) return {addr, 4646};
  return {addr.substr(0, colon), std::atoll(addr.c_str() + colon + 1)};
}

}  // namespace drover
