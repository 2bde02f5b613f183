// Reading a long journal without decoding all of it.
//
// A journal entry is an Event in JSON whose envelope (Topic, Type, Key,
// Namespace, FilterKeys) comes before its Payload (the whole object). A
// reader that needs a few entries of a million reads the envelopes only
// and decodes just the entries it wants: `state check`, `events replay
// --at` and the per-allocation timelines rebuild from the latest entry of
// each object, never from all of them (see ReplayJournal in journal.h).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "storage/model.h"
#include "storage/state_store.h"

namespace drover {

// The envelope of one journal entry. The views point into the entry and
// are valid during the visit only.
struct EventHead {
  std::uint64_t index = 0;
  std::string_view topic, type, key, ns;
  std::string_view filter_keys;  // the JSON array as written ("null" if none)
  // Where the Payload's value starts in the entry; npos when the entry was
  // not in the usual shape (and was decoded whole).
  std::size_t payload = std::string_view::npos;

  bool HasFilterKey(std::string_view k) const;
  // The filter keys (escape-free strings) as a list.
  std::vector<std::string_view> FilterKeys() const;
};

// Whether an Allocation entry embeds its own Job (older writers did; the
// agent writes allocations without it). Reads only the members before the
// Job, a few hundred bytes of a many-KB entry.
bool AllocationCarriesJob(const EventHead& head, std::string_view raw);

// The text of the member `name` of a JSON object, unparsed: "null" when
// the object has no such member, nullopt when the object is not in the
// shape the codec writes (a name with escapes); decode it whole then.
std::optional<std::string_view> MemberText(std::string_view object, std::string_view name);

// The member of a `topic`'s object that says when the change was made, and
// its unit in nanoseconds (ModifyTime of an allocation or evaluation,
// SubmitTime of a job, StatusUpdatedAt of a node, in seconds); null for
// other topics.
const char* TimeField(std::string_view topic, Nanos* unit);

// `value` units of `unit` ns as nanoseconds, held to the int64 range (a
// stored time is data: a corrupt one must not overflow).
Nanos TimeInNanos(std::int64_t value, Nanos unit);

// That time read from the entry's text, skipping the rest of its object
// unparsed (EventTime without decoding); 0 when the object has none, and
// nullopt when the entry is not in the usual shape (decode it then).
std::optional<Nanos> EntryTimeOf(const EventHead& head, std::string_view raw);

// The `journal_objects` keys of the entry `head` describes, one at a time
// (valid during the call); see VisitJournalObjectKeys.
void VisitEntryObjectKeys(const EventHead& head, std::uint32_t seq,
                          const std::function<void(std::string_view key)>& fn);

// Visits entries with Index >= from_index in order: the envelope and the
// raw entry (decode it with DecodeJournalEntry). An entry whose envelope
// is not in the usual order or uses escapes is decoded whole instead, so
// every entry is seen; `fn` returns false to stop.
Status ScanJournalHeads(const StateStore& store, std::uint64_t from_index,
                        const std::function<Result<bool>(const EventHead&, std::string_view raw)>& fn);

// The same for the entries at `keys` (e.g. from the journal's object
// index), in the order given, read a batch at a time; an entry folded
// since the keys were read is left out.
Status VisitJournalEntries(const StateStore& store, const std::vector<JournalKey>& keys,
                           const std::function<Result<bool>(const EventHead&, std::string_view raw)>& fn);

// The `journal_objects` keys (state_store.h) of the raw entry stored at
// (index, seq), and its topic (their value).
struct JournalObjectEntry {
  std::string topic;
  std::vector<std::string> keys;
};
Result<JournalObjectEntry> JournalObjectKeysOf(std::uint64_t index, std::uint32_t seq,
                                               std::string_view raw);

// One raw entry as an Event.
Result<Event> DecodeJournalEntry(std::string_view raw);

}  // namespace drover
