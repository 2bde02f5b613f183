// Logging to stderr, one line per event worth knowing:
//   2026-11-22T08:00:00.123Z [INFO]  agent: started node_id=...
// Messages are built by the caller; this header stays free of templates.
#pragma once

#include <string_view>

namespace drover::log {

enum class Level { kDebug, kInfo, kWarn, kError };

void SetLevel(Level level);
// "debug", "info", "warn", "error"; false for anything else.
bool ParseLevel(std::string_view text, Level* out);
bool Enabled(Level level);

void Write(Level level, std::string_view message);
inline void Debug(std::string_view m) { Write(Level::kDebug, m); }
inline void Info(std::string_view m) { Write(Level::kInfo, m); }
inline void Warn(std::string_view m) { Write(Level::kWarn, m); }
inline void Error(std::string_view m) { Write(Level::kError, m); }

}  // namespace drover::log
