#include "storage/journal_scan.h"

#include <algorithm>
#include <charconv>
#include <limits>

#include "storage/codec.h"

namespace drover {
namespace {

// A cursor over the start of an entry's JSON. Every step returns false on
// anything it does not expect; the caller then decodes the entry whole.
struct Cursor {
  std::string_view s;
  std::size_t i = 0;

  void Space() {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\n' || s[i] == '\t' || s[i] == '\r')) ++i;
  }
  bool Eat(char c) {
    Space();
    if (i >= s.size() || s[i] != c) return false;
    ++i;
    return true;
  }
  // A string without escapes.
  bool String(std::string_view* out) {
    if (!Eat('"')) return false;
    const std::size_t start = i;
    while (i < s.size() && s[i] != '"') {
      if (s[i] == '\\') return false;
      ++i;
    }
    if (i >= s.size()) return false;
    *out = s.substr(start, i - start);
    ++i;
    return true;
  }
  // Any value, unread: a string (escapes too), an object or array whole,
  // a number or literal.
  bool Skip() {
    Space();
    if (i >= s.size()) return false;
    if (s[i] == '"') return SkipString();
    if (s[i] == '{' || s[i] == '[') {
      std::size_t depth = 0;
      while (i < s.size()) {
        const char c = s[i];
        if (c == '"') {
          if (!SkipString()) return false;
          continue;
        }
        ++i;
        if (c == '{' || c == '[') {
          ++depth;
        } else if ((c == '}' || c == ']') && --depth == 0) {
          return true;
        }
      }
      return false;
    }
    const std::size_t start = i;
    while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ']' && s[i] != ' ' &&
           s[i] != '\n' && s[i] != '\t' && s[i] != '\r') {
      ++i;
    }
    return i > start;
  }
  // At a '"': past the string's closing quote.
  bool SkipString() {
    for (++i; i < s.size(); ++i) {
      if (s[i] == '\\') {
        ++i;  // the escaped character, whatever it is
      } else if (s[i] == '"') {
        ++i;
        return true;
      }
    }
    return false;
  }
  // null, a number, a string or an array of strings: its text.
  bool Value(std::string_view* out) {
    Space();
    const std::size_t start = i;
    if (i >= s.size()) return false;
    if (s[i] == '"') {
      return String(out);
    } else if (s[i] == '[') {
      ++i;
      std::string_view item;
      Space();
      if (i < s.size() && s[i] == ']') {
        ++i;
      } else {
        do {
          if (!String(&item)) return false;
        } while (Eat(','));
        if (!Eat(']')) return false;
      }
    } else {
      while (i < s.size() && s[i] != ',' && s[i] != '}' && s[i] != ' ') ++i;
      if (i == start) return false;
    }
    *out = s.substr(start, i - start);
    return true;
  }
};

// Reads the envelope up to "Payload"; false if the entry is not in the
// shape EncodeJson<Event> writes.
bool ParseHead(std::string_view raw, EventHead* head) {
  Cursor c{raw};
  if (!c.Eat('{')) return false;
  bool have_topic = false, have_type = false, have_key = false;
  for (;;) {
    std::string_view name, value;
    if (!c.String(&name) || !c.Eat(':')) return false;
    if (name == "Payload") {
      c.Space();
      head->payload = c.i;
      break;
    }
    if (!c.Value(&value)) return false;
    if (name == "Topic") head->topic = value, have_topic = true;
    else if (name == "Type") head->type = value, have_type = true;
    else if (name == "Key") head->key = value, have_key = true;
    else if (name == "Namespace") head->ns = value;
    else if (name == "FilterKeys") head->filter_keys = value;
    if (!c.Eat(',')) return false;
  }
  return have_topic && have_type && have_key;
}

}  // namespace

