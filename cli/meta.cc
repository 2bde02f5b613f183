#include "cli/meta.h"

#include <unistd.h>

#include <boost/json.hpp>
#include <charconv>
#include <cstdlib>
#include <iostream>

#include "cli/format.h"

namespace drover::cli {

namespace json = boost::json;

namespace {

std::string Env(const char* name) {
  const char* v = std::getenv(name);
  return v ? v : "";
}

}  // namespace

Meta::Meta() = default;

void Meta::AddFlags(FlagSet& flags, bool format) {
  flags.String("address", &address_,
               "The address of the agent (default http://127.0.0.1:4646). Overrides NOMAD_ADDR "
               "and DROVER_ADDR.");
  flags.String("token", &token_, "The SecretID of an ACL token. Overrides NOMAD_TOKEN.");
  flags.String("namespace", &namespace_, "The target namespace. Overrides NOMAD_NAMESPACE.");
  flags.String("region", &region_, "Accepted for Nomad's sake; a Drover agent is one region.");
  flags.Bool("no-color", &no_color_, "Disables colored output.");
  flags.Bool("force-color", &force_color_, "Forces colored output, even without a terminal.");
  if (format) {
    flags.Bool("json", &json_, "Output in JSON format.");
    flags.String("t", &tmpl_, "Format the output with a Go-template subset (see `drover help template`).");
  }
}

Status Meta::Resolve() {
  if (address_.empty()) address_ = Env("NOMAD_ADDR");
  if (address_.empty()) address_ = Env("DROVER_ADDR");
  if (address_.empty()) address_ = "http://127.0.0.1:4646";
  if (token_.empty()) token_ = Env("NOMAD_TOKEN");
  if (namespace_.empty()) namespace_ = Env("NOMAD_NAMESPACE");
  std::string rest = address_;
  if (rest.rfind("https://", 0) == 0 || rest.rfind("unix://", 0) == 0) {
    return InvalidArgument("address " + address_ +
                           ": the drover CLI speaks plain http to the agent (loopback); https "
                           "and unix sockets are not supported");
  }
  if (rest.rfind("http://", 0) == 0) rest.erase(0, 7);
  while (!rest.empty() && rest.back() == '/') rest.pop_back();
  if (rest.find('/') != std::string::npos) return InvalidArgument("address " + address_ + ": a path is not supported");
  std::string host = rest;
  std::size_t colon = rest.rfind(':');
  if (!rest.empty() && rest[0] == '[') {  // [IPv6]:port
    const auto close = rest.find(']');
    if (close == std::string::npos) return InvalidArgument("address " + address_ + ": missing ']' in host");
    host = rest.substr(1, close - 1);
    if (close + 1 < rest.size() && rest[close + 1] != ':') {
      return InvalidArgument("address " + address_ + ": unexpected text after ']'");
    }
    colon = close + 1 < rest.size() ? close + 1 : std::string::npos;
  } else if (colon != std::string::npos && rest.find(':') != colon) {
    return InvalidArgument("address " + address_ + ": an IPv6 address goes in brackets, [::1]:4646");
  }
  if (colon != std::string::npos) {
    if (rest[0] != '[') host = rest.substr(0, colon);
    const std::string port = rest.substr(colon + 1);
    unsigned value = 0;
    auto [end, ec] = std::from_chars(port.data(), port.data() + port.size(), value);
    if (ec != std::errc() || end != port.data() + port.size() || value == 0 || value > 65535) {
      return InvalidArgument("address " + address_ + ": bad port \"" + port + "\"");
    }
    port_ = static_cast<std::uint16_t>(value);
  }
  if (!host.empty()) host_ = host;
  http_ = std::make_unique<client::HttpClient>(host_, port_, std::chrono::minutes(6));
  return Status::Ok();
}

client::HttpHeaders Meta::Headers() const {
  client::HttpHeaders h;
  if (!token_.empty()) h.Add("X-Nomad-Token", token_);
  h.Add("Accept", "application/json");
  return h;
}

std::string Meta::WithNamespace(const std::string& path) const {
  if (namespace_.empty() || path.find("namespace=") != std::string::npos) return path;
  return path + (path.find('?') == std::string::npos ? "?" : "&") +
         "namespace=" + client::PercentEncode(namespace_);
}

Result<client::HttpResponse> Meta::Raw(const std::string& method, const std::string& path,
                                       const std::string& body) {
  if (!http_) RETURN_IF_ERROR(Resolve());
  return http_->Request(method, WithNamespace(path), body, Headers());
}

Result<json::value> Meta::Send(const std::string& method, const std::string& path,
                               const std::string& body, std::uint64_t* index) {
  auto r = Raw(method, path, body);
  if (!r.ok()) return Unavailable(r.status().message());
  if (r->status / 100 != 2) {
    std::string text = r->body;
    while (!text.empty() && (text.back() == '\n' || text.back() == '\r')) text.pop_back();
    const std::string msg =
        "Unexpected response code: " + std::to_string(r->status) + " (" + text + ")";
    if (r->status == 404) return NotFound(msg);
    if (r->status == 403) return PermissionDenied(msg);
    return InvalidArgument(msg);
  }
  if (index != nullptr) {
    if (auto h = r->headers.Get("X-Nomad-Index")) {
      std::from_chars(h->data(), h->data() + h->size(), *index);
    }
  }
  if (r->body.empty()) return json::value(nullptr);
  boost::system::error_code ec;
  json::value v = json::parse(r->body, ec);
  if (ec) return Internal("the agent's answer is not JSON: " + ec.message());
  return v;
}

Result<json::value> Meta::Get(const std::string& path) { return Send("GET", path, ""); }

Result<json::value> Meta::GetIndexed(const std::string& path, std::uint64_t& index) {
  return Send("GET", path, "", &index);
}

Result<json::value> Meta::Put(const std::string& path, const std::string& body) {
  return Send("PUT", path, body);
}

Status Meta::Stream(const std::string& path, const std::function<bool(std::string_view)>& on_data) {
  if (!http_) RETURN_IF_ERROR(Resolve());
  ASSIGN_OR_RETURN(client::HttpResponse r,
                   http_->Stream("GET", WithNamespace(path), Headers(), on_data));
  if (r.status != 200) {
    std::string text = r.body;
    while (!text.empty() && text.back() == '\n') text.pop_back();
    return InvalidArgument("Unexpected response code: " + std::to_string(r.status) + " (" + text + ")");
  }
  return Status::Ok();
}

bool Meta::color() const {
  if (force_color_) return true;
  if (no_color_ || !Env("NO_COLOR").empty() || Env("TERM") == "dumb") return false;
  return ::isatty(STDOUT_FILENO) == 1;
}

std::string Meta::Bold(const std::string& s) const { return color() ? "\033[1m" + s + "\033[0m" : s; }
std::string Meta::Green(const std::string& s) const { return color() ? "\033[0;32m" + s + "\033[0m" : s; }
std::string Meta::Red(const std::string& s) const { return color() ? "\033[0;31m" + s + "\033[0m" : s; }
std::string Meta::Yellow(const std::string& s) const { return color() ? "\033[0;33m" + s + "\033[0m" : s; }

int Meta::Output(const json::value& data) {
  auto out = FormatOutput(json_, tmpl_, data);
  if (!out.ok()) return Fail(out.status().message());
  std::cout << *out << "\n";
  return 0;
}

int Fail(const std::string& message) {
  std::cerr << message << "\n";
  return 1;
}

int UsageError(const std::string& command, const std::string& why) {
  std::cerr << why << "\nFor additional help try 'drover " << command << " -help'\n";
  return 1;
}

}  // namespace drover::cli
