namespace "*" {
  policy = "write"
}
namespace "secret" { policy = "deny" }
operator { policy = "read" }
plugin { policy = "list" }
