// Fuzzes the list-query filter parser and evaluator (service/filter.h): any
// expression parses or fails with a Status, and a parsed one evaluates
// against a fixed allocation-like object without crashing.
#include <boost/json.hpp>
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "service/filter.h"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  static const boost::json::value kObject = boost::json::parse(R"({
    "ID": "9e2a0b4c-1111-2222-3333-444455556666", "Name": "web.api[0]",
    "ClientStatus": "running", "CreateIndex": 12, "Healthy": true, "Nothing": null,
    "Meta": {"team": "edge", "empty": ""}, "Tags": ["a", "b", "c"],
    "TaskStates": {"api": {"State": "running", "Restarts": 2, "Events": [{"Type": "Started"}]}}
  })");
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto filter = drover::Filter::Parse(text);
  if (!filter.ok()) return 0;
  (void)filter->Evaluate(kObject);
  (void)filter->Matches(kObject.at("TaskStates"));
  return 0;
}