bool EventHead::HasFilterKey(std::string_view k) const {
  // The array holds escape-free strings (ParseHead checked), so a quoted
  // match is an element.
  const std::string quoted = "\"" + std::string(k) + "\"";
  return filter_keys.find(quoted) != std::string_view::npos;
}

std::vector<std::string_view> EventHead::FilterKeys() const {
  // Escape-free strings (ParseHead checked): the quoted runs are the keys.
  std::vector<std::string_view> keys;
  std::string_view rest = filter_keys;
  for (std::size_t open = rest.find('"'); open != std::string_view::npos; open = rest.find('"')) {
    const std::size_t close = rest.find('"', open + 1);
    if (close == std::string_view::npos) break;
    keys.push_back(rest.substr(open + 1, close - open - 1));
    rest.remove_prefix(close + 1);
  }
  return keys;
}

bool AllocationCarriesJob(const EventHead& head, std::string_view raw) {
  // The codec writes an allocation's string members (ID, Namespace, ...,
  // JobID) before its Job: the first member that is not a string is the
  // Job or comes after where it would be.
  if (head.payload != std::string_view::npos) {
    Cursor c{raw, head.payload};
    std::string_view name, value;
    if (c.Eat('{') && c.String(&name) && name == "Allocation" && c.Eat(':') && c.Eat('{')) {
      for (;;) {
        if (!c.String(&name) || !c.Eat(':')) break;  // escapes: the slow way below
        c.Space();
        if (c.i >= raw.size()) break;
        if (name == "Job") return raw[c.i] == '{';
        if (raw[c.i] != '"') return false;
        if (!c.String(&value) || !c.Eat(',')) break;
      }
    }
  }
  const std::size_t at = raw.find("\"Job\":");
  return at != std::string_view::npos && at + 6 < raw.size() && raw[at + 6] == '{';
}

std::optional<std::string_view> MemberText(std::string_view object, std::string_view name) {
  Cursor c{object};
  if (!c.Eat('{')) return std::nullopt;
  c.Space();
  if (c.i < object.size() && object[c.i] == '}') return "null";
  do {
    std::string_view member;
    if (!c.String(&member) || !c.Eat(':')) return std::nullopt;
    c.Space();
    const std::size_t start = c.i;
    if (!c.Skip()) return std::nullopt;
    if (member == name) return object.substr(start, c.i - start);
  } while (c.Eat(','));
  if (!c.Eat('}')) return std::nullopt;
  return "null";
}

const char* TimeField(std::string_view topic, Nanos* unit) {
  *unit = 1;
  if (topic == "Allocation" || topic == "Evaluation") return "ModifyTime";
  if (topic == "Job") return "SubmitTime";
  *unit = kSecond;
  if (topic == "Node") return "StatusUpdatedAt";
  return nullptr;
}

Nanos TimeInNanos(std::int64_t value, Nanos unit) {
  Nanos out = 0;
  if (!__builtin_mul_overflow(value, unit, &out)) return out;
  return (value < 0) != (unit < 0) ? std::numeric_limits<Nanos>::min() : std::numeric_limits<Nanos>::max();
}

std::optional<Nanos> EntryTimeOf(const EventHead& head, std::string_view raw) {
  Nanos unit = 0;
  const char* field = TimeField(head.topic, &unit);
  if (field == nullptr) return 0;
  if (head.payload == std::string_view::npos) return std::nullopt;
  Cursor c{raw, head.payload};
  std::string_view name;
  if (!c.Eat('{') || !c.String(&name) || name != head.topic || !c.Eat(':') || !c.Eat('{')) {
    return std::nullopt;
  }
  Nanos found = 0;
  c.Space();
  if (c.i < raw.size() && raw[c.i] == '}') return 0;
  do {
    if (!c.String(&name) || !c.Eat(':')) return std::nullopt;
    if (name != field) {
      if (!c.Skip()) return std::nullopt;
      continue;
    }
    // An integer, as EventTime reads it; anything else the slow way.
    c.Space();
    const std::size_t start = c.i;
    if (!c.Skip()) return std::nullopt;
    const std::string_view text = raw.substr(start, c.i - start);
    if (text == "null") {
      found = 0;
      continue;
    }
    std::int64_t v = 0;
    auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
    if (ec != std::errc() || end != text.data() + text.size()) return std::nullopt;
    found = TimeInNanos(v, unit);
  } while (c.Eat(','));
  if (!c.Eat('}')) return std::nullopt;
  return found;
}

