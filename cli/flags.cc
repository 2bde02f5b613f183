#include "cli/flags.h"

#include <charconv>

#include "common/text.h"

namespace drover::cli {

void FlagSet::Bool(std::string name, bool* out, std::string help) {
  flags_.push_back({std::move(name), Kind::kBool, out, std::move(help)});
}
void FlagSet::String(std::string name, std::string* out, std::string help) {
  flags_.push_back({std::move(name), Kind::kString, out, std::move(help)});
}
void FlagSet::Int(std::string name, std::int64_t* out, std::string help) {
  flags_.push_back({std::move(name), Kind::kInt, out, std::move(help)});
}
void FlagSet::Strings(std::string name, std::vector<std::string>* out, std::string help) {
  flags_.push_back({std::move(name), Kind::kStrings, out, std::move(help)});
}

const FlagSet::Flag* FlagSet::Find(const std::string& name) const {
  for (const Flag& f : flags_) {
    if (f.name == name) return &f;
  }
  return nullptr;
}

Result<std::vector<std::string>> FlagSet::Parse(const std::vector<std::string>& args) {
  std::size_t i = 0;
  for (; i < args.size(); ++i) {
    const std::string& arg = args[i];
    if (arg.size() < 2 || arg[0] != '-') break;
    if (arg == "--") {
      ++i;
      break;
    }
    std::string body = arg.substr(arg[1] == '-' ? 2 : 1);
    if (body.empty() || body[0] == '-' || body[0] == '=') {
      return InvalidArgument("bad flag syntax: " + arg);
    }
    std::string name = body, value;
    bool has_value = false;
    if (auto eq = body.find('='); eq != std::string::npos) {
      name = body.substr(0, eq);
      value = body.substr(eq + 1);
      has_value = true;
    }
    const Flag* flag = Find(name);
    if (flag == nullptr) {
      if (name == "h" || name == "help") return InvalidArgument("help");
      return InvalidArgument("flag provided but not defined: -" + name);
    }
    if (flag->kind == Kind::kBool) {
      std::optional<bool> b = has_value ? GoParseBool(value) : std::optional<bool>(true);
      if (!b) return InvalidArgument("invalid boolean value \"" + value + "\" for -" + name);
      *static_cast<bool*>(flag->out) = *b;
      continue;
    }
    if (!has_value) {
      if (i + 1 >= args.size()) return InvalidArgument("flag needs an argument: -" + name);
      value = args[++i];
    }
    switch (flag->kind) {
      case Kind::kString:
        *static_cast<std::string*>(flag->out) = value;
        break;
      case Kind::kStrings:
        static_cast<std::vector<std::string>*>(flag->out)->push_back(value);
        break;
      case Kind::kInt: {
        std::int64_t n = 0;
        auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), n);
        if (ec != std::errc() || end != value.data() + value.size()) {
          return InvalidArgument("invalid value \"" + value + "\" for flag -" + name +
                                 ": parse error");
        }
        *static_cast<std::int64_t*>(flag->out) = n;
        break;
      }
      case Kind::kBool:
        break;
    }
  }
  return std::vector<std::string>(args.begin() + static_cast<std::ptrdiff_t>(i), args.end());
}

std::string FlagSet::Describe() const {
  std::string out;
  for (const Flag& f : flags_) {
    out += "  -" + f.name;
    if (f.kind != Kind::kBool) out += " <value>";
    out += "\n    " + f.help + "\n\n";
  }
  return out;
}

}  // namespace drover::cli
