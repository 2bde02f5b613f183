#include "common/log.h"

#include <atomic>
#include <cstdio>
#include <mutex>
#include <string>

#include "common/gotime.h"
#include "common/text.h"

namespace drover::log {
namespace {

std::atomic<Level> g_level{Level::kInfo};
std::mutex g_mu;

const char* Tag(Level level) {
  switch (level) {
    case Level::kDebug: return "[DEBUG]";
    case Level::kInfo: return "[INFO] ";
    case Level::kWarn: return "[WARN] ";
    case Level::kError: return "[ERROR]";
  }
  return "[?]    ";
}

}  // namespace

void SetLevel(Level level) { g_level = level; }

bool ParseLevel(std::string_view text, Level* out) {
  if (text == "debug" || text == "trace") *out = Level::kDebug;
  else if (text == "info") *out = Level::kInfo;
  else if (text == "warn") *out = Level::kWarn;
  else if (text == "error") *out = Level::kError;
  else return false;
  return true;
}

bool Enabled(Level level) { return level >= g_level.load(); }

void Write(Level level, std::string_view message) {
  if (!Enabled(level)) return;
  // Fixed-width milliseconds keep the columns aligned.
  const Nanos now = NowNanos();
  std::string ts = FormatRFC3339Nano(GoTime::FromUnixNanos(now / kSecond * kSecond));
  char millis[8];
  std::snprintf(millis, sizeof(millis), ".%03lld",
                static_cast<long long>(now / kMillisecond % 1000));
  ts.insert(ts.size() - 1, millis);
  // One event, one line: a job ID or a path from a request may hold a
  // newline.
  const std::string line = EscapeControls(message);
  std::lock_guard<std::mutex> lock(g_mu);
  std::fprintf(stderr, "%s %s %.*s\n", ts.c_str(), Tag(level), static_cast<int>(line.size()),
               line.data());
}

}  // namespace drover::log