void VisitEntryObjectKeys(const EventHead& head, std::uint32_t seq,
                          const std::function<void(std::string_view key)>& fn) {
  VisitJournalObjectKeys(head.index, seq, head.topic, head.key, head.ns, head.FilterKeys(), fn);
}

Result<JournalObjectEntry> JournalObjectKeysOf(std::uint64_t index, std::uint32_t seq,
                                               std::string_view raw) {
  EventHead head;
  head.filter_keys = "[]";
  if (ParseHead(raw, &head)) {
    return JournalObjectEntry{std::string(head.topic), JournalObjectKeys(index, seq, head.topic, head.key,
                                                                         head.ns, head.FilterKeys())};
  }
  std::vector<std::string_view> keys;
  ASSIGN_OR_RETURN(Event e, DecodeJournalEntry(raw));
  for (const std::string& k : e.FilterKeys) keys.push_back(k);
  return JournalObjectEntry{e.Topic, JournalObjectKeys(index, seq, e.Topic, e.Key, e.Namespace, keys)};
}

Result<Event> DecodeJournalEntry(std::string_view raw) { return DecodeJson<Event>(raw, "Event"); }

namespace {

// `fn` with the envelope of the raw entry stored at `index`.
Result<bool> WithHead(std::uint64_t index, std::string_view raw,
                      const std::function<Result<bool>(const EventHead&, std::string_view)>& fn) {
  EventHead head;
  head.filter_keys = "null";
  if (ParseHead(raw, &head)) {
    head.index = index;
    return fn(head, raw);
  }
  // Escapes or another order: the slow way, for this entry only. The
  // filter keys are re-encoded escape-free or left out (then no match).
  ASSIGN_OR_RETURN(Event e, DecodeJournalEntry(raw));
  std::string keys = "[";
  for (const std::string& k : e.FilterKeys) {
    if (k.find_first_of("\"\\") != std::string::npos) continue;
    keys += (keys.size() > 1 ? ",\"" : "\"") + k + "\"";
  }
  keys += "]";
  head = EventHead{index, e.Topic, e.Type, e.Key, e.Namespace, keys};
  return fn(head, raw);
}

}  // namespace

Status ScanJournalHeads(const StateStore& store, std::uint64_t from_index,
                        const std::function<Result<bool>(const EventHead&, std::string_view)>& fn) {
  return store.ScanEventsRaw(from_index, [&](std::uint64_t index, std::string_view raw) -> Result<bool> {
    return WithHead(index, raw, fn);
  });
}

Status VisitJournalEntries(const StateStore& store, const std::vector<JournalKey>& keys,
                           const std::function<Result<bool>(const EventHead&, std::string_view)>& fn) {
  constexpr std::size_t kBatch = 512;
  for (std::size_t at = 0; at < keys.size(); at += kBatch) {
    const std::vector<JournalKey> batch(keys.begin() + at, keys.begin() + std::min(keys.size(), at + kBatch));
    ASSIGN_OR_RETURN(std::vector<std::optional<std::string>> raws, store.GetJournalEntries(batch));
    for (std::size_t i = 0; i < raws.size(); ++i) {
      if (!raws[i]) continue;  // folded since the keys were read
      ASSIGN_OR_RETURN(bool more, WithHead(batch[i].index, *raws[i], fn));
      if (!more) return Status::Ok();
    }
  }
  return Status::Ok();
}

}  // namespace drover
